import type { Vault } from "@azure/arm-keyvault";
import type { PlannedWrite } from "../../core/permissions";
import { roleGrantWrite, type RoleGrantPlan } from "../../core/roles";
import type { SecretEntry } from "./secrets";

export type PermissionModel = "accessPolicies" | "rbac";

export interface AccessPolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: { keys?: string[]; secrets?: string[]; certificates?: string[]; storage?: string[] };
}

/** What the task needs of a vault, as ARM returned it. */
export interface VaultState {
  id: string;
  name: string;
  resourceGroupName: string;
  vaultUri: string;
  tenantId: string;
  model: PermissionModel;
  accessPolicies: AccessPolicyEntry[];
  /** The vault as ARM returned it (its network rules, for job-scoped access). */
  resource: Vault;
}

/** The access-policy change for one principal: its secret permissions before → after. */
export interface AccessPolicyPlan {
  readonly empty: boolean;
  kind: "accessPolicy";
  principalId: string;
  principalDescription: string;
  before: string[];
  after: string[];
  /** What `accessPolicies/add` is sent: the principal's entry with the wanted secret permissions merged in. */
  entry: AccessPolicyEntry;
}

export type GrantPlan = AccessPolicyPlan | ({ kind: "role" } & RoleGrantPlan);

/** The secret as the vault has it now. */
export type CurrentSecret = { state: "present"; value: string } | { state: "absent" } | { state: "deleted" };

/**
 * create: no secret of that name; update: the value differs (a new version); unchanged: equal, no
 * write (no new version); recover: soft-deleted, recovered first and then compared.
 */
export type SecretAction = "create" | "update" | "unchanged" | "recover";

export interface SecretPlan {
  secret: SecretEntry;
  action: SecretAction;
}

/**
 * Merges the wanted secret permissions into the principal's access policy (or a new one). Pure.
 * Only the principal's own entry is sent, with its other permissions as they are, so `add`
 * touches nothing else; `all` already covers every permission.
 */
export function planAccessPolicy(
  vault: VaultState,
  principalId: string,
  principalDescription: string,
  wanted: readonly string[],
): AccessPolicyPlan {
  const own = vault.accessPolicies.find((p) => p.objectId.toLowerCase() === principalId.toLowerCase() && !p.applicationId);
  const before = [...(own?.permissions.secrets ?? [])];
  const has = (p: string) => before.some((q) => q.toLowerCase() === p.toLowerCase() || q.toLowerCase() === "all");
  const missing = wanted.filter((p) => !has(p));
  const after = [...before, ...missing];
  const entry: AccessPolicyEntry = {
    tenantId: own?.tenantId ?? vault.tenantId,
    objectId: own?.objectId ?? principalId,
    permissions: { ...own?.permissions, secrets: after },
  };
  return { empty: missing.length === 0, kind: "accessPolicy", principalId, principalDescription, before, after, entry };
}

/** Compares before writing: an equal value is never written again, so re-runs create no versions. Pure. */
export function planSecret(secret: SecretEntry, current: CurrentSecret): SecretPlan {
  switch (current.state) {
    case "absent":
      return { secret, action: "create" };
    case "deleted":
      return { secret, action: "recover" };
    case "present":
      return { secret, action: current.value === secret.value ? "unchanged" : "update" };
  }
}

/** Key Vault's data actions for the secret writes (built-in-roles/security.md, Key Vault Secrets Officer: `Microsoft.KeyVault/vaults/secrets/*`). */
const SECRET_DATA_ACTIONS = {
  set: "Microsoft.KeyVault/vaults/secrets/setSecret/action",
  recover: "Microsoft.KeyVault/vaults/secrets/recover/action",
} as const;

/**
 * The writes the plans make (core/permissions.ts): the grant at the vault, and, on a vault that uses
 * Azure RBAC, each secret's data action at the secret (a role on the vault or above covers every
 * secret; one on a single secret shows only there). On a vault with access policies the secret
 * permissions are the vault's own (a policy may name a group the identity is in): Key Vault checks
 * them at the call.
 */
export function plannedWrites(vault: VaultState, grant: GrantPlan | undefined, secrets: readonly SecretPlan[]): PlannedWrite[] {
  const writes: PlannedWrite[] = [];
  if (grant && !grant.empty) {
    writes.push(
      grant.kind === "role"
        ? roleGrantWrite(grant)
        : {
            action: "Microsoft.KeyVault/vaults/accessPolicies/write",
            scope: vault.id,
            purpose: `add the secret permissions ${grant.after.filter((p) => !grant.before.includes(p)).join(",")} to the access policy of ${grant.principalDescription}`,
          },
    );
  }
  if (vault.model !== "rbac") return writes;
  for (const { secret, action } of secrets) {
    if (action === "unchanged") continue;
    writes.push({
      action: action === "recover" ? SECRET_DATA_ACTIONS.recover : SECRET_DATA_ACTIONS.set,
      scope: `${vault.id}/secrets/${secret.name}`,
      inheritsFrom: vault.id,
      dataAction: true,
      purpose:
        action === "create"
          ? `create the secret '${secret.name}'`
          : action === "update"
            ? `write a new version of the secret '${secret.name}'`
            : `recover the soft-deleted secret '${secret.name}'`,
    });
  }
  return writes;
}
