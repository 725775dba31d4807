import type { AzureClients } from "../../core/azure";
import {
  CLUSTER_WRITE_ACTION,
  clusterClient,
  clusterResourceId,
  describeCluster,
  readCluster,
  updateCluster,
  type ClusterRef,
  type ManagedCluster,
} from "../../core/cluster";
import type { JobScopedFirewall, PlannedList } from "../../core/job-scoped-access/access";
import { HoldLinks } from "../../core/job-scoped-access/ledger";

/** The cluster as read, with only its authorized IP ranges replaced. */
export function withRanges(cluster: ManagedCluster, after: string[]): ManagedCluster {
  return { ...cluster, apiServerAccessProfile: { ...cluster.apiServerAccessProfile, authorizedIPRanges: after } };
}

/**
 * The API server's authorized IP ranges as the firewall job-scoped access opens: written with the
 * whole cluster in a conditional PUT (core/cluster.ts), so a concurrent change is re-read and
 * re-planned, never overwritten. An empty list opens the API server to every address.
 */
export function clusterFirewall(clients: AzureClients, ref: ClusterRef, busyTimeoutMs: number): JobScopedFirewall<ManagedCluster> {
  const target = describeCluster(ref);
  const client = clusterClient(clients);
  return {
    target,
    links: new HoldLinks(client, clusterResourceId(clients.connection.subscriptionId, ref), target),
    writeAction: CLUSTER_WRITE_ACTION,
    listName: "the API server's authorized IP ranges",
    emptyListAdmitsEveryone: true,
    conditional: true,
    read: () => readCluster(client, ref),
    entries: (cluster) => [...(cluster.apiServerAccessProfile?.authorizedIPRanges ?? [])],
    tags: (cluster) => cluster.tags,
    async update<P extends PlannedList>(state: ManagedCluster, plan: (state: ManagedCluster) => P) {
      const result = await updateCluster(client, ref, {
        initial: state,
        plan,
        apply: (cluster, planned) => withRanges(cluster, planned.after),
        dryRun: false,
        busyTimeoutMs,
      });
      return { plan: result.plan, written: result.written, state: result.after, contended: result.contended };
    },
  };
}
