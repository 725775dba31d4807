import * as tl from "azure-pipelines-task-lib/task";
import { readTogether, type AzureClients } from "../../core/azure";
import { clusterClient, clusterResourceId, describeCluster, readCluster, updateCluster, type ManagedCluster } from "../../core/cluster";
import { describeFailure } from "../../core/errors";
import { connectionPrincipal, resolveGrantees, type ResolvedGrantee } from "../../core/principals";
import { applyRoleGrant, listRoleAssignments, type AssignmentSeen, type RoleGrantResult } from "../../core/roles";
import type { SecureClusterAccessRequest } from "./inputs";
import {
  administratorsOf,
  planClusterAccess,
  planGrants,
  withClusterAccess,
  type AccessWant,
  type ClusterAccessPlan,
  type PlannedGrant,
} from "./plan";

export interface CurrentState {
  cluster: ManagedCluster;
  grants: PlannedGrant[];
  want: AccessWant;
}

/**
 * Everything the plan needs, in one round trip: the cluster, the principals of the grants (the
 * connection's own from its token; object IDs looked up among the subscription's managed identities)
 * and the role assignments on the cluster, its namespaces and above it (one list for every grant and
 * for the count of the cluster's administrators).
 */
export async function readCurrentState(clients: AzureClients, request: SecureClusterAccessRequest): Promise<CurrentState> {
  const clusterId = clusterResourceId(request.connection.subscriptionId, request);
  const ids = request.grants.flatMap((g) => (g.principal.kind === "id" ? [{ kind: "id" as const, id: g.principal.id }] : []));
  const [cluster, self, resolved, assignments] = await readTogether([
    readCluster(clusterClient(clients), request),
    request.grants.some((g) => g.principal.kind === "serviceConnection") ? connectionPrincipal(clients) : undefined,
    ids.length ? resolveGrantees(clients, ids) : [],
    readAssignments(clients, clusterId, request),
  ]);
  let next = 0;
  const principals: ResolvedGrantee[] = request.grants.map((g) => (g.principal.kind === "serviceConnection" ? self! : resolved[next++]!));
  const grants = planGrants(request.grants, principals, cluster.id ?? clusterId, assignments ?? []);
  return {
    cluster,
    grants,
    want: {
      adminGroupObjectIds: request.adminGroupObjectIds,
      azureRbac: request.azureRbac,
      disableLocalAccounts: request.disableLocalAccounts,
      tenantId: request.connection.tenantId,
      hasGrants: request.grants.length > 0,
      administrators: administratorsOf(cluster.id ?? clusterId, assignments, grants),
      cluster: describeCluster(request),
    },
  };
}

/**
 * The role assignments at the cluster. Without grants they only count the cluster's administrators
 * for the lock-out check, so a connection that may not read them goes on, and the check says so.
 */
async function readAssignments(
  clients: AzureClients,
  clusterId: string,
  request: SecureClusterAccessRequest,
): Promise<AssignmentSeen[] | undefined> {
  if (request.grants.length) return listRoleAssignments(clients, clusterId);
  if (!request.disableLocalAccounts) return [];
  try {
    return await listRoleAssignments(clients, clusterId);
  } catch (error) {
    tl.debug(`Role assignments on the cluster not readable: ${describeFailure(error)}`);
    return undefined;
  }
}

export interface ApplyResult {
  cluster: { plan: ClusterAccessPlan; before: ManagedCluster; after: ManagedCluster; written: boolean };
  grantResults: Map<PlannedGrant, RoleGrantResult>;
}

/**
 * The grants, then the cluster: when the lock-out check counted on a new clusterAdmin/admin grant, the
 * local accounts go off only once that grant exists (a failed grant then leaves them on). Otherwise
 * both are written at once.
 */
export async function applyAccess(
  clients: AzureClients,
  request: SecureClusterAccessRequest,
  state: CurrentState,
  plan: ClusterAccessPlan,
): Promise<ApplyResult> {
  const grantResults = new Map<PlannedGrant, RoleGrantResult>();
  const writeGrants = async () => {
    const missing = state.grants.filter((g) => !g.plan.empty);
    const results = await Promise.all(missing.map((g) => applyRoleGrant(clients, g.plan)));
    missing.forEach((g, i) => grantResults.set(g, results[i]!));
  };
  const writeCluster = () =>
    updateCluster(clusterClient(clients), request, {
      initial: state.cluster,
      plan: (cluster) => planClusterAccess(state.want, cluster),
      apply: withClusterAccess,
      dryRun: false,
      busyTimeoutMs: request.busyTimeoutMs,
    });
  const reliesOnNewGrant =
    plan.after.localAccountsDisabled &&
    !plan.before.localAccountsDisabled &&
    plan.after.adminGroups.length === 0 &&
    state.want.administrators.existing.length === 0;
  if (reliesOnNewGrant) {
    await writeGrants();
    return { cluster: await writeCluster(), grantResults };
  }
  const [cluster] = await Promise.all([writeCluster(), writeGrants()]);
  return { cluster, grantResults };
}
