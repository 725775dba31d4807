import { v5 as uuidv5 } from "uuid";
import type { AuthorizationManagementClient } from "@azure/arm-authorization";
import type { AzureClients } from "./azure";
import { azureErrorDetails, describeFailure, TaskError } from "./errors";
import type { PlannedWrite } from "./permissions";
import { backoffMs, formatDuration, WaitBudget } from "./wait-budget";

/**
 * Built-in role definition GUIDs (the same in every cloud). The four AKS RBAC roles are from
 * "Azure built-in roles for Containers" (MicrosoftDocs/azure-docs,
 * articles/role-based-access-control/built-in-roles/containers.md).
 */
export const BUILT_IN_ROLES = {
  Reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  // The Key Vault data-plane roles of "Azure built-in roles for Security" (MicrosoftDocs/azure-docs,
  // articles/role-based-access-control/built-in-roles/security.md), which the RBAC migration guide
  // (learn.microsoft.com/azure/key-vault/general/rbac-migration) maps access policies to.
  "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
  "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
  "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
  "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  "Key Vault Certificates Officer": "a4417e6f-fecd-4de8-b567-7b0420556985",
  "Key Vault Certificate User": "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
  "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
  "Azure Kubernetes Service RBAC Reader": "7f6c6a51-bcf8-42ba-9220-52d62157d7db",
  "Azure Kubernetes Service RBAC Writer": "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
  "Azure Kubernetes Service RBAC Admin": "3498e952-d568-435e-9b2c-8d77e338d7f7",
  "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
} as const;

export type BuiltInRole = keyof typeof BUILT_IN_ROLES;

/** One role for one principal at one scope. */
export interface RoleGrant {
  role: BuiltInRole;
  scope: string;
  principalId: string;
  /** For the report, e.g. "the cluster's control-plane identity". */
  principalDescription: string;
  /**
   * Set only when the task knows the principal is a service principal: a managed identity it read
   * from Azure Resource Manager (a user-assigned identity, the cluster's own identities). ARM checks a
   * sent type against the directory (400 UnmatchedPrincipalType), so an object ID the user typed,
   * which may be a user, a group or an app's service principal, is sent without one.
   */
  principalType?: "ServicePrincipal";
}

/** What the task did or found; `principalType` as Azure recorded it on the assignment, when it says. */
export interface RoleGrantResult {
  outcome: "created" | "existed";
  principalType?: string;
}

export interface RoleGrantPlan {
  readonly empty: boolean;
  grant: RoleGrant;
  /** The assignment that already grants the role (at the scope, or inherited from above it). */
  existing?: { id: string; scope: string; principalType?: string };
  /** The assignment's name when one is created: the same for the same scope, role and principal. */
  assignmentName: string;
}

/** A fixed namespace for deterministic role assignment names (UUID v5), so re-runs find their own. */
const ASSIGNMENT_NAMESPACE = "0f6d1b7e-5a3c-4e0b-9a57-3d2b8c1e4f60";

/**
 * Loaded on first use: the SDK is evaluated only by runs that read or write a role assignment
 * (KeyVaultSecrets on a vault with access policies never does).
 */
export async function authorizationClient(clients: AzureClients): Promise<AuthorizationManagementClient> {
  const { AuthorizationManagementClient } = await import("@azure/arm-authorization");
  return clients.client(
    "authorization",
    () => new AuthorizationManagementClient(clients.credential, clients.connection.subscriptionId, clients.classicArmOptions()),
  );
}

export function roleAssignmentName(grant: RoleGrant): string {
  return uuidv5(`${grant.scope.toLowerCase()}|${BUILT_IN_ROLES[grant.role]}|${grant.principalId.toLowerCase()}`, ASSIGNMENT_NAMESPACE);
}

export function roleDefinitionId(grant: RoleGrant): string {
  const subscription = /^\/subscriptions\/[^/]+/i.exec(grant.scope)?.[0] ?? "";
  return `${subscription}/providers/Microsoft.Authorization/roleDefinitions/${BUILT_IN_ROLES[grant.role]}`;
}

/** A role assignment as listed: what the planners compare. */
export interface AssignmentSeen {
  id?: string;
  scope?: string;
  roleDefinitionId?: string;
  principalId?: string;
  principalType?: string;
}

/** Pure: whether the principal already holds the role at the scope (directly or inherited). */
export function planRoleGrant(grant: RoleGrant, assignments: readonly AssignmentSeen[]): RoleGrantPlan {
  const scope = grant.scope.toLowerCase();
  const existing = assignments.find(
    (a) =>
      a.principalId?.toLowerCase() === grant.principalId.toLowerCase() &&
      a.roleDefinitionId?.toLowerCase().endsWith(`/${BUILT_IN_ROLES[grant.role]}`) &&
      a.scope !== undefined &&
      (scope === a.scope.toLowerCase() || scope.startsWith(`${a.scope.toLowerCase().replace(/\/+$/, "")}/`)),
  );
  return {
    empty: existing !== undefined,
    grant,
    ...(existing
      ? {
          existing: {
            id: existing.id ?? "",
            scope: existing.scope!,
            ...(existing.principalType ? { principalType: existing.principalType } : {}),
          },
        }
      : {}),
    assignmentName: roleAssignmentName(grant),
  };
}

/** The role assignment a grant plan will create, for the permission check before the first write (core/permissions.ts). */
export function roleGrantWrite(plan: RoleGrantPlan): PlannedWrite {
  return {
    action: "Microsoft.Authorization/roleAssignments/write",
    scope: plan.grant.scope,
    purpose: `assign '${plan.grant.role}' to ${plan.grant.principalDescription}`,
  };
}

export async function readRoleGrant(clients: AzureClients, grant: RoleGrant): Promise<RoleGrantPlan> {
  return planRoleGrant(grant, await listRoleAssignments(clients, grant.scope, `atScope() and assignedTo('${grant.principalId}')`));
}

/**
 * The role assignments ARM lists for a scope. Without a filter that is every assignment at the
 * scope, above it (inherited) and below it, for every principal: one read answers the grants of
 * several principals at the scope and its children (e.g. a cluster and its namespaces).
 */
export async function listRoleAssignments(clients: AzureClients, scope: string, filter?: string): Promise<AssignmentSeen[]> {
  const assignments: AssignmentSeen[] = [];
  try {
    const list = (await authorizationClient(clients)).roleAssignments.listForScope(scope, filter ? { filter } : {});
    for await (const assignment of list) assignments.push(assignment);
  } catch (error) {
    throw new TaskError(
      describeFailure(error, {
        action: `read the role assignments on ${scope}`,
        permission: "Microsoft.Authorization/roleAssignments/read",
      }),
    );
  }
  return assignments;
}

/**
 * Creates the role assignment under its deterministic name. An identical assignment under another
 * name (409 RoleAssignmentExists) counts as done. A principal that Entra has not replicated yet
 * (400 PrincipalNotFound, possible when no principalType is sent) is retried for a while.
 */
export async function applyRoleGrant(clients: AzureClients, plan: RoleGrantPlan, replicationTimeoutMs = 120_000): Promise<RoleGrantResult> {
  const { grant } = plan;
  const replication = new WaitBudget(replicationTimeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      const created = await (
        await authorizationClient(clients)
      ).roleAssignments.create(grant.scope, plan.assignmentName, {
        roleDefinitionId: roleDefinitionId(grant),
        principalId: grant.principalId,
        // Only a known type: it also spares a new identity ARM's directory lookup (PrincipalNotFound while it replicates).
        ...(grant.principalType ? { principalType: grant.principalType } : {}),
        description: "Created by AKS Hardening Tasks",
      });
      return { outcome: "created", ...(created.principalType ? { principalType: created.principalType } : {}) };
    } catch (error) {
      const { code } = azureErrorDetails(error);
      if (code === "RoleAssignmentExists") return { outcome: "existed" };
      const waitMs = backoffMs(attempt - 1, 2000, 15_000);
      if (code === "PrincipalNotFound" && replication.allows(waitMs)) {
        console.log(
          `Principal ${grant.principalId} is not in the directory yet (replication delay); trying again in ${formatDuration(waitMs)}.`,
        );
        await replication.wait(waitMs);
        continue;
      }
      throw new TaskError(
        describeFailure(error, {
          action: `assign '${grant.role}' to ${grant.principalDescription} on ${grant.scope}`,
          permission: "Microsoft.Authorization/roleAssignments/write",
        }),
      );
    }
  }
}

/**
 * For the summary: which kind of principal holds the grant, and how the task knows. `sentType` is what
 * the task knows (and sends) itself; `recorded` is the
 * principalType Azure returned on the assignment (created or found), when there is one.
 */
export function describePrincipalKind(
  sentType: RoleGrant["principalType"],
  recorded?: string,
  knownFrom = "a managed identity the task read from Azure Resource Manager",
): string {
  if (sentType) return `service principal: ${knownFrom} (sent as principalType)`;
  const kind = recorded && /^[A-Za-z]{1,40}$/.test(recorded) ? recorded : undefined;
  return kind
    ? `${kind}, as Azure recorded it on the role assignment (the task sent no principalType: an object ID alone does not say whether it is a user, a group or an app)`
    : "not known to the task: an object ID may be a user, a group or an app's service principal, so no principalType is sent and Azure looks it up";
}

/**
 * Waits until every created assignment is listed at its scope: ARM answers a new assignment at once,
 * but "it can take several minutes for role assignments to be applied" (Key Vault's RBAC migration
 * guide, learn.microsoft.com/azure/key-vault/general/rbac-migration), and a change that relies on
 * them (a vault switched to Azure RBAC) must not run before they are seen. One list per scope and
 * round, pauses from AksHardening.RetryDelaySeconds doubling up to 15 s, within `timeoutMs` of waiting.
 */
export async function waitUntilAssignmentsVisible(
  clients: AzureClients,
  plans: readonly RoleGrantPlan[],
  timeoutMs: number,
): Promise<void> {
  const budget = new WaitBudget(timeoutMs);
  const key = (p: RoleGrantPlan) => `${p.grant.principalId.toLowerCase()}|${BUILT_IN_ROLES[p.grant.role]}`;
  let missing = [...plans];
  for (let attempt = 0; missing.length > 0; attempt++) {
    const scopes = [...new Set(missing.map((p) => p.grant.scope))];
    const lists = await Promise.all(scopes.map((scope) => listRoleAssignments(clients, scope, "atScope()")));
    const seen = new Set(
      lists.flatMap((list) => list.map((a) => `${a.principalId?.toLowerCase()}|${a.roleDefinitionId?.split("/").pop()?.toLowerCase()}`)),
    );
    missing = missing.filter((p) => !seen.has(key(p)));
    if (missing.length === 0) return;
    const waitMs = backoffMs(attempt, 2000, 15_000);
    if (!budget.allows(waitMs)) {
      throw new TaskError(
        `${missing.length} role ${missing.length === 1 ? "assignment" : "assignments"} created by this run ${missing.length === 1 ? "is" : "are"} not listed yet after ${formatDuration(budget.totalMs)} (${missing.map((p) => `'${p.grant.role}' for ${p.grant.principalDescription}`).join("; ")}); nothing that depends on them was changed. Re-run the task in a few minutes (it finds the assignments made), or raise the pipeline variable AksHardening.RoleAssignmentWaitSeconds.`,
      );
    }
    console.log(`Waiting ${formatDuration(waitMs)} for ${missing.length} new role assignment(s) to be listed.`);
    await budget.wait(waitMs);
  }
}
