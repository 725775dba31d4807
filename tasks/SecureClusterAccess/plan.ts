import { clusterWrite, type ManagedCluster } from "../../core/cluster";
import { TaskError } from "../../core/errors";
import type { PlannedWrite } from "../../core/permissions";
import type { ResolvedGrantee } from "../../core/principals";
import { BUILT_IN_ROLES, planRoleGrant, roleGrantWrite, type AssignmentSeen, type RoleGrantPlan } from "../../core/roles";
import { CLUSTER_ROLES, type GrantRequest } from "./inputs";

/** How users sign in to the API server with Entra ID: not at all, the legacy integration (own apps), or AKS-managed. */
export type EntraIntegration = "none" | "legacy" | "managed";

/** The cluster's sign-in and authorization settings this task owns. */
export interface AccessSettings {
  entra: EntraIntegration;
  adminGroups: string[];
  azureRbac: boolean;
  localAccountsDisabled: boolean;
}

export function accessSettingsOf(cluster: ManagedCluster): AccessSettings {
  const aad = cluster.aadProfile;
  return {
    entra: aad?.managed === true ? "managed" : aad ? "legacy" : "none",
    adminGroups: [...(aad?.adminGroupObjectIDs ?? [])],
    azureRbac: aad?.enableAzureRbac === true,
    localAccountsDisabled: cluster.disableLocalAccounts === true,
  };
}

/** The cluster change: its settings before and after, and what of it cannot be undone. */
export interface ClusterAccessPlan {
  readonly empty: boolean;
  before: AccessSettings;
  after: AccessSettings;
  /** Sentences naming each irreversible step of the change. */
  irreversible: string[];
}

/** Who administers the cluster through Azure role assignments, once this run's grants exist. */
export interface Administrators {
  /** Holders of Azure Kubernetes Service RBAC Admin or Cluster Admin on the cluster (or above it). */
  existing: string[];
  /** This run's clusterAdmin/admin grants at cluster scope. */
  granted: string[];
  /** admin/clusterAdmin grants limited to a namespace: they administer no cluster. */
  namespaceOnly: string[];
  /** The connection may not read role assignments: existing ones could not be counted. */
  unreadable: boolean;
}

export interface AccessWant {
  adminGroupObjectIds: readonly string[];
  azureRbac: boolean;
  disableLocalAccounts: boolean;
  /** The tenant the connection signs in to, which is the subscription's. */
  tenantId: string;
  /** clusterRoleGrants has lines. */
  hasGrants: boolean;
  administrators: Administrators;
  /** e.g. "managed cluster 'aks' in resource group 'rg'". */
  cluster: string;
}

export const IRREVERSIBLE_ENTRA =
  "AKS-managed Microsoft Entra ID cannot be turned off again once it is on (AKS docs: the integration can't be disabled).";

/**
 * Pure: the cluster's sign-in settings after this task, or a refusal before anything is written.
 * Entra ID becomes AKS-managed (a legacy integration is migrated by the same change), the admin
 * groups are added to the cluster's own, Azure RBAC and the local-account switch only ever move
 * towards the hardened side. Everything else of the cluster is left as it is.
 */
export function planClusterAccess(want: AccessWant, cluster: ManagedCluster): ClusterAccessPlan {
  if (cluster.enableRbac === false) {
    throw new TaskError(
      `The ${want.cluster} was created without Kubernetes RBAC (enableRBAC false), which AKS fixes at creation: AKS-managed Microsoft Entra ID and Azure RBAC are not supported on it, and RBAC cannot be turned on later. Create a new cluster (az aks create keeps RBAC on unless --disable-rbac is given) and move the workloads; nothing was changed.`,
    );
  }
  const before = accessSettingsOf(cluster);
  const after: AccessSettings = {
    entra: "managed",
    adminGroups: [...before.adminGroups, ...want.adminGroupObjectIds.filter((g) => !before.adminGroups.some((b) => b.toLowerCase() === g))],
    azureRbac: before.azureRbac || want.azureRbac,
    localAccountsDisabled: before.localAccountsDisabled || want.disableLocalAccounts,
  };
  const tenant = cluster.aadProfile?.tenantID;
  if (after.azureRbac && !before.azureRbac && tenant && tenant.toLowerCase() !== want.tenantId.toLowerCase()) {
    throw new TaskError(
      `The ${want.cluster} signs users in from tenant ${tenant}, not from its subscription's tenant ${want.tenantId}: Azure RBAC for Kubernetes authorization needs the two to be the same (AKS docs). Set azureRbac: false, or move the cluster's Entra integration to the subscription's tenant; nothing was changed.`,
    );
  }
  if (want.hasGrants && !after.azureRbac) {
    throw new TaskError(
      `clusterRoleGrants: the Azure Kubernetes Service RBAC roles take effect only with Azure RBAC for Kubernetes authorization, which the ${want.cluster} does not use and azureRbac: false leaves off. Set azureRbac: true, or remove the grants and bind the principals with Kubernetes RoleBindings instead; nothing was changed.`,
    );
  }
  if (after.localAccountsDisabled && !before.localAccountsDisabled) refuseLockOut(want, after);

  const irreversible = before.entra === "managed" ? [] : [IRREVERSIBLE_ENTRA];
  const empty =
    before.entra === after.entra &&
    before.azureRbac === after.azureRbac &&
    before.localAccountsDisabled === after.localAccountsDisabled &&
    before.adminGroups.length === after.adminGroups.length;
  return { empty, before, after, irreversible };
}

/**
 * With local accounts off, only Entra ID signs anyone in: someone must be able to administer the
 * cluster through it afterwards, an admin group (bound to cluster-admin by AKS) or a holder of Azure
 * Kubernetes Service RBAC Admin or Cluster Admin on the whole cluster (with Azure RBAC on).
 */
function refuseLockOut(want: AccessWant, after: AccessSettings): void {
  const admins = want.administrators;
  if (after.adminGroups.length > 0) return;
  if (after.azureRbac && (admins.existing.length > 0 || admins.granted.length > 0)) return;
  const missing = [
    "no Entra admin group (adminGroupObjectIds is empty and the cluster has none)",
    after.azureRbac
      ? `no one holds Azure Kubernetes Service RBAC Admin or Cluster Admin on the whole cluster (clusterRoleGrants has no 'clusterAdmin' or 'admin' line without a namespace${admins.namespaceOnly.length ? `; ${admins.namespaceOnly.join(", ")} ${admins.namespaceOnly.length === 1 ? "is" : "are"} limited to a namespace, which administers no cluster` : ""}${admins.unreadable ? "; the service connection may not read the role assignments on the cluster, so existing ones were not counted" : ""})`
      : "no role grant can stand in for one, since Azure RBAC stays off (azureRbac: false)",
  ];
  throw new TaskError(
    `disableLocalAccounts: turning local accounts off would lock everyone out of the ${want.cluster}: afterwards only Microsoft Entra ID signs anyone in, and there would be ${missing.join(", and ")}. ` +
      `Add a group's object ID to adminGroupObjectIds, or a line '<object ID> clusterAdmin' to clusterRoleGrants, or set disableLocalAccounts: false; nothing was changed.`,
  );
}

/** The cluster to PUT: the one read, with only the sign-in settings changed. */
export function withClusterAccess(cluster: ManagedCluster, plan: ClusterAccessPlan): ManagedCluster {
  const aad = cluster.aadProfile ?? {};
  // A legacy integration's apps go: AKS-managed Entra ID has none (az aks update --enable-aad sends a fresh profile).
  const { clientAppID: _client, serverAppID: _server, serverAppSecret: _secret, ...kept } = aad;
  return {
    ...cluster,
    aadProfile: {
      ...kept,
      managed: true,
      enableAzureRbac: plan.after.azureRbac,
      adminGroupObjectIDs: plan.after.adminGroups,
    },
    disableLocalAccounts: plan.after.localAccountsDisabled,
  };
}

/** One clusterRoleGrants line, with its principal and scope, against the assignments Azure has. */
export interface PlannedGrant {
  request: GrantRequest;
  principal: ResolvedGrantee;
  plan: RoleGrantPlan;
}

/** The writes the plans make: each missing grant at its scope (the cluster or a namespace of it), and the cluster. */
export function plannedWrites(clusterId: string, cluster: ClusterAccessPlan, grants: readonly PlannedGrant[]): PlannedWrite[] {
  return [
    ...grants.filter((g) => !g.plan.empty).map((g) => roleGrantWrite(g.plan)),
    ...(cluster.empty ? [] : [clusterWrite(clusterId, "change how users sign in to the cluster")]),
  ];
}

export function grantScope(clusterId: string, namespace: string | undefined): string {
  return namespace ? `${clusterId}/namespaces/${namespace}` : clusterId;
}

/** Pure: each grant at its scope (the cluster, or `<cluster>/namespaces/<namespace>`), found or to be created. */
export function planGrants(
  grants: readonly GrantRequest[],
  principals: readonly ResolvedGrantee[],
  clusterId: string,
  assignments: readonly AssignmentSeen[],
): PlannedGrant[] {
  return grants.map((request, i) => {
    const principal = principals[i]!;
    const plan = planRoleGrant(
      {
        role: CLUSTER_ROLES[request.role],
        scope: grantScope(clusterId, request.namespace),
        principalId: principal.principalId,
        principalDescription: principal.description,
        ...(principal.principalType ? { principalType: principal.principalType } : {}),
      },
      assignments,
    );
    return { request, principal, plan };
  });
}

const ADMIN_ROLES = [BUILT_IN_ROLES["Azure Kubernetes Service RBAC Admin"], BUILT_IN_ROLES["Azure Kubernetes Service RBAC Cluster Admin"]];

/** Pure: who administers the whole cluster through role assignments, now and with this run's grants. */
export function administratorsOf(
  clusterId: string,
  assignments: readonly AssignmentSeen[] | undefined,
  grants: readonly PlannedGrant[],
): Administrators {
  const cluster = clusterId.toLowerCase();
  const existing = (assignments ?? [])
    .filter((a) => {
      const scope = (a.scope ?? "").toLowerCase().replace(/\/+$/, "");
      const role = (a.roleDefinitionId ?? "").split("/").pop()?.toLowerCase() ?? "";
      return (
        ADMIN_ROLES.includes(role as (typeof ADMIN_ROLES)[number]) && scope !== "" && (cluster === scope || cluster.startsWith(`${scope}/`))
      );
    })
    .map((a) => `object ID ${a.principalId ?? "?"}`);
  const adminGrants = grants.filter((g) => g.request.role === "admin" || g.request.role === "clusterAdmin");
  return {
    existing,
    granted: adminGrants.filter((g) => !g.request.namespace).map((g) => g.principal.description),
    namespaceOnly: adminGrants
      .filter((g) => g.request.namespace)
      .map((g) => `${g.request.role} for ${g.principal.description} in '${g.request.namespace}'`),
    unreadable: assignments === undefined,
  };
}
