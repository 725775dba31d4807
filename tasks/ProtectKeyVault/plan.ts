import type { Vault, VaultPatchProperties } from "@azure/arm-keyvault";
import { TaskError } from "../../core/errors";
import { canonicalEntry } from "../../core/job-scoped-access/addresses";
import { covers, isRangeError, parseIpv4Range } from "../../core/ipv4-ranges";
import { describeVault, MAX_VAULT_IP_RULES, type VaultRef } from "../../core/key-vault";
import type { PlannedWrite } from "../../core/permissions";
import { planRoleGrant, roleGrantWrite, type AssignmentSeen, type RoleGrantPlan } from "../../core/roles";
import type { ClusterEgress } from "./cluster-egress";
import type { ProtectKeyVaultRequest } from "./inputs";
import { mapPermissions, type RoleChoice } from "./role-mapping";

/** "A maximum of 200 virtual network rules and 1000 IPv4 rules are allowed" (learn.microsoft.com/azure/key-vault/general/network-security). */
export const MAX_VAULT_VIRTUAL_NETWORK_RULES = 200;

export type VaultTarget = VaultRef & { id: string };

/** The vault's network as the summary shows it. */
export interface NetworkSettings {
  publicNetworkAccess: string;
  defaultAction: string;
  bypass: string;
  ipRules: string[];
  virtualNetworkRules: string[];
}

export interface NetworkPlan {
  readonly empty: boolean;
  before: NetworkSettings;
  after: NetworkSettings;
  addedIpRules: string[];
  addedSubnetRules: string[];
  /** What the update sends when the plan is not empty: the whole rule set (a vault update replaces it) and public access. */
  patch: Pick<VaultPatchProperties, "networkAcls" | "publicNetworkAccess">;
}

export function currentNetwork(vault: Vault): NetworkSettings {
  const acls = vault.properties.networkAcls;
  return {
    publicNetworkAccess: vault.properties.publicNetworkAccess ?? "Enabled",
    // No rule set: the vault admits every address (bypass defaults to AzureServices, VaultProperties spec).
    defaultAction: acls?.defaultAction ?? "Allow",
    bypass: acls?.bypass ?? "AzureServices",
    ipRules: (acls?.ipRules ?? []).map((r) => r.value),
    virtualNetworkRules: (acls?.virtualNetworkRules ?? []).map((r) => r.id),
  };
}

/** Approved private endpoint connections of the vault (the way in once public access is off). */
export function approvedPrivateEndpoints(vault: Vault): string[] {
  return (vault.properties.privateEndpointConnections ?? [])
    .filter((c) => c.privateLinkServiceConnectionState?.status?.toLowerCase() === "approved")
    .map((c) => c.privateEndpoint?.id ?? c.id ?? "");
}

/**
 * Pure: the vault's network after the request. Every rule the vault has is kept (other IP rules,
 * virtual network rules, this job's job-scoped addresses); an address or range already inside an
 * existing rule is not added again. `denyByDefault` leaves the public endpoint on for the allowed
 * addresses; `disablePublicAccess` turns it off, which is refused while the vault has no approved
 * private endpoint: every caller, the pipeline and the clusters included, would be locked out.
 */
export function planNetwork(
  request: ProtectKeyVaultRequest,
  target: VaultTarget,
  vault: Vault,
  egress: readonly ClusterEgress[],
  /** A private endpoint this run creates or already has (privateEndpointSubnetId): public access may then go off. */
  privateEndpointPlanned = false,
): NetworkPlan {
  const before = currentNetwork(vault);
  if (request.firewall === "unchanged") return { empty: true, before, after: before, addedIpRules: [], addedSubnetRules: [], patch: {} };
  if (request.firewall === "disablePublicAccess" && approvedPrivateEndpoints(vault).length === 0 && !privateEndpointPlanned) {
    throw new TaskError(
      `firewall: 'disablePublicAccess' would lock everyone out of the ${describeVault(target)}: it has no approved private endpoint connection, and with public network access off the vault takes no other traffic; nothing was changed. Give the vault a private endpoint (privateEndpointSubnetId), or use firewall: denyByDefault with allowClusters and allowedIpRanges.`,
    );
  }
  const existing = before.ipRules.map((value) => parseIpv4Range(canonicalEntry(value) ?? value));
  const wanted = [...request.allowedIpRanges.map((r) => r.cidr), ...egress.flatMap((e) => e.addresses)];
  const addedIpRules: string[] = [];
  for (const cidr of wanted) {
    const range = parseIpv4Range(canonicalEntry(cidr) ?? cidr);
    if (isRangeError(range)) throw new TaskError(`internal: '${cidr}' is not a range: ${range.error}`);
    const admitted = existing.some((e) => !isRangeError(e) && covers(e, range));
    if (!admitted && !addedIpRules.includes(range.cidr)) addedIpRules.push(range.cidr);
  }
  const knownSubnets = new Set(before.virtualNetworkRules.map((id) => id.toLowerCase()));
  const addedSubnetRules = [...new Set(egress.flatMap((e) => e.subnetRules))].filter((id) => !knownSubnets.has(id.toLowerCase()));
  const after: NetworkSettings = {
    publicNetworkAccess: request.firewall === "disablePublicAccess" ? "Disabled" : "Enabled",
    defaultAction: "Deny",
    bypass: request.bypassAzureServices ? "AzureServices" : "None",
    ipRules: [...before.ipRules, ...addedIpRules],
    virtualNetworkRules: [...before.virtualNetworkRules, ...addedSubnetRules],
  };
  if (after.ipRules.length > MAX_VAULT_IP_RULES || after.virtualNetworkRules.length > MAX_VAULT_VIRTUAL_NETWORK_RULES) {
    throw new TaskError(
      `The ${describeVault(target)} would need ${after.ipRules.length} IP rules and ${after.virtualNetworkRules.length} virtual network rules, over Key Vault's limits (${MAX_VAULT_IP_RULES} and ${MAX_VAULT_VIRTUAL_NETWORK_RULES}); nothing was changed. Remove rules that are no longer needed, or allow wider ranges.`,
    );
  }
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const empty =
    same(before.publicNetworkAccess, after.publicNetworkAccess) &&
    same(before.defaultAction, after.defaultAction) &&
    same(before.bypass, after.bypass) &&
    addedIpRules.length === 0 &&
    addedSubnetRules.length === 0;
  const acls = vault.properties.networkAcls ?? {};
  return {
    empty,
    before,
    after,
    addedIpRules,
    addedSubnetRules,
    patch: empty
      ? {}
      : {
          publicNetworkAccess: after.publicNetworkAccess,
          networkAcls: {
            ...acls,
            defaultAction: "Deny",
            bypass: after.bypass as "AzureServices" | "None",
            ipRules: [...(acls.ipRules ?? []), ...addedIpRules.map((value) => ({ value }))],
            virtualNetworkRules: [
              ...(acls.virtualNetworkRules ?? []),
              ...addedSubnetRules.map((id) => ({ id, ignoreMissingVnetServiceEndpoint: false })),
            ],
          },
        },
  };
}

export interface PurgeProtectionPlan {
  readonly empty: boolean;
  before: boolean;
  after: boolean;
}

/** Pure: purge protection only ever goes on (the API refuses turning it off); `false` is never sent. */
export function planPurgeProtection(request: ProtectKeyVaultRequest, vault: Vault): PurgeProtectionPlan {
  const before = vault.properties.enablePurgeProtection === true;
  const after = before || request.enablePurgeProtection;
  return { empty: before === after, before, after };
}

/** One principal of the access policies and the roles that keep its access. */
export interface PrincipalMigration {
  objectId: string;
  roles: (RoleChoice & { plan: RoleGrantPlan })[];
}

export interface MigrationPlan {
  readonly empty: boolean;
  /** Whether the vault uses Azure RBAC before and after. */
  before: boolean;
  after: boolean;
  principals: PrincipalMigration[];
  /** The distinct role assignments to create (one per principal and role). */
  grants: RoleGrantPlan[];
}

/**
 * Pure: moving an access-policy vault to Azure RBAC without anyone losing access. Every principal of
 * the access policies gets the roles covering its permissions (role-mapping.ts) at the vault's scope,
 * unless it already holds them there or above. A permission no role covers (managed storage account
 * keys, a compound identity with an application ID) would be lost: the migration is refused. The
 * access policies stay as they are (Azure ignores them under RBAC, and they are back if the model is
 * switched back).
 */
export function planMigration(
  request: ProtectKeyVaultRequest,
  target: VaultTarget,
  vault: Vault,
  assignments: readonly AssignmentSeen[],
): MigrationPlan {
  // 2026-02-01: an absent enableRbacAuthorization means true (VaultProperties' default).
  const before = vault.properties.enableRbacAuthorization !== false;
  if (request.permissionModel === "unchanged" || before) return { empty: true, before, after: before, principals: [], grants: [] };
  const lost: string[] = [];
  const byPrincipal = new Map<string, PrincipalMigration>();
  for (const policy of vault.properties.accessPolicies ?? []) {
    const objectId = policy.objectId.toLowerCase();
    if (policy.applicationId) {
      lost.push(`${objectId} through application ${policy.applicationId} (a compound identity: Azure RBAC has no equivalent)`);
      continue;
    }
    const mapping = mapPermissions(policy.permissions);
    if (mapping.uncovered.length) lost.push(`${objectId}: ${mapping.uncovered.join(", ")}`);
    const principal = byPrincipal.get(objectId) ?? { objectId, roles: [] };
    for (const choice of mapping.roles) {
      if (principal.roles.some((r) => r.role === choice.role)) continue;
      const plan = planRoleGrant(
        { role: choice.role, scope: target.id, principalId: objectId, principalDescription: `access-policy principal ${objectId}` },
        assignments,
      );
      principal.roles.push({ ...choice, plan });
    }
    byPrincipal.set(objectId, principal);
  }
  if (lost.length) {
    throw new TaskError(
      `permissionModel: moving the ${describeVault(target)} to Azure RBAC would cut off access no built-in role gives: ${lost.join("; ")}. Nothing was changed. Remove those permissions from the access policies (managed storage account keys work only with access policies), or keep permissionModel unchanged.`,
    );
  }
  const principals = [...byPrincipal.values()];
  const grants = principals.flatMap((p) => p.roles.map((r) => r.plan)).filter((p) => !p.empty);
  return { empty: false, before, after: true, principals, grants };
}

/** The one vault update the run makes, or undefined when the vault is as wanted. */
export function vaultPatch(network: NetworkPlan, purge: PurgeProtectionPlan, migration: MigrationPlan): VaultPatchProperties | undefined {
  const properties: VaultPatchProperties = {
    ...network.patch,
    ...(purge.empty ? {} : { enablePurgeProtection: true }),
    ...(migration.empty ? {} : { enableRbacAuthorization: true }),
  };
  return Object.keys(properties).length ? properties : undefined;
}

/** The writes of the plan, for the permission check before the first one. */
export function plannedWrites(
  target: VaultTarget,
  patch: VaultPatchProperties | undefined,
  migration: MigrationPlan,
  privateEndpoint: readonly PlannedWrite[] = [],
): PlannedWrite[] {
  const purposes = [
    patch?.networkAcls || patch?.publicNetworkAccess ? "close the vault's network" : undefined,
    patch?.enablePurgeProtection ? "turn on purge protection" : undefined,
    patch?.enableRbacAuthorization ? "switch the vault to Azure RBAC" : undefined,
  ].filter(Boolean);
  return [
    ...migration.grants.map(roleGrantWrite),
    ...privateEndpoint,
    ...(patch ? [{ action: "Microsoft.KeyVault/vaults/write", scope: target.id, purpose: purposes.join(", ") }] : []),
  ];
}
