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
import type { MigrationPlan, VaultTarget } from "./plan";

export interface VaultReads {
  vault: Vault;
  target: VaultTarget;
  egress: ClusterEgress[];
  /** Role assignments at the vault (and above), read only for a migration to Azure RBAC. */
  assignments: AssignmentSeen[];
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
  return { vault, target: { ...ref, id: vault.id ?? id }, egress, assignments };
}

export interface ApplyResult {
  grants: RoleGrantResult[];
  vault?: Vault;
}

/**
 * Grants first, all at once; then, once every new assignment is listed, the one vault update:
 * network, purge protection and the switch to Azure RBAC together. The switch never runs before the
 * roles that keep everyone's access are in place.
 */
export async function applyPlan(
  clients: AzureClients,
  target: VaultTarget,
  p: { migration: MigrationPlan; patch: VaultPatchProperties | undefined; roleAssignmentWaitMs: number },
): Promise<ApplyResult> {
  const grants = await Promise.all(p.migration.grants.map((grant) => applyRoleGrant(clients, grant)));
  if (p.migration.grants.length && p.patch?.enableRbacAuthorization) {
    await waitUntilAssignmentsVisible(clients, p.migration.grants, p.roleAssignmentWaitMs);
  }
  const vault = p.patch ? await updateVaultProperties(clients, target, p.patch, "protect") : undefined;
  return { grants, ...(vault ? { vault } : {}) };
}
