import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError, listProblems } from "../../core/errors";
import {
  inputLines,
  readBoolean,
  readClusterName,
  readListEntries,
  readResourceGroupName,
  readSecondsVariable,
  readString,
  whereTyped,
} from "../../core/inputs";
import { isGuid } from "../../core/names";
import type { BuiltInRole } from "../../core/roles";

/** The four AKS RBAC built-in roles, by the names the input uses. */
export const CLUSTER_ROLES = {
  reader: "Azure Kubernetes Service RBAC Reader",
  writer: "Azure Kubernetes Service RBAC Writer",
  admin: "Azure Kubernetes Service RBAC Admin",
  clusterAdmin: "Azure Kubernetes Service RBAC Cluster Admin",
} as const satisfies Record<string, BuiltInRole>;
export type ClusterRole = keyof typeof CLUSTER_ROLES;
const ROLE_KEYS = Object.keys(CLUSTER_ROLES) as ClusterRole[];

/** The word that stands for the pipeline's own principal. */
export const SERVICE_CONNECTION = "serviceConnection";

/** One line of clusterRoleGrants. */
export interface GrantRequest {
  /** An object ID (lower case), or the service connection's own principal. */
  principal: { kind: "serviceConnection" } | { kind: "id"; id: string };
  role: ClusterRole;
  /** Absent: the whole cluster. */
  namespace?: string;
}

export interface SecureClusterAccessRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  /** Groups to make administrators of the cluster (added to the ones it has). */
  adminGroupObjectIds: string[];
  /** Turn Azure RBAC for Kubernetes authorization on (false: leave it as it is). */
  azureRbac: boolean;
  /** Turn local accounts off (false: leave them as they are). */
  disableLocalAccounts: boolean;
  grants: GrantRequest[];
  dryRun: boolean;
  busyTimeoutMs: number;
  /** How long the pipeline's own new role assignment is waited for, until the API server allows it. */
  roleAssignmentWaitMs: number;
}

/** Pipeline variable: how long the task waits for the pipeline's own grant to take effect. */
export const ROLE_ASSIGNMENT_WAIT_VARIABLE = "AksHardening.RoleAssignmentWaitSeconds";
/**
 * AKS: "New role assignments can take up to five minutes to propagate and be updated by the
 * authorization server" (entra-id-authorization.md), and the API server caches the webhook's denial
 * for up to five minutes more (kube-apiserver --authorization-webhook-cache-unauthorized-ttl, default
 * 5m, as kubeguard/guard's azure.go documents): ten minutes in all.
 */
const DEFAULT_ROLE_ASSIGNMENT_WAIT_SECONDS = 600;

export function readRequest(): SecureClusterAccessRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  const clusterName = readClusterName();
  return {
    connection,
    resourceGroupName,
    clusterName,
    adminGroupObjectIds: parseAdminGroups(readString("adminGroupObjectIds") ?? ""),
    azureRbac: readBoolean("azureRbac", true),
    disableLocalAccounts: readBoolean("disableLocalAccounts", true),
    grants: parseGrants(readString("clusterRoleGrants") ?? ""),
    dryRun: readBoolean("dryRun", false),
    busyTimeoutMs: readSecondsVariable("AksHardening.ClusterBusyTimeoutSeconds", 1200) * 1000,
    roleAssignmentWaitMs: readSecondsVariable(ROLE_ASSIGNMENT_WAIT_VARIABLE, DEFAULT_ROLE_ASSIGNMENT_WAIT_SECONDS) * 1000,
  };
}

/** Object IDs of Entra groups, separated by commas, spaces or new lines, with `#` comments. */
export function parseAdminGroups(text: string): string[] {
  const groups: string[] = [];
  const bad: string[] = [];
  for (const entry of readListEntries(text)) {
    if (!isGuid(entry.text)) bad.push(`${whereTyped(text, entry)}'${entry.text}'`);
    else if (!groups.includes(entry.text.toLowerCase())) groups.push(entry.text.toLowerCase());
  }
  if (bad.length) {
    throw new InputError(
      "adminGroupObjectIds",
      `${bad.join(", ")} ${bad.length === 1 ? "is not an object ID" : "are not object IDs"}: give each Entra group by its object ID (a GUID, e.g. from az ad group show --group <name> --query id), not its name.`,
    );
  }
  return groups;
}

/** Kubernetes namespace names: DNS-1123 labels (1-63 lower-case letters, digits and '-', starting and ending with a letter or digit). */
const NAMESPACE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** Lines `<principal> <role> [namespace]`, with `#` comments; the same grant twice counts once. */
export function parseGrants(text: string): GrantRequest[] {
  const grants: GrantRequest[] = [];
  const problems: string[] = [];
  const multiline = /\r?\n./.test(text.trim());
  for (const { text: line, line: number } of inputLines(text, { trailingComments: true })) {
    const where = multiline ? `line ${number}: ` : "";
    const parts = line.split(/\s+/);
    if (parts.length < 2 || parts.length > 3) {
      problems.push(`${where}'${line}' is not '<principal> <role> [namespace]'.`);
      continue;
    }
    const [who, roleText, namespace] = parts as [string, string, string | undefined];
    const principal: GrantRequest["principal"] | undefined =
      who.toLowerCase() === SERVICE_CONNECTION.toLowerCase()
        ? { kind: "serviceConnection" }
        : isGuid(who)
          ? { kind: "id", id: who.toLowerCase() }
          : undefined;
    const role = ROLE_KEYS.find((key) => key.toLowerCase() === roleText.toLowerCase());
    if (!principal) {
      problems.push(
        `${where}'${who}' is neither an object ID (a GUID of a user, group, service principal or managed identity) nor '${SERVICE_CONNECTION}'.`,
      );
    }
    if (!role) problems.push(`${where}'${roleText}' is not a role; use ${ROLE_KEYS.join(", ")}.`);
    if (namespace !== undefined && !NAMESPACE.test(namespace)) {
      problems.push(
        `${where}'${namespace}' is not a Kubernetes namespace name (1-63 lower-case letters, digits or '-', starting and ending with a letter or digit).`,
      );
    }
    if (!principal || !role || problems.length) continue;
    const grant: GrantRequest = { principal, role, ...(namespace ? { namespace } : {}) };
    if (!grants.some((g) => sameGrant(g, grant))) grants.push(grant);
  }
  if (problems.length) throw new InputError("clusterRoleGrants", listProblems(problems));
  return grants;
}

function sameGrant(a: GrantRequest, b: GrantRequest): boolean {
  const who = (g: GrantRequest) => (g.principal.kind === "id" ? g.principal.id : SERVICE_CONNECTION);
  return who(a) === who(b) && a.role === b.role && a.namespace === b.namespace;
}
