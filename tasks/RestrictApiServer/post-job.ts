import * as tl from "azure-pipelines-task-lib/task";
import { AzureClients } from "../../core/azure";
import { describeCluster, type ClusterRef } from "../../core/cluster";
import { describeFailure, TaskError } from "../../core/errors";
import { JOB_SCOPED_IPS_TAG } from "../../core/job-scoped-ips";
import { publishReport } from "../../core/report";
import { runTask } from "../../core/run";
import { AGENT_IP_TASK_VARIABLE, applyRanges, currentJob, LEFT_BEHIND_TASK_VARIABLE } from "./apply";
import { readPostJobRequest } from "./inputs";
import { isRangeError, parseIpv4Range } from "./ranges";
import { planJobScopedRelease } from "./plan";
import { releaseReport } from "./report";

// Post-job step, loaded by post.ts when the main step left something to close: runs after the job,
// whatever its result (also when it was cancelled), and closes the agent's IP that the main step
// opened for this job, with any an earlier job left behind.
void runTask(async () => {
  const ownCidr = tl.getTaskVariable(AGENT_IP_TASK_VARIABLE) || undefined;
  const leftBehind = (tl.getTaskVariable(LEFT_BEHIND_TASK_VARIABLE) ?? "").split(",").filter(Boolean);
  if (!ownCidr && leftBehind.length === 0) {
    console.log("The main step opened no job-scoped access; nothing to close.");
    return;
  }
  const request = readPostJobRequest();
  const clients = new AzureClients(request.connection);
  const job = currentJob();
  /** The list as last read, to tell the user exactly what to write if this step cannot. */
  let lastRead: string[] | undefined;
  try {
    const result = await applyRanges(clients, {
      ref: request,
      dryRun: false,
      busyTimeoutMs: request.busyTimeoutMs,
      plan: (access) => {
        lastRead = access.authorizedIPRanges;
        return planJobScopedRelease(job, access);
      },
    });
    publishReport(releaseReport(request, result.plan, result.written, ownCidr));
  } catch (error) {
    throw new TaskError(stillOpen(request, [...new Set([...(ownCidr ? [ownCidr] : []), ...leftBehind])], lastRead, describeFailure(error)));
  }
});

/**
 * The error of a post-job step that could not close: which address stays open on which cluster,
 * why, and the `az` command that closes it. `--api-server-authorized-ip-ranges` sets the whole
 * list, so the command carries the list as last read without these addresses.
 */
function stillOpen(ref: ClusterRef, cidrs: string[], lastRead: string[] | undefined, reason: string): string {
  const what = `${cidrs.join(", ")} ${cidrs.length === 1 ? "stays" : "stay"} authorized on the API server of ${describeCluster(ref)}`;
  const base = `az aks update --resource-group ${ref.resourceGroupName} --name ${ref.clusterName} --api-server-authorized-ip-ranges`;
  const remaining = lastRead?.filter((entry) => !cidrs.includes(canonicalCidr(entry)));
  let fix: string;
  if (!remaining) {
    const filter = cidrs.map((cidr) => `@ != '${cidr}'`).join(" && ");
    fix = `close it once the cluster can be updated: ${base} "$(az aks show --resource-group ${ref.resourceGroupName} --name ${ref.clusterName} --query "join(',', apiServerAccessProfile.authorizedIpRanges[?${filter}])" --output tsv)" (check first that the result is not empty: an empty list opens the API server to every address)`;
  } else if (remaining.length === 0) {
    fix =
      "it is the only authorized range, and an empty list would open the API server to every address: add the ranges that should have access, then remove it";
  } else {
    fix = `close it once the cluster can be updated: ${base} ${remaining.join(",")}`;
  }
  return (
    `The post-job step could not close the job-scoped access: ${what} (${reason.replace(/\.$/, "")}). ` +
    `The cluster's tag '${JOB_SCOPED_IPS_TAG}' still marks it as job-scoped, so a later run of RestrictApiServer on this cluster closes it after its own job (a run on this agent at once, any run once this job's timeout has passed); to close it now, ${fix}`
  );
}

function canonicalCidr(entry: string): string {
  const parsed = parseIpv4Range(entry.trim());
  return isRangeError(parsed) ? entry : parsed.cidr;
}
