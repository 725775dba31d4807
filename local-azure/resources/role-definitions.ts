import { newGuid } from "../jwt";
import type { ArmResource, ResourceStore } from "../store";

/**
 * Role definitions and what a principal may do with them at a scope: the model behind ARM's
 * permissions list (`{scope}/providers/Microsoft.Authorization/permissions`, routes/permissions.ts).
 */

/** A role definition's permission block, as ARM answers it (spec: Permission, 2022-04-01). */
export interface RolePermission {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

const ROLE_DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions";

const only = (actions: string[], notActions: string[] = []): RolePermission[] => [
  { actions, notActions, dataActions: [], notDataActions: [] },
];

/** The control-plane actions of the Key Vault data roles (security.md): reading the vault, nothing written. */
const KEY_VAULT_READS = [
  "Microsoft.Authorization/*/read",
  "Microsoft.Insights/alertRules/*",
  "Microsoft.Resources/deployments/*",
  "Microsoft.Resources/subscriptions/resourceGroups/read",
  "Microsoft.Support/*",
  "Microsoft.KeyVault/checkNameAvailability/read",
  "Microsoft.KeyVault/deletedVaults/read",
  "Microsoft.KeyVault/locations/*/read",
  "Microsoft.KeyVault/vaults/*/read",
  "Microsoft.KeyVault/operations/read",
];
const withData = (actions: string[], dataActions: string[]): RolePermission[] => [
  { actions, notActions: [], dataActions, notDataActions: [] },
];

/**
 * The built-in roles a connection of the local Azure holds, with their permissions as published in
 * "Azure built-in roles" (MicrosoftDocs/azure-docs, articles/role-based-access-control/built-in-roles/
 * privileged.md: Owner, Contributor, User Access Administrator, Role Based Access Control
 * Administrator; general.md: Reader; management-and-governance.md: Resource Policy Contributor;
 * security.md: the Key Vault data roles, whose `dataActions` the vault data plane checks too). A role
 * assignment naming another built-in role (the AKS RBAC and identity roles the tasks grant to
 * workloads) adds nothing to the list here: its permissions are not carried.
 */
export const BUILT_IN_ROLE_PERMISSIONS: Record<string, { roleName: string; permissions: RolePermission[] }> = {
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": { roleName: "Owner", permissions: only(["*"]) },
  "b24988ac-6180-42a0-ab88-20f7382dd24c": {
    roleName: "Contributor",
    permissions: only(
      ["*"],
      [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
        "Microsoft.Blueprint/blueprintAssignments/write",
        "Microsoft.Blueprint/blueprintAssignments/delete",
        "Microsoft.Compute/galleries/share/action",
        "Microsoft.Purview/consents/write",
        "Microsoft.Purview/consents/delete",
        "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
        "Microsoft.Subscription/cancel/action",
        "Microsoft.Subscription/enable/action",
      ],
    ),
  },
  "acdd72a7-3385-48ef-bd42-f606fba81ae7": { roleName: "Reader", permissions: only(["*/read"]) },
  "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": {
    roleName: "User Access Administrator",
    permissions: only(["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"]),
  },
  "f58310d9-a9f6-439a-9e8d-f62e7b41a168": {
    roleName: "Role Based Access Control Administrator",
    permissions: only([
      "Microsoft.Authorization/roleAssignments/write",
      "Microsoft.Authorization/roleAssignments/delete",
      "*/read",
      "Microsoft.Support/*",
    ]),
  },
  "36243c78-bf99-498c-9df9-86d9f8d28608": {
    roleName: "Resource Policy Contributor",
    permissions: only([
      "*/read",
      "Microsoft.Authorization/policyassignments/*",
      "Microsoft.Authorization/policydefinitions/*",
      "Microsoft.Authorization/policyexemptions/*",
      "Microsoft.Authorization/policysetdefinitions/*",
      "Microsoft.PolicyInsights/*",
      "Microsoft.Resources/deployments/*",
      "Microsoft.Support/*",
    ]),
  },
  "00482a5a-887f-4fb3-b363-3b7fe8e74483": {
    roleName: "Key Vault Administrator",
    permissions: withData(KEY_VAULT_READS, ["Microsoft.KeyVault/vaults/*"]),
  },
  "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": {
    roleName: "Key Vault Secrets Officer",
    permissions: withData(KEY_VAULT_READS, ["Microsoft.KeyVault/vaults/secrets/*"]),
  },
  "4633458b-17de-408a-b874-0445c86b69e6": {
    roleName: "Key Vault Secrets User",
    permissions: withData(
      [],
      ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
    ),
  },
};

export const OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

const roleGuid = (roleDefinitionId: string) => roleDefinitionId.split("/").pop()!.toLowerCase();

/** A custom role of the subscription (`az role definition create`), for a test to give a principal less than Owner. */
export function addCustomRole(store: ResourceStore, p: { roleName: string; permissions: RolePermission[] }): ArmResource {
  const name = newGuid();
  return store.put({
    id: `/subscriptions/${store.subscriptionId}/providers/${ROLE_DEFINITION_TYPE}/${name}`,
    name,
    type: ROLE_DEFINITION_TYPE,
    properties: {
      roleName: p.roleName,
      type: "CustomRole",
      permissions: p.permissions,
      assignableScopes: [`/subscriptions/${store.subscriptionId}`],
    },
  });
}

/**
 * A role assignment made outside the tasks (the connection's own role, given when it was set up),
 * stored as the role assignment routes store one.
 */
export function assignRole(
  store: ResourceStore,
  p: { principalId: string; roleDefinitionId: string; scope: string; principalType?: string },
): ArmResource {
  const name = newGuid();
  const now = store.now().toISOString();
  const subscription = `/subscriptions/${store.subscriptionId}`;
  return store.put({
    id: `${p.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    type: "Microsoft.Authorization/roleAssignments",
    properties: {
      roleDefinitionId: `${subscription}/providers/${ROLE_DEFINITION_TYPE}/${roleGuid(p.roleDefinitionId)}`,
      principalId: p.principalId,
      principalType: p.principalType ?? store.directory.principalType(p.principalId) ?? "ServicePrincipal",
      scope: p.scope,
      condition: null,
      conditionVersion: null,
      createdOn: now,
      updatedOn: now,
      createdBy: null,
      updatedBy: null,
      delegatedManagedIdentityResourceId: null,
      description: null,
    },
  });
}

/** Takes away every role the principal holds (at any scope): a test then gives it exactly the one it means. */
export function removeRoles(store: ResourceStore, principalId: string): void {
  for (const assignment of store.listByType("Microsoft.Authorization/roleAssignments")) {
    if (String(assignment.properties?.["principalId"]).toLowerCase() === principalId.toLowerCase()) store.delete(assignment.id);
  }
}

/** The permission blocks of one role definition: a built-in one above, or a custom one of the store. */
export function permissionsOf(store: ResourceStore, roleDefinitionId: string): RolePermission[] {
  const guid = roleGuid(roleDefinitionId);
  const builtIn = BUILT_IN_ROLE_PERMISSIONS[guid];
  if (builtIn) return builtIn.permissions;
  const custom = store.get(`/subscriptions/${store.subscriptionId}/providers/${ROLE_DEFINITION_TYPE}/${guid}`);
  return (custom?.properties?.["permissions"] as RolePermission[] | undefined) ?? [];
}

/**
 * The permissions list ARM answers a caller for a scope: one entry per permission block of each role
 * the caller holds at the scope or above it (role assignments at the scope or an ancestor apply to
 * it; those below it do not). An assignment still propagating (store.roleAssignmentPropagationChecks)
 * is not in it yet; reading the list does not count towards its propagation, which the checks AKS and
 * the API server make count.
 */
export function permissionsAt(store: ResourceStore, principalId: string, scope: string): RolePermission[] {
  const target = scope.toLowerCase().replace(/\/+$/, "");
  return store.listByType("Microsoft.Authorization/roleAssignments").flatMap((assignment) => {
    const p = assignment.properties as { scope?: string; principalId?: string; roleDefinitionId?: string };
    const at = (p.scope ?? "").toLowerCase().replace(/\/+$/, "");
    const applies = p.principalId?.toLowerCase() === principalId.toLowerCase() && (target === at || target.startsWith(`${at}/`));
    const propagating = store.roleAssignmentPropagation(assignment.id)?.ended === false;
    return applies && !propagating ? permissionsOf(store, p.roleDefinitionId ?? "") : [];
  });
}

const wildcard = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");

/**
 * Whether the permissions hold a (control-plane) action: some block lists it in `actions` (with
 * wildcards, in any letter case) and does not take it out in its own `notActions`; a `notActions` of
 * one role takes nothing from another (role-definitions.md: NotActions "is not a deny rule").
 */
export function holdsAction(permissions: readonly RolePermission[], action: string): boolean {
  return permissions.some((p) => p.actions.some((a) => wildcard(a).test(action)) && !p.notActions.some((a) => wildcard(a).test(action)));
}

/** Whether the permissions hold a data action: some block lists it in `dataActions` and does not take it out in its own `notDataActions`. */
export function holdsDataAction(permissions: readonly RolePermission[], dataAction: string): boolean {
  return permissions.some(
    (p) => p.dataActions.some((a) => wildcard(a).test(dataAction)) && !p.notDataActions.some((a) => wildcard(a).test(dataAction)),
  );
}
