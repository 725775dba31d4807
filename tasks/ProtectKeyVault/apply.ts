import type { Vault, VaultPatchProperties } from "@azure/arm-keyvault";
import type { AzureClients } from "../../core/azure";
import { readTogether } from "../../core/azure";
import { readKeyVault, updateVaultProperties } from "../../core/key-vault";
import {
  applyRoleGrant,
  listRoleAssignments,
  waitUntilAssignmentsVisible,
  type AssignmentSeen,
  type RoleGrantResult,
} from "../../core/roles";
import { readClusterEgress, type ClusterEgress } from "./cluster-egress";
import type { ProtectKeyVaultRequest } from "./inputs";
import type { MigrationPlan, NetworkPlan, VaultTarget } from "./plan";
import { applyPrivateEndpoint, readPrivateEndpointState, type PrivateEndpointPlan, type PrivateEndpointState } from "./private-endpoint";
import { TaskError } from "../../core/errors";
import { describeVault } from "../../core/key-vault";

export interface VaultReads {
  vault: Vault;
  target: VaultTarget;
  egress: ClusterEgress[];
  /** Role assignments at the vault (and above), read only for a migration to Azure RBAC. */
  assignments: AssignmentSeen[];
  /** What exists of the private endpoint, its zone, link and zone group (with privateEndpointSubnetId). */
  privateEndpoint?: PrivateEndpointState;
}

/**
 * Everything the plan needs, in one round of independent reads: the vault, each cluster's egress
 * (the cluster, then its subnets and outbound IPs), and the vault's role assignments when it may move
 * to Azure RBAC (the vault's ID is known from the inputs, so that list does not wait for the vault).
 */
export async function readState(clients: AzureClients, request: ProtectKeyVaultRequest): Promise<VaultReads> {
  const ref = { name: request.keyVaultName, resourceGroupName: request.resourceGroupName };
  const id = `/subscriptions/${clients.connection.subscriptionId}/resourceGroups/${request.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${request.keyVaultName}`;
  const [vault, egress, assignments] = await readTogether([
    readKeyVault(clients, ref),
    request.firewall === "denyByDefault" ? readClusterEgress(clients, request.allowClusters) : [],
    // Sent with the vault read even when the vault turns out to be on Azure RBAC already: a read, never a round trip of its own.
    request.permissionModel === "rbac" ? listRoleAssignments(clients, id) : [],
  ]);
  const target = { ...ref, id: vault.id ?? id };
  // The zone's name follows the vault's cloud (its vaultUri): read once the vault is.
  const privateEndpoint =
    request.privateEndpointSubnetId && vault.properties.vaultUri
      ? await readPrivateEndpointState(clients, target, request.privateEndpointSubnetId, vault.properties.vaultUri)
      : undefined;
  return { vault, target, egress, assignments, ...(privateEndpoint ? { privateEndpoint } : {}) };
}

export interface ApplyResult {
  grants: RoleGrantResult[];
  vault?: Vault;
  /** The private endpoint connection's status after the run. */
  privateEndpointStatus?: string;
}

/**
 * Grants first, all at once; then, once every new assignment is listed, the one vault update:
 * network, purge protection and the switch to Azure RBAC together. The switch never runs before the
 * roles that keep everyone's access are in place.
 */
export async function applyPlan(
  clients: AzureClients,
  target: VaultTarget,
  p: {
    migration: MigrationPlan;
    patch: VaultPatchProperties | undefined;
    roleAssignmentWaitMs: number;
    privateEndpoint?: { plan: PrivateEndpointPlan; subnetId: string } | undefined;
    /** The network plan again, from the vault as read after the update (the second look). */
    replanNetwork: (vault: Vault) => NetworkPlan;
  },
): Promise<ApplyResult> {
  // The endpoint and the grants do not depend on each other; the vault update depends on both.
  const [grants, privateEndpointStatus] = await Promise.all([
    Promise.all(p.migration.grants.map((grant) => applyRoleGrant(clients, grant))),
    p.privateEndpoint && !p.privateEndpoint.plan.empty
      ? applyPrivateEndpoint(clients, target, p.privateEndpoint.plan, p.privateEndpoint.subnetId)
      : p.privateEndpoint?.plan.connectionStatus,
  ]);
  if (p.patch?.publicNetworkAccess === "Disabled" && p.privateEndpoint && privateEndpointStatus?.toLowerCase() !== "approved") {
    throw new TaskError(
      `firewall: public network access of the ${describeVault(target)} was left on: its private endpoint '${p.privateEndpoint.plan.endpointName}' is ${privateEndpointStatus ?? "not connected"}, not Approved, so turning public access off would lock everyone out. The vault's owner approves the connection (az keyvault private-endpoint-connection approve); then re-run.`,
    );
  }
  if (p.migration.grants.length && p.patch?.enableRbacAuthorization) {
    await waitUntilAssignmentsVisible(clients, p.migration.grants, p.roleAssignmentWaitMs);
  }
  let vault = p.patch ? await updateVaultProperties(clients, target, p.patch, "protect") : undefined;
  if (p.patch?.networkAcls) vault = await secondLook(clients, target, p.replanNetwork);
  return { grants, ...(vault ? { vault } : {}), ...(privateEndpointStatus ? { privateEndpointStatus } : {}) };
}

/** Second looks after the first update; each finds the rules in place or writes back what another writer dropped. */
const MAX_SECOND_LOOKS = 3;

/**
 * Key Vault gives a vault no eTag, and an update replaces the whole rule set: a concurrent update (another
 * run, a job opening its address) that read the vault before this one's landed drops this run's rules.
 * The vault is read again after the update and what is missing is written again, keeping what the other
 * writer added. This narrows the window rather than closing it (a writer whose update lands after the
 * last look still wins), as for job-scoped access (docs/reliability.md, "no eTag on a vault").
 */
async function secondLook(clients: AzureClients, target: VaultTarget, replan: (vault: Vault) => NetworkPlan): Promise<Vault> {
  let vault = await readKeyVault(clients, target);
  for (let look = 1; look <= MAX_SECOND_LOOKS; look++) {
    const again = replan(vault);
    if (again.empty) return vault;
    console.log(`Another update of the ${describeVault(target)} replaced its network rules meanwhile; writing this run's rules again.`);
    await updateVaultProperties(clients, target, again.patch, "protect");
    vault = await readKeyVault(clients, target);
  }
  return vault;
}
