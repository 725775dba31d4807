/**
 * The report's "apply" step only reads: one cluster GET serves most checks, the rest go out beside it
 * in parallel. A read Azure refuses (403) becomes `{ ok: false, permission }` so the checks it feeds
 * are reported as unknown; a cluster or vault that does not exist, or any other error, fails the task.
 */
import { get as getCluster, getUpgradeProfile, listKubernetesVersions } from "@azure/arm-containerservice/api/managedClusters";
import { PolicyClient, type PolicySetDefinition } from "@azure/arm-policy";
import { get as getVault } from "@azure/arm-keyvault/api/vaults";
import { createKeyVaultManagement, type KeyVaultManagementContext } from "@azure/arm-keyvault/api";
import { readTogether, type AzureClients } from "../../core/azure";
import { clusterClient, clusterResourceId, describeCluster, type ManagedCluster } from "../../core/cluster";
import { readContainersPricing } from "../../core/defender-plan";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import { listAssignmentsOf, policyClient } from "../../core/policy-assignments";
import { queryLatestPolicyStates } from "../../core/policy-states";
import type { AksHardeningReportRequest, VaultRef } from "./inputs";
import type { AssignmentFacts, ClusterFacts, PolicyStateFacts, Read, SupportedVersion, UpgradeProfileFacts, VaultFacts } from "./checks";

const PERMISSIONS = {
  cluster: "Microsoft.ContainerService/managedClusters/read",
  upgradeProfile: "Microsoft.ContainerService/managedClusters/upgradeProfiles/read",
  supportedVersions: "Microsoft.ContainerService/locations/kubernetesVersions/read",
  assignments: "Microsoft.Authorization/policyAssignments/read",
  setDefinitions: "Microsoft.Authorization/policySetDefinitions/read",
  policyStates: "Microsoft.PolicyInsights/policyStates/queryResults/read",
  vault: "Microsoft.KeyVault/vaults/read",
  containersPlan: "Microsoft.Security/pricings/read",
} as const;

/** A 403 from ARM: the identity lacks the permission (AuthorizationFailed and its kin). */
function isRefused(error: unknown): boolean {
  const { status, code } = azureErrorDetails(error);
  return status === 403 || code === "AuthorizationFailed" || code === "LinkedAuthorizationFailed";
}

/** Runs a read; a refusal becomes a value the checks report as unknown, anything else is thrown as the sentence the user reads. */
async function attempt<T>(permission: string, action: string, read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    if (error instanceof TaskError) throw error;
    if (isRefused(error)) return { ok: false, permission, reason: azureErrorDetails(error).message };
    throw new TaskError(describeFailure(error, { action, permission }));
  }
}

export interface ReadState {
  facts: ClusterFacts;
  vaults: { name: string; read: Read<VaultFacts> }[];
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
      ? attempt(PERMISSIONS.supportedVersions, `list the Kubernetes versions of region '${cluster.value.location}'`, () =>
          readSupportedVersions(clients, cluster.value.location),
        )
      : ({ ok: false, permission: cluster.permission, reason: cluster.reason } as const),
  );
  const reads = [
    clusterRead,
    attempt(PERMISSIONS.upgradeProfile, `read the upgrade profile of ${describeCluster(ref)}`, () => readUpgradeProfile(clients, request)),
    supportedVersionsRead,
    readAssignments(clients, request),
    attempt(PERMISSIONS.policyStates, `read the policy compliance of ${describeCluster(ref)}`, () => readPolicyStates(clients, clusterId)),
    Promise.all(request.vaults.map(async (vault) => ({ name: vault.name, read: await readVault(clients, vault) }))),
    attempt(PERMISSIONS.containersPlan, "read the subscription's Defender for Containers plan", async () => ({
      pricingTier: (await readContainersPricing(clients)).pricingTier,
    })),
  ] as const;
  // When several reads fail (a missing cluster fails them all), the first in this order says why.
  const [cluster, upgradeProfile, supportedVersions, assignments, policyStates, vaults, containersPlan] = await readTogether(reads);
  return { facts: { cluster, upgradeProfile, supportedVersions, assignments, policyStates, containersPlan }, vaults };
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

/**
 * Assignments that apply to the cluster (`atScope()`: made at it or above it); for initiatives, the
 * definitions they contain. Asked for at the cluster's own resource ID, as AssignAksPolicies does
 * (the SDK's listForResource leaves `Microsoft.ContainerService//managedClusters` in the path).
 */
async function readAssignments(clients: AzureClients, request: AksHardeningReportRequest): Promise<Read<AssignmentFacts[]>> {
  const ref = { resourceGroupName: request.resourceGroupName, clusterName: request.clusterName };
  const assignments = await attempt(PERMISSIONS.assignments, `list the policy assignments of ${describeCluster(ref)}`, async () => {
    return listAssignmentsOf(clients, clusterResourceId(clients.connection.subscriptionId, ref), "atScope()");
  });
  if (!assignments.ok) return assignments;

  const initiativeIds = [
    ...new Set(assignments.value.map((a) => a.properties?.policyDefinitionId ?? "").filter((id) => SET_DEFINITION_ID.test(id))),
  ];
  const initiatives = await attempt(PERMISSIONS.setDefinitions, "read the policy initiatives assigned to the cluster", () =>
    Promise.all(initiativeIds.map(async (id) => ({ id, definition: await readSetDefinition(clients, id) }))),
  );
  if (!initiatives.ok) return initiatives;
  return {
    ok: true,
    value: assignments.value.map((a): AssignmentFacts => {
      const p = a.properties ?? {};
      const definitionId = p.policyDefinitionId ?? "";
      const initiative = initiatives.value.find((i) => i.id === definitionId)?.definition;
      const changedAt = a.systemData?.lastModifiedAt ?? a.systemData?.createdAt;
      const effect = Object.entries(p.parameters ?? {}).find(([name]) => name.toLowerCase() === "effect")?.[1]?.value;
      return {
        id: a.id ?? "",
        name: a.name ?? "",
        ...(p.displayName ? { displayName: p.displayName } : {}),
        scope: p.scope ?? "",
        policyDefinitionId: definitionId,
        memberDefinitionIds: (initiative?.policyDefinitions ?? []).map((m) => m.policyDefinitionId),
        ...(typeof effect === "string" ? { effect } : {}),
        enforcementMode: p.enforcementMode ?? "Default",
        ...(changedAt ? { changedAt: new Date(changedAt) } : {}),
      };
    }),
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
        enableRbacAuthorization: p.enableRbacAuthorization === true,
        // Soft delete is on unless the vault says otherwise (Azure turns it on for every vault).
        enableSoftDelete: p.enableSoftDelete !== false,
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
