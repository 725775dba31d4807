import { randomBytes } from "node:crypto";
import { ArmError } from "../http";
import { newGuid } from "../jwt";
import type { ArmResource } from "./arm-resource";
import { validateAutoUpgradeAndDefender } from "./defender";
import { composeAadProfile, validateClusterAccess } from "./cluster-access";
import { isPlainObject } from "./merge";

export const MANAGED_CLUSTER_TYPE = "Microsoft.ContainerService/ManagedClusters";
const KUBERNETES_VERSION = "1.33.5";
const NODE_IMAGE = "AKSUbuntu-2204gen2containerd-202510.19.0";

export function managedClusterId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`;
}

/**
 * A running cluster as GET returns it, after the spec examples ManagedClustersGet / ManagedClustersCreate_Update
 * (2025-10-01): system-assigned control-plane identity, kubelet identity in the node resource group, kubenet with
 * a Standard load balancer, no API server access profile (the API server is open).
 */
export function defaultManagedCluster(p: {
  subscriptionId: string;
  tenantId: string;
  resourceGroup: string;
  name: string;
  location: string;
}): ArmResource {
  const dnsPrefix = `${p.name}-dns`;
  const hash = randomBytes(4).toString("hex");
  const nodeResourceGroup = `MC_${p.resourceGroup}_${p.name}_${p.location}`;
  const nodeGroupId = `/subscriptions/${p.subscriptionId}/resourceGroups/${nodeResourceGroup}`;
  return {
    id: managedClusterId(p.subscriptionId, p.resourceGroup, p.name),
    name: p.name,
    type: MANAGED_CLUSTER_TYPE,
    location: p.location,
    eTag: newGuid(),
    tags: {},
    sku: { name: "Base", tier: "Free" },
    identity: { type: "SystemAssigned", principalId: newGuid(), tenantId: p.tenantId },
    properties: {
      provisioningState: "Succeeded",
      powerState: { code: "Running" },
      kubernetesVersion: KUBERNETES_VERSION,
      currentKubernetesVersion: KUBERNETES_VERSION,
      dnsPrefix,
      fqdn: `${dnsPrefix}-${hash}.hcp.${p.location}.azmk8s.io`,
      azurePortalFQDN: `${dnsPrefix}-${hash}.portal.hcp.${p.location}.azmk8s.io`,
      agentPoolProfiles: [
        {
          name: "nodepool1",
          count: 3,
          vmSize: "Standard_D4ds_v5",
          osDiskSizeGB: 128,
          osDiskType: "Ephemeral",
          kubeletDiskType: "OS",
          maxPods: 250,
          type: "VirtualMachineScaleSets",
          availabilityZones: ["1", "2", "3"],
          enableAutoScaling: false,
          scaleDownMode: "Delete",
          provisioningState: "Succeeded",
          powerState: { code: "Running" },
          orchestratorVersion: KUBERNETES_VERSION,
          currentOrchestratorVersion: KUBERNETES_VERSION,
          enableNodePublicIP: false,
          mode: "System",
          osType: "Linux",
          osSKU: "Ubuntu",
          nodeImageVersion: NODE_IMAGE,
          upgradeSettings: { maxSurge: "10%" },
          enableFIPS: false,
          securityProfile: { enableVTPM: false, enableSecureBoot: false },
        },
      ],
      servicePrincipalProfile: { clientId: "msi" },
      addonProfiles: {},
      nodeResourceGroup,
      enableRBAC: true,
      supportPlan: "KubernetesOfficial",
      networkProfile: {
        networkPlugin: "kubenet",
        loadBalancerSku: "standard",
        loadBalancerProfile: {
          managedOutboundIPs: { count: 1 },
          effectiveOutboundIPs: [{ id: `${nodeGroupId}/providers/Microsoft.Network/publicIPAddresses/${newGuid()}` }],
          backendPoolType: "nodeIPConfiguration",
        },
        podCidr: "10.244.0.0/16",
        serviceCidr: "10.0.0.0/16",
        dnsServiceIP: "10.0.0.10",
        outboundType: "loadBalancer",
        podCidrs: ["10.244.0.0/16"],
        serviceCidrs: ["10.0.0.0/16"],
        ipFamilies: ["IPv4"],
      },
      maxAgentPools: 100,
      identityProfile: {
        kubeletidentity: {
          resourceId: `${nodeGroupId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${p.name}-agentpool`,
          clientId: newGuid(),
          objectId: newGuid(),
        },
      },
      autoUpgradeProfile: { upgradeChannel: "none", nodeOSUpgradeChannel: "NodeImage" },
      disableLocalAccounts: false,
      securityProfile: {},
      storageProfile: { diskCSIDriver: { enabled: true }, fileCSIDriver: { enabled: true }, snapshotController: { enabled: true } },
      oidcIssuerProfile: { enabled: false },
      workloadAutoScalerProfile: {},
      resourceUID: randomBytes(12).toString("hex"),
    },
  };
}

const READ_ONLY_PROPERTIES = [
  "provisioningState",
  "powerState",
  "maxAgentPools",
  "currentKubernetesVersion",
  "fqdn",
  "azurePortalFQDN",
  "privateFQDN",
  "resourceUID",
  "nodeResourceGroup",
  "identityProfile",
];
const READ_ONLY_POOL_PROPERTIES = ["provisioningState", "powerState", "currentOrchestratorVersion", "nodeImageVersion", "eTag"];

/**
 * The cluster a PUT asks for: the request's writable fields replace the current ones; read-only fields
 * (state, FQDNs, versions in use, identities AKS created, issuer URL, eTag) are kept from the current cluster.
 */
export function composeManagedClusterForPut(current: ArmResource, requested: Record<string, unknown>, tenantId: string): ArmResource {
  const requestedProperties = isPlainObject(requested["properties"]) ? structuredClone(requested["properties"]) : {};
  const currentProperties = current.properties ?? {};
  const properties: Record<string, unknown> = { ...requestedProperties };
  for (const name of READ_ONLY_PROPERTIES) {
    if (name in currentProperties) properties[name] = structuredClone(currentProperties[name]);
    else delete properties[name];
  }
  if (Array.isArray(properties["agentPoolProfiles"])) {
    const currentPools = Array.isArray(currentProperties["agentPoolProfiles"])
      ? (currentProperties["agentPoolProfiles"] as Record<string, unknown>[])
      : [];
    properties["agentPoolProfiles"] = (properties["agentPoolProfiles"] as unknown[]).map((pool) => {
      if (!isPlainObject(pool)) return pool;
      const before = currentPools.find((c) => String(c["name"]).toLowerCase() === String(pool["name"]).toLowerCase());
      const merged: Record<string, unknown> = { ...pool };
      for (const name of READ_ONLY_POOL_PROPERTIES) {
        if (before && name in before) merged[name] = structuredClone(before[name]);
        else delete merged[name];
      }
      return merged;
    });
  }
  keepOmittedFields(properties, currentProperties);
  composeAadProfile(properties, currentProperties, tenantId);
  const controlPlaneIdentity = (isPlainObject(requested["identity"]) ? requested["identity"] : current["identity"]) as
    { type?: string } | undefined;
  if (/assigned/i.test(controlPlaneIdentity?.type ?? "")) {
    // A managed-identity cluster answers {"clientId": "msi"} whatever the PUT carries (AKS docs, "Use a managed
    // identity in AKS": `az aks show --query servicePrincipalProfile` shows clientId "msi"). az 2.45 relies on it:
    // `_update_addons`, `aks_scale` and `aks_upgrade` in azure-cli's acs/custom.py null the profile before their PUT
    // ("null out the SP profile because otherwise validation complains"), and `_remove_nulls` (every `az aks show`)
    // and `aks_enable_addons` read `service_principal_profile.secret` / `.client_id` unguarded.
    properties["servicePrincipalProfile"] = { clientId: "msi" };
  }
  const sp = properties["servicePrincipalProfile"];
  // The secret is write-only: spec example ManagedClustersCreate_Update sends it and answers without it.
  if (isPlainObject(sp)) delete sp["secret"];
  const loadBalancer = (properties["networkProfile"] as { loadBalancerProfile?: Record<string, unknown> } | undefined)?.loadBalancerProfile;
  const currentLoadBalancer = (currentProperties["networkProfile"] as { loadBalancerProfile?: Record<string, unknown> } | undefined)
    ?.loadBalancerProfile;
  if (isPlainObject(loadBalancer) && currentLoadBalancer?.["effectiveOutboundIPs"])
    loadBalancer["effectiveOutboundIPs"] = structuredClone(currentLoadBalancer["effectiveOutboundIPs"]);

  const oidc = properties["oidcIssuerProfile"];
  const currentOidc = currentProperties["oidcIssuerProfile"] as { issuerURL?: string } | undefined;
  if (isPlainObject(oidc)) {
    delete oidc["issuerURL"];
    const issuerURL =
      currentOidc?.issuerURL ??
      (oidc["enabled"] === true ? `https://${current.location}.oic.prod-aks.azure.com/${tenantId}/${newGuid()}/` : undefined);
    if (issuerURL) oidc["issuerURL"] = issuerURL;
  }

  // Pod identities carry read-only provisioning fields; AKS reports each one Assigned once the PUT succeeds.
  const podIdentity = properties["podIdentityProfile"];
  if (isPlainObject(podIdentity) && Array.isArray(podIdentity["userAssignedIdentities"])) {
    podIdentity["userAssignedIdentities"] = (podIdentity["userAssignedIdentities"] as unknown[]).map((entry) => {
      if (!isPlainObject(entry)) return entry;
      const { provisioningInfo: _info, ...writable } = entry;
      return { ...writable, provisioningState: "Assigned" };
    });
  }

  const identity = isPlainObject(requested["identity"]) ? structuredClone(requested["identity"]) : undefined;
  const currentIdentity = current["identity"] as Record<string, unknown> | undefined;
  if (identity && currentIdentity && identity["type"] === currentIdentity["type"]) {
    identity["principalId"] = currentIdentity["principalId"];
    identity["tenantId"] = currentIdentity["tenantId"];
  }
  const composed: ArmResource = {
    ...structuredClone(requested),
    id: current.id,
    name: current.name,
    type: current.type,
    location: current.location ?? String(requested["location"]),
    properties,
  };
  if (current["eTag"] !== undefined) composed["eTag"] = current["eTag"];
  if (identity) composed["identity"] = identity;
  else delete composed["identity"];
  return composed;
}

/**
 * Settings a PUT may leave out that AKS keeps as they are, each with why a real client leaves it out:
 * - `servicePrincipalProfile`: az 2.45 nulls it before the PUT of `az aks enable-addons`/`scale`/`upgrade`
 *   (azure-cli acs/custom.py `_update_addons`); spec example ManagedClustersCreate_Update shows it kept.
 * - `kubernetesVersion`: omitted or "" keeps the version in use (spec example ManagedClustersCreate_Update sends
 *   "" and answers the cluster's version).
 * - Network settings and pool sizes AKS fills: spec example ManagedClustersCreate_Update sends a `networkProfile`
 *   without `networkPlugin`, `podCidr(s)`, `serviceCidr(s)`, `dnsServiceIP`, `ipFamilies`, a load balancer profile
 *   without `allocatedOutboundPorts`/`idleTimeoutInMinutes` and a pool without `maxPods`/`orchestratorVersion`, and
 *   answers with all of them.
 * - Settings the client's api-version does not have: az 2.45 speaks 2022-11-01 (azure-cli core
 *   profiles/_shared.py, MGMT_CONTAINERSERVICE), whose models (azure-mgmt-containerservice v2022_11_01) have no
 *   `supportPlan`, `autoUpgradeProfile.nodeOSUpgradeChannel`, `networkProfile.loadBalancerProfile.backendPoolType`,
 *   `securityProfile.workloadIdentity`/`imageCleaner`, `apiServerAccessProfile.enableVnetIntegration` or an agent
 *   pool's `securityProfile`, so its GET-change-PUT drops them; a cluster keeps what an older client cannot say.
 * - `storageProfile` drivers: `az aks update` (managed_cluster_decorator.py `update_storage_profile`) sends
 *   `storageProfile: {}` unless a driver flag is given; the spec's driver descriptions (disk, file, snapshot on by default, blob off)
 *   are about creation, and an update without the flag leaves each driver as it is.
 */
const KEPT_WHEN_OMITTED = [
  "servicePrincipalProfile",
  "kubernetesVersion",
  "networkProfile.networkPlugin",
  "networkProfile.podCidr",
  "networkProfile.podCidrs",
  "networkProfile.serviceCidr",
  "networkProfile.serviceCidrs",
  "networkProfile.dnsServiceIP",
  "networkProfile.ipFamilies",
  "networkProfile.loadBalancerProfile.allocatedOutboundPorts",
  "networkProfile.loadBalancerProfile.idleTimeoutInMinutes",
  "supportPlan",
  "autoUpgradeProfile.nodeOSUpgradeChannel",
  "networkProfile.loadBalancerProfile.backendPoolType",
  "securityProfile.workloadIdentity",
  "securityProfile.imageCleaner",
  "apiServerAccessProfile.enableVnetIntegration",
  "storageProfile.diskCSIDriver",
  "storageProfile.fileCSIDriver",
  "storageProfile.snapshotController",
  "storageProfile.blobCSIDriver",
];
const KEPT_WHEN_OMITTED_IN_POOL = ["securityProfile", "maxPods", "orchestratorVersion"];

function keepOmittedFields(properties: Record<string, unknown>, currentProperties: Record<string, unknown>): void {
  for (const path of KEPT_WHEN_OMITTED) keepOmitted(properties, currentProperties, path.split("."));
  const pools = properties["agentPoolProfiles"];
  const currentPools = currentProperties["agentPoolProfiles"];
  if (!Array.isArray(pools) || !Array.isArray(currentPools)) return;
  for (const pool of pools) {
    if (!isPlainObject(pool)) continue;
    const before = (currentPools as unknown[]).find(
      (c) => isPlainObject(c) && String(c["name"]).toLowerCase() === String(pool["name"]).toLowerCase(),
    );
    if (isPlainObject(before)) for (const path of KEPT_WHEN_OMITTED_IN_POOL) keepOmitted(pool, before, path.split("."));
  }
}

/** Copies `path` from `from` into `into` when `into` has no value there (absent, null or ""), creating parents. */
function keepOmitted(into: Record<string, unknown>, from: Record<string, unknown>, path: string[]): void {
  const [head, ...rest] = path as [string, ...string[]];
  const kept = from[head];
  if (kept === undefined || kept === null) return;
  if (rest.length === 0) {
    if (into[head] === undefined || into[head] === null || into[head] === "") into[head] = structuredClone(kept);
    return;
  }
  if (!isPlainObject(kept)) return;
  if (into[head] === undefined || into[head] === null) into[head] = {};
  const child = into[head];
  if (isPlainObject(child)) keepOmitted(child, kept, rest);
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

/** What the checks of a PUT may consult besides the requested cluster. */
export interface ClusterValidationContext {
  /** The cluster before the PUT, when it exists. */
  current?: ArmResource;
  /** The subscription's preview-feature registrations. */
  isFeatureRegistered?(namespace: string, name: string): boolean;
}

/** The preview feature AKS requires for the pod-identity add-on. */
export const POD_IDENTITY_FEATURE = { namespace: "Microsoft.ContainerService", name: "EnablePodIdentityPreview" };

/**
 * Rejects what AKS rejects in a cluster PUT that matters to this project (API server authorized IP
 * ranges, workload identity, the pod-identity add-on, auto-upgrade channels, Defender).
 */
export function validateManagedCluster(cluster: ArmResource, context: ClusterValidationContext = {}): void {
  const properties = cluster.properties ?? {};
  validatePodIdentity(cluster, context);
  validateAutoUpgradeAndDefender(properties);
  validateClusterAccess(cluster, context.current);
  const access = properties["apiServerAccessProfile"];
  if (isPlainObject(access) && access["authorizedIPRanges"] !== undefined && access["authorizedIPRanges"] !== null) {
    const ranges = access["authorizedIPRanges"];
    if (!Array.isArray(ranges) || ranges.some((r) => typeof r !== "string")) {
      throw new ArmError(
        400,
        "InvalidParameter",
        "The value of parameter 'apiServerAccessProfile.authorizedIPRanges' is invalid: it must be an array of IPv4 CIDR strings.",
      );
    }
    for (const range of ranges as string[]) {
      const problem = cidrProblem(range);
      if (problem)
        throw new ArmError(
          400,
          "InvalidParameter",
          `The value '${range}' of parameter 'apiServerAccessProfile.authorizedIPRanges' is invalid: ${problem}.`,
        );
    }
    // AKS takes 0.0.0.0/32 (the cluster's own outbound IP only) as the sole entry; with any other it
    // answers 400 InvalidParameter with this message (Azure/terraform-azurerm-aks#378 and #383 quote it).
    if (ranges.length > 1 && (ranges as string[]).some((range) => range.trim() === "0.0.0.0/32")) {
      throw new ArmError(
        400,
        "InvalidParameter",
        "Setting apiServerAuthorizedIPRange to 0.0.0.0/32 is not allowed with other IP ranges. Refer to https://aka.ms/aks/auth-ip-ranges for more details",
      );
    }
    const limit = access["enableVnetIntegration"] === true ? 2000 : 200;
    if (ranges.length > limit) {
      throw new ArmError(
        400,
        "InvalidParameter",
        `The number of APIServer Authorized IP Ranges is greater than the allowed value ${limit}.`,
      );
    }
    if (ranges.length > 0 && access["enablePrivateCluster"] === true) {
      throw new ArmError(
        400,
        "InvalidParameter",
        "API server authorized IP ranges are not supported for private clusters (apiServerAccessProfile.enablePrivateCluster is true).",
      );
    }
    const sku = (properties["networkProfile"] as { loadBalancerSku?: string } | undefined)?.loadBalancerSku;
    if (ranges.length > 0 && sku?.toLowerCase() === "basic") {
      throw new ArmError(
        400,
        "InvalidParameter",
        "API server authorized IP ranges require the 'standard' load balancer SKU; this cluster uses 'basic'.",
      );
    }
  }
  const workloadIdentity = (properties["securityProfile"] as { workloadIdentity?: { enabled?: boolean } } | undefined)?.workloadIdentity;
  const oidcEnabled = (properties["oidcIssuerProfile"] as { enabled?: boolean } | undefined)?.enabled === true;
  if (workloadIdentity?.enabled === true && !oidcEnabled) {
    throw new ArmError(
      400,
      "InvalidParameter",
      "Enabling workload identity requires enabling the OIDC issuer (oidcIssuerProfile.enabled).",
    );
  }
}

interface PodIdentityProfileShape {
  enabled?: boolean;
  allowNetworkPluginKubenet?: boolean;
  userAssignedIdentities?: {
    name?: string;
    namespace?: string;
    identity?: { resourceId?: string; clientId?: string; objectId?: string };
    provisioningState?: string;
    provisioningInfo?: unknown;
  }[];
  userAssignedIdentityExceptions?: { name?: string; namespace?: string; podLabels?: unknown }[];
}

/** Built-in roles that include Microsoft.ManagedIdentity/userAssignedIdentities/*\/assign/action. */
const ASSIGN_IDENTITY_ROLES = [
  "f1a07417-d97a-45cb-824c-7a7467783830", // Managed Identity Operator
  "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59", // Managed Identity Contributor
  "b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", // Owner
];

/** What AKS needs of the store to settle a PUT's pod identities. */
export interface PodIdentityAuthority {
  hasEffectiveRole(principalId: string, scope: string, roleGuids: readonly string[]): boolean;
}

/**
 * What AKS does with a PUT's pod identities. An exception's empty podLabels map is stored (and
 * answered) as null, as aks-preview's comment in _fill_defaults_for_pod_identity_exceptions describes.
 * Each pod identity that is new, changed or Failed before needs the cluster's control-plane identity
 * to hold assign/action on the identity (Managed Identity Operator) in effect; without it AKS refuses
 * the PUT with 400 "Cluster identity has no assignment permission over identity ..." (Azure/AKS#2943,
 * where the pod identity is then listed Failed). An entry AKS already had (and had not failed) is not
 * checked again.
 */
export function assignPodIdentities(cluster: ArmResource, current: ArmResource | undefined, authority: PodIdentityAuthority): void {
  const profile = cluster.properties?.["podIdentityProfile"] as PodIdentityProfileShape | undefined;
  if (!profile) return;
  for (const exception of profile.userAssignedIdentityExceptions ?? []) {
    if (isPlainObject(exception.podLabels) && Object.keys(exception.podLabels).length === 0) exception.podLabels = null;
  }
  if (!profile.enabled) return;
  const before = (current?.properties?.["podIdentityProfile"] as PodIdentityProfileShape | undefined)?.userAssignedIdentities ?? [];
  const controlPlane = controlPlanePrincipalOf(cluster);
  for (const entry of profile.userAssignedIdentities ?? []) {
    const previous = before.find((e) => e.name === entry.name && e.namespace === entry.namespace);
    const unchanged =
      previous !== undefined &&
      previous.provisioningState !== "Failed" &&
      previous.identity?.resourceId?.toLowerCase() === entry.identity?.resourceId?.toLowerCase();
    if (unchanged) continue;
    const identityId = entry.identity?.resourceId ?? "";
    if (controlPlane && authority.hasEffectiveRole(controlPlane, identityId, ASSIGN_IDENTITY_ROLES)) continue;
    // AKS refuses the write (Azure/AKS#2943 quotes the message; the error code is not shown there, BadRequest assumed).
    throw new ArmError(
      400,
      "BadRequest",
      `Cluster identity has no assignment permission over identity 'resourceId: ${identityId} - clientId: ${entry.identity?.clientId ?? ""} - objectId: ${entry.identity?.objectId ?? ""}'. Please grant at least 'Managed Identity Operator' permission before assigning pod identity.`,
    );
  }
}

function controlPlanePrincipalOf(cluster: ArmResource): string | undefined {
  const identity = cluster["identity"] as
    { type?: string; principalId?: string; userAssignedIdentities?: Record<string, { principalId?: string }> } | undefined;
  if (identity?.type?.toLowerCase() === "systemassigned") return identity.principalId;
  return Object.values(identity?.userAssignedIdentities ?? {})[0]?.principalId;
}

/**
 * AKS's answers for the pod-identity add-on, as users report them: 400 "Network plugin kubenet is not
 * supported to use with PodIdentity addon." without allowNetworkPluginKubenet, 400 "PodIdentity addon
 * requires managed identity." on a service-principal cluster. The preview-feature check applies when the
 * add-on's settings change.
 */
function validatePodIdentity(cluster: ArmResource, context: ClusterValidationContext): void {
  const profile = cluster.properties?.["podIdentityProfile"] as PodIdentityProfileShape | undefined;
  if (!profile?.enabled) return;
  const before = context.current?.properties?.["podIdentityProfile"];
  if (
    context.isFeatureRegistered &&
    canonicalJson(before ?? null) !== canonicalJson(profile) &&
    !context.isFeatureRegistered(POD_IDENTITY_FEATURE.namespace, POD_IDENTITY_FEATURE.name)
  ) {
    throw new ArmError(
      400,
      "BadRequest",
      `The subscription is not registered for the preview feature '${POD_IDENTITY_FEATURE.namespace}/${POD_IDENTITY_FEATURE.name}', which the PodIdentity addon requires.`,
    );
  }
  const plugin = (cluster.properties?.["networkProfile"] as { networkPlugin?: string } | undefined)?.networkPlugin;
  if (plugin?.toLowerCase() === "kubenet" && profile.allowNetworkPluginKubenet !== true) {
    throw new ArmError(400, "BadRequest", "Network plugin kubenet is not supported to use with PodIdentity addon.");
  }
  const identityType = (cluster["identity"] as { type?: string } | undefined)?.type ?? "None";
  if (!/assigned/i.test(identityType)) throw new ArmError(400, "BadRequest", "PodIdentity addon requires managed identity.");
  (profile.userAssignedIdentityExceptions ?? []).forEach((exception, index) => {
    // The 2021-10-01 API and later require podLabels on an exception; aks-preview fills {} before every
    // PUT because AKS answers an empty map as null (_fill_defaults_for_pod_identity_exceptions), and a
    // client that sends that null back is refused. The wording of this 400 is not published; assumed.
    const missing = ["name", "namespace"].filter((field) => !exception[field as "name" | "namespace"]);
    if (!isPlainObject(exception.podLabels)) missing.push("podLabels");
    if (missing.length) {
      throw new ArmError(
        400,
        "InvalidParameter",
        `The value of parameter 'podIdentityProfile.userAssignedIdentityExceptions[${index}]' is invalid: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} required.`,
      );
    }
  });
  for (const entry of profile.userAssignedIdentities ?? []) {
    const missing = ["name", "namespace"].filter((field) => !entry[field as "name" | "namespace"]);
    for (const field of ["resourceId", "clientId", "objectId"] as const) if (!entry.identity?.[field]) missing.push(`identity.${field}`);
    if (missing.length) {
      throw new ArmError(
        400,
        "InvalidParameter",
        `The value of parameter 'podIdentityProfile.userAssignedIdentities' is invalid: a pod identity is missing ${missing.join(", ")}.`,
      );
    }
  }
}

/** JSON with object keys sorted, so equal settings compare equal whatever order a client sent them in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

function cidrProblem(range: string): string | undefined {
  const m = IPV4_CIDR.exec(range.trim());
  if (!m) return "it is not an IPv4 address or CIDR";
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return "an octet is greater than 255";
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (prefix > 32) return "the prefix length is greater than 32";
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostBits = 2 ** (32 - prefix);
  if (value % hostBits !== 0) return "the address has host bits set for its prefix length";
  return undefined;
}

/**
 * The Kubernetes releases the local AKS offers in every region, as ManagedClusters_ListKubernetesVersions
 * answers (shape of the spec example KubernetesVersions_List, 2025-10-01; the SDK's 2026-04-01 has the same
 * model): GA minors with their patches, the newest minor in preview, and one minor past community support
 * that only long-term support still covers. Every minor in community support is also eligible for LTS
 * ("All supported AKS Kubernetes versions are LTS-compatible", AKS docs long-term-support.md), so its
 * `capabilities.supportPlan` lists both plans. Patch upgrades go to newer patches of the same minor and to
 * every patch of the next minor, never across two minors.
 */
export const KUBERNETES_RELEASES: readonly {
  version: string;
  isPreview?: boolean;
  isDefault?: boolean;
  supportPlan: readonly string[];
  patches: string[];
}[] = [
  { version: "1.31", supportPlan: ["AKSLongTermSupport"], patches: ["1.31.10", "1.31.11"] },
  { version: "1.32", supportPlan: ["KubernetesOfficial", "AKSLongTermSupport"], patches: ["1.32.7", "1.32.9"] },
  { version: "1.33", isDefault: true, supportPlan: ["KubernetesOfficial", "AKSLongTermSupport"], patches: ["1.33.3", "1.33.5"] },
  { version: "1.34", supportPlan: ["KubernetesOfficial", "AKSLongTermSupport"], patches: ["1.34.1", "1.34.2"] },
  { version: "1.35", isPreview: true, supportPlan: ["KubernetesOfficial"], patches: ["1.35.0"] },
];

function minorOf(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Versions a cluster on `version` may upgrade to: newer patches of its minor and the next minor's patches. */
function upgradesFrom(version: string): { kubernetesVersion: string; isPreview?: boolean }[] {
  const [major, minor] = minorOf(version).split(".").map(Number);
  const next = `${major}.${(minor ?? 0) + 1}`;
  return KUBERNETES_RELEASES.flatMap((release) =>
    release.patches
      .filter((patch) => (release.version === minorOf(version) && compareVersions(patch, version) > 0) || release.version === next)
      .map((patch) => ({ kubernetesVersion: patch, ...(release.isPreview ? { isPreview: true } : {}) })),
  );
}

/** GET .../locations/{location}/kubernetesVersions, shaped as the spec example KubernetesVersions_List. */
export function kubernetesVersionList(): { values: unknown[] } {
  return {
    values: KUBERNETES_RELEASES.map((release) => ({
      version: release.version,
      ...(release.isDefault ? { isDefault: true } : {}),
      ...(release.isPreview ? { isPreview: true } : {}),
      capabilities: { supportPlan: [...release.supportPlan] },
      patchVersions: Object.fromEntries(
        release.patches.map((patch) => [patch, { upgrades: upgradesFrom(patch).map((u) => u.kubernetesVersion) }]),
      ),
    })),
  };
}

/**
 * GET .../managedClusters/{name}/upgradeProfiles/default, shaped as the spec example
 * ManagedClustersGetUpgradeProfile (2026-06-01): the control plane's and each pool's current version with
 * the versions each may upgrade to (`isPreview` only on preview ones).
 */
export function managedClusterUpgradeProfile(cluster: ArmResource): ArmResource {
  const properties = cluster.properties ?? {};
  const current = String(properties["currentKubernetesVersion"] ?? properties["kubernetesVersion"] ?? KUBERNETES_VERSION);
  const pools = Array.isArray(properties["agentPoolProfiles"]) ? (properties["agentPoolProfiles"] as Record<string, unknown>[]) : [];
  return {
    id: `${cluster.id}/upgradeprofiles/default`,
    name: "default",
    type: "Microsoft.ContainerService/managedClusters/upgradeprofiles",
    properties: {
      controlPlaneProfile: { name: "master", kubernetesVersion: current, osType: "Linux", upgrades: upgradesFrom(current) },
      agentPoolProfiles: pools.map((pool) => {
        const version = String(pool["currentOrchestratorVersion"] ?? pool["orchestratorVersion"] ?? current);
        return { name: pool["name"], kubernetesVersion: version, osType: pool["osType"] ?? "Linux", upgrades: upgradesFrom(version) };
      }),
    },
  };
}
