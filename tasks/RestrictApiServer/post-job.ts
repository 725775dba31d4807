import { AzureClients } from "../../core/azure";
import { clusterResourceId, describeCluster, type ClusterRef, type ManagedCluster } from "../../core/cluster";
import { describeFailure, TaskError } from "../../core/errors";
import { sameEntry } from "../../core/job-scoped-access/addresses";
import { closeJobScopedAccess, holdsLeftBehind, openedByMainStep } from "../../core/job-scoped-access/post-job";
import type { OpenedForJob } from "../../core/job-scoped-access/task-variable";
import { CallerPermissions } from "../../core/permissions";
import { runTask } from "../../core/run";
import { clusterFirewall } from "./apply";
import { readPostJobRequest } from "./inputs";

// Post-job step, loaded by post.ts when the main step opened job-scoped access: runs after the job,
// whatever its result (also when it was cancelled), lets go of this job's holds and closes every
// address no running job holds any more.
void runTask(async () => {
  const opened = openedByMainStep();
  if (!opened) return;
  const request = readPostJobRequest();
  const clients = new AzureClients(request.connection);
  if (opened.resourceId.toLowerCase() !== clusterResourceId(clients.connection.subscriptionId, request).toLowerCase()) {
    throw new TaskError(
      `The main step opened job-scoped access on ${opened.resourceId}, not on ${describeCluster(request)}; the post-job step closes nothing it was not given (were the inputs changed between the steps?).`,
    );
  }
  const base = clusterFirewall(clients, request, request.busyTimeoutMs);
  /** The list as last read, to tell the user exactly what to write if this step cannot. */
  let lastRead: ManagedCluster | undefined;
  const firewall = { ...base, read: async () => (lastRead = await base.read()) };
  try {
    await closeJobScopedAccess(firewall, {
      opened,
      title: `Close job-scoped access: ${request.clusterName}`,
      setting: "Authorized IP ranges",
      permissions: new CallerPermissions(clients),
    });
  } catch (error) {
    throw new TaskError(stillOpen(request, opened, lastRead && base.entries(lastRead), error));
  }
});

/**
 * The error of a post-job step that could not close: which address stays open on which cluster,
 * why, what becomes of its hold, and the `az` command that closes it. `--api-server-authorized-ip-ranges`
 * sets the whole list, so the command carries the list as last read without these addresses.
 */
function stillOpen(ref: ClusterRef, opened: OpenedForJob, lastRead: string[] | undefined, error: unknown): string {
  const cidrs = opened.addresses;
  const reason = describeFailure(error);
  const what = `${cidrs.join(", ")} ${cidrs.length === 1 ? "stays" : "stay"} authorized on the API server of ${describeCluster(ref)}`;
  const base = `az aks update --resource-group ${ref.resourceGroupName} --name ${ref.clusterName} --api-server-authorized-ip-ranges`;
  const remaining = lastRead?.filter((entry) => !cidrs.some((cidr) => sameEntry(entry, cidr)));
  let fix: string;
  if (!remaining) {
    const filter = cidrs.map((cidr) => `@ != '${cidr}'`).join(" && ");
    fix = `To close it by hand once the cluster can be updated: ${base} "$(az aks show --resource-group ${ref.resourceGroupName} --name ${ref.clusterName} --query "join(',', apiServerAccessProfile.authorizedIpRanges[?${filter}])" --output tsv)" (check first that the result is not empty: an empty list opens the API server to every address)`;
  } else if (remaining.length === 0) {
    fix =
      "It is the only authorized range, and an empty list would open the API server to every address: add the ranges that should have access, then remove it";
  } else {
    fix = `To close it by hand once the cluster can be updated: ${base} ${remaining.join(",")}`;
  }
  return (
    `The post-job step could not close the job-scoped access: ${what} (${reason.replace(/\.$/, "")}). ` +
    `${holdsLeftBehind({ error, opened, resource: "cluster", laterRun: "run of this task on this cluster" })}. ${fix}`
  );
}
