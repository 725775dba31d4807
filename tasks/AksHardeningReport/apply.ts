/**
 * The report's "apply" step only reads: one cluster GET serves most checks, the rest go out beside it
 * in parallel. A read Azure refuses (403) becomes `{ ok: false, permission }` so the checks it feeds
 * are unknown. The cluster and the vaults are what the report is about: one that does not exist, or any
 * other error reading them, fails the task. The other reads (upgrade profile, versions, policy) only
 * feed some checks: any error there makes just those checks unknown, with the sentence that says why.
 */
import { get as getCluster, getUpgradeProfile, listKubernetesVersions } from "@azure/arm-containerservice/api/managedClusters";
import { PolicyClient, type PolicySetDefinition } from "@azure/arm-policy";
import { get as getVault } from "@azure/arm-keyvault/api/vaults";
import { createKeyVaultManagement, type KeyVaultManagementContext } from "@azure/arm-keyvault/api";
import { readTogether, type AzureClients } from "../../core/azure";
import { clusterClient, clusterResourceId, describeCluster, type ManagedCluster } from "../../core/cluster";
import { readContainersPricing } from "../../core/defender-plan";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import { HoldLinks, LINK_PERMISSIONS, readLedger, type Hold, type UntrustedHold } from "../../core/job-scoped-access/ledger";
import { listAssignmentsOf, policyClient, type AssignmentWire } from "../../core/policy-assignments";
import { queryLatestPolicyStates } from "../../core/policy-states";
import type { AksHardeningReportRequest, VaultRef } from "./inputs";
import {
  definitionsWithDefaultEffect,
  type AssignmentFacts,
  type ClusterFacts,
  type DefinitionDefaults,
  type InitiativeFacts,
  type PolicyStateFacts,
  type Read,
  type SupportedVersion,
  type UpgradeProfileFacts,
  type VaultFacts,
} from "./checks";

const PERMISSIONS = {
  cluster: "Microsoft.ContainerService/managedClusters/read",
  upgradeProfile: "Microsoft.ContainerService/managedClusters/upgradeProfiles/read",
  supportedVersions: "Microsoft.ContainerService/locations/kubernetesVersions/read",
  assignments: "Microsoft.Authorization/policyAssignments/read",
  setDefinitions: "Microsoft.Authorization/policySetDefinitions/read",
  definitions: "Microsoft.Authorization/policyDefinitions/read",
  policyStates: "Microsoft.PolicyInsights/policyStates/queryResults/read",
  vault: "Microsoft.KeyVault/vaults/read",
  containersPlan: "Microsoft.Security/pricings/read",
} as const;

/** A 403 from ARM: the identity lacks the permission (AuthorizationFailed and its kin). */
function isRefused(error: unknown): boolean {
  const { status, code } = azureErrorDetails(error);
  return status === 403 || code === "AuthorizationFailed" || code === "LinkedAuthorizationFailed";
}

/**
 * Runs a read. A refusal becomes a value the checks report as unknown, naming the permission. Any
 * other error fails the task, unless the read is auxiliary: then it too becomes unknown, with the
 * sentence the user would have read.
 */
async function attempt<T>(permission: string, action: string, read: () => Promise<T>, auxiliary = false): Promise<Read<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    if (isRefused(error)) return { ok: false, permission, reason: azureErrorDetails(error).message };
    if (auxiliary) return { ok: false, reason: describeFailure(error, { action, permission }) };
    if (error instanceof TaskError) throw error;
    throw new TaskError(describeFailure(error, { action, permission }));
  }
}

const missing = <T>(read: Extract<Read<unknown>, { ok: false }>): Read<T> => read;

export interface ReadState {
  facts: ClusterFacts;
  vaults: { name: string; read: Read<VaultFacts> }[];
  /** Job-scoped holds that are not believed (a tag, a malformed link): named in warnings, used for nothing. */
  untrustedHolds: UntrustedHold[];
}

/** Every read the checks need, in parallel where they do not depend on each other. */
export async function readState(clients: AzureClients, request: AksHardeningReportRequest): Promise<ReadState> {
  const ref = { resourceGroupName: request.resourceGroupName, clusterName: request.clusterName };
  const clusterId = clusterResourceId(clients.connection.subscriptionId, ref);
  const containers = clusterClient(clients);

  const clusterRead = attempt<ManagedCluster>(PERMISSIONS.cluster, `read ${describeCluster(ref)}`, () =>
    getCluster(containers, ref.resourceGroupName, ref.clusterName),
  );
  const supportedVersionsRead = clusterRead.then((cluster) =>
    cluster.ok
      ? attempt(
          PERMISSIONS.supportedVersions,
          `list the Kubernetes versions of region '${cluster.value.location}'`,
          () => readSupportedVersions(clients, cluster.value.location),
          true,
        )
      : missing<SupportedVersion[]>(cluster),
  );
  const policy = readPolicyFacts(clients, request);
  const reads = [
    clusterRead,
    attempt(
      PERMISSIONS.upgradeProfile,
      `read the upgrade profile of ${describeCluster(ref)}`,
      () => readUpgradeProfile(clients, request),
      true,
    ),
    supportedVersionsRead,
    policy.then((p) => p.assignments),
    policy.then((p) => p.definitionDefaults),
    attempt(
      PERMISSIONS.policyStates,
      `read the policy compliance of ${describeCluster(ref)}`,
      () => readPolicyStates(clients, clusterId),
      true,
    ),
    Promise.all(request.vaults.map(async (vault) => ({ name: vault.name, read: await readVault(clients, vault) }))),
    attempt(PERMISSIONS.containersPlan, "read the subscription's Defender for Containers plan", async () => ({
      pricingTier: (await readContainersPricing(clients)).pricingTier,
    })),
    // The job-scoped access holds (resource links): without them no address is called left behind.
    attempt(
      LINK_PERMISSIONS.read,
      `list the job-scoped access holds of ${describeCluster(ref)}`,
      () => new HoldLinks(clusterClient(clients), clusterId, describeCluster(ref)).list(),
      true,
    ),
  ] as const;
  // When several reads fail (a missing cluster fails them all), the first in this order says why.
  const [cluster, upgradeProfile, supportedVersions, assignments, definitionDefaults, policyStates, vaults, containersPlan, links] =
    await readTogether(reads);
  const ledger = readLedger({
    resourceId: clusterId,
    links: links.ok ? links.value : [],
    tags: cluster.ok ? cluster.value.tags : undefined,
    now: new Date(),
  });
  const jobScopedHolds: Read<Hold[]> = links.ok ? { ok: true, value: ledger.holds } : links;
  return {
    facts: { cluster, upgradeProfile, supportedVersions, assignments, definitionDefaults, policyStates, containersPlan, jobScopedHolds },
    vaults,
    untrustedHolds: ledger.untrusted,
  };
}

async function readUpgradeProfile(clients: AzureClients, request: AksHardeningReportRequest): Promise<UpgradeProfileFacts> {
  const profile = await getUpgradeProfile(clusterClient(clients), request.resourceGroupName, request.clusterName);
  const controlPlane = profile.controlPlaneProfile;
  return {
    kubernetesVersion: controlPlane.kubernetesVersion,
    upgrades: (controlPlane.upgrades ?? [])
      .filter((u) => typeof u.kubernetesVersion === "string")
      .map((u) => ({ kubernetesVersion: u.kubernetesVersion!, isPreview: u.isPreview === true })),
  };
}

async function readSupportedVersions(clients: AzureClients, location: string): Promise<SupportedVersion[]> {
  const list = await listKubernetesVersions(clusterClient(clients), location);
  return (list.values ?? [])
    .filter((v) => typeof v.version === "string")
    .map((v) => ({ version: v.version!, isPreview: v.isPreview === true, supportPlans: [...(v.capabilities?.supportPlan ?? [])] }));
}

const SET_DEFINITION_ID =
  /^(?:\/subscriptions\/([^/]+)|\/providers\/Microsoft\.Management\/managementGroups\/([^/]+))?\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)$/i;
const BUILT_IN_DEFINITION_ID = /^\/providers\/Microsoft\.Authorization\/policyDefinitions\/([^/]+)$/i;

/**
 * The assignments that apply to the cluster (`atScope()`: made at it or above it), each initiative's
 * members and parameter defaults, and the defaults of the article's built-ins wherever an effect falls
 * back on them. Asked for at the cluster's own resource ID, as AssignAksPolicies does (the SDK's
 * listForResource leaves `Microsoft.ContainerService//managedClusters` in the path). Round trips: the
 * list, then the initiatives and the definitions direct assignments need, together; only a member that
 * an initiative passes no effect costs one more.
 */
async function readPolicyFacts(
  clients: AzureClients,
  request: AksHardeningReportRequest,
): Promise<{ assignments: Read<AssignmentFacts[]>; definitionDefaults: Read<DefinitionDefaults> }> {
  const ref = { resourceGroupName: request.resourceGroupName, clusterName: request.clusterName };
  const listed = await attempt(
    PERMISSIONS.assignments,
    `list the policy assignments of ${describeCluster(ref)}`,
    () => listAssignmentsOf(clients, clusterResourceId(clients.connection.subscriptionId, ref), "atScope()"),
    true,
  );
  if (!listed.ok) return { assignments: missing(listed), definitionDefaults: missing(listed) };

  // Settled as they come in, so a failure waits for its turn instead of going unhandled.
  const defaults = new Map<string, Promise<{ values: Record<string, unknown> } | { error: unknown }>>();
  const readDefaults = (ids: readonly string[]) => {
    for (const id of ids) {
      if (defaults.has(id.toLowerCase())) continue;
      defaults.set(
        id.toLowerCase(),
        readDefinitionDefaults(clients, id).then(
          (values) => ({ values }),
          (error: unknown) => ({ error }),
        ),
      );
    }
  };
  // Direct assignments are known from the list: their definitions are read beside the initiatives.
  readDefaults(definitionsWithDefaultEffect(listed.value.map((a) => toFacts(a, undefined))));
  const initiativeIds = [
    ...new Set(listed.value.map((a) => a.properties?.policyDefinitionId ?? "").filter((id) => SET_DEFINITION_ID.test(id))),
  ];
  const initiatives = await attempt(
    PERMISSIONS.setDefinitions,
    "read the policy initiatives assigned to the cluster",
    () => Promise.all(initiativeIds.map(async (id) => ({ id, initiative: await readInitiative(clients, id) }))),
    true,
  );
  if (!initiatives.ok) return { assignments: missing(initiatives), definitionDefaults: missing(initiatives) };
  const assignments = listed.value.map((a) =>
    toFacts(a, initiatives.value.find((i) => i.id === a.properties?.policyDefinitionId)?.initiative),
  );
  readDefaults(definitionsWithDefaultEffect(assignments));
  const definitionDefaults = await attempt(
    PERMISSIONS.definitions,
    "read the default effect of the built-in policies assigned to the cluster",
    async () => {
      const entries = await Promise.all(
        [...defaults].map(async ([id, read]) => {
          const result = await read;
          if ("error" in result) throw result.error;
          return [id, result.values] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
    true,
  );
  return { assignments: { ok: true, value: assignments }, definitionDefaults };
}

function toFacts(a: AssignmentWire, initiative: InitiativeFacts | undefined): AssignmentFacts {
  const p = a.properties ?? {};
  const changedAt = a.systemData?.lastModifiedAt ?? a.systemData?.createdAt;
  return {
    id: a.id ?? "",
    name: a.name ?? "",
    ...(p.displayName ? { displayName: p.displayName } : {}),
    scope: p.scope ?? "",
    policyDefinitionId: p.policyDefinitionId ?? "",
    parameters: Object.fromEntries(Object.entries(p.parameters ?? {}).map(([name, v]) => [name, v?.value])),
    ...(initiative ? { initiative } : {}),
    enforcementMode: p.enforcementMode ?? "Default",
    ...(changedAt ? { changedAt: new Date(changedAt) } : {}),
  };
}

/** An initiative's parameter defaults and its members with the values they pass; undefined when it no longer exists. */
async function readInitiative(clients: AzureClients, id: string): Promise<InitiativeFacts | undefined> {
  const definition = await readSetDefinition(clients, id);
  if (!definition) return undefined;
  return {
    parameterDefaults: Object.fromEntries(Object.entries(definition.parameters ?? {}).map(([name, p]) => [name, p.defaultValue])),
    members: (definition.policyDefinitions ?? []).map((m) => ({
      definitionId: m.policyDefinitionId,
      parameters: Object.fromEntries(Object.entries(m.parameters ?? {}).map(([name, v]) => [name, v.value])),
    })),
  };
}

async function readSetDefinition(clients: AzureClients, id: string): Promise<PolicySetDefinition | undefined> {
  const [, subscriptionId, managementGroup, name] = SET_DEFINITION_ID.exec(id)!;
  try {
    if (managementGroup) return await policyClient(clients).policySetDefinitions.getAtManagementGroup(managementGroup, name!);
    if (subscriptionId) {
      const client =
        subscriptionId.toLowerCase() === clients.connection.subscriptionId.toLowerCase()
          ? policyClient(clients)
          : new PolicyClient(clients.credential, subscriptionId, clients.classicArmOptions());
      return await client.policySetDefinitions.get(name!);
    }
    return await policyClient(clients).policySetDefinitions.getBuiltIn(name!);
  } catch (error) {
    // An initiative deleted after it was assigned contains nothing the checks can count.
    if (azureErrorDetails(error).status === 404) return undefined;
    throw error;
  }
}

/** A built-in definition's parameter defaults (only built-ins are read here: the article's three). */
async function readDefinitionDefaults(clients: AzureClients, id: string): Promise<Record<string, unknown>> {
  const name = BUILT_IN_DEFINITION_ID.exec(id)?.[1];
  if (!name) return {};
  const definition = await policyClient(clients).policyDefinitions.getBuiltIn(name);
  return Object.fromEntries(Object.entries(definition.parameters ?? {}).map(([parameter, p]) => [parameter, p.defaultValue]));
}

async function readPolicyStates(clients: AzureClients, clusterId: string): Promise<PolicyStateFacts[]> {
  return (await queryLatestPolicyStates(clients, clusterId)).map((row) => ({
    policyAssignmentId: row.policyAssignmentId,
    complianceState: row.complianceState,
    ...(row.timestamp ? { timestamp: row.timestamp } : {}),
  }));
}

async function readVault(clients: AzureClients, ref: VaultRef): Promise<Read<VaultFacts>> {
  const where = `key vault '${ref.name}' in resource group '${ref.resourceGroupName}'`;
  return attempt(PERMISSIONS.vault, `read ${where}`, async () => {
    const subscriptionId = ref.subscriptionId ?? clients.connection.subscriptionId;
    const context = clients.client(`keyVaults:${subscriptionId.toLowerCase()}`, (): KeyVaultManagementContext =>
      createKeyVaultManagement(clients.credential, subscriptionId, clients.armOptions()),
    );
    try {
      const vault = await getVault(context, ref.resourceGroupName, ref.name);
      const p = vault.properties;
      return {
        name: vault.name ?? ref.name,
        resourceGroupName: ref.resourceGroupName,
        id: vault.id ?? "",
        // 2026-02-01 VaultProperties.enableRbacAuthorization: "default": true (keyvault openapi.json, 4f49dddd).
        enableRbacAuthorization: p.enableRbacAuthorization !== false,
        enablePurgeProtection: p.enablePurgeProtection === true,
        ...(p.publicNetworkAccess ? { publicNetworkAccess: p.publicNetworkAccess } : {}),
        ...(p.networkAcls
          ? {
              networkAcls: {
                ...(p.networkAcls.defaultAction ? { defaultAction: p.networkAcls.defaultAction } : {}),
                ipRules: (p.networkAcls.ipRules ?? []).map((r) => r.value),
              },
            }
          : {}),
        privateEndpointConnections: (p.privateEndpointConnections ?? []).map((c) => ({
          ...(c.id ? { id: c.id } : {}),
          ...(c.privateLinkServiceConnectionState?.status ? { status: c.privateLinkServiceConnectionState.status } : {}),
        })),
      };
    } catch (error) {
      if (azureErrorDetails(error).status === 404) {
        throw new TaskError(
          `keyVaultNames: there is no ${where}${ref.subscriptionId ? ` of subscription '${ref.subscriptionId}'` : ""}. Check the name, or give the vault's resource ID.`,
        );
      }
      throw error;
    }
  });
}
