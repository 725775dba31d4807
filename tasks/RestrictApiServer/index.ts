import * as tl from "azure-pipelines-task-lib/task";
import { AzureClients, readTogether } from "../../core/azure";
import { apiServerHostProblem } from "../../core/api-server-host";
import { describeCluster } from "../../core/cluster";
import { applyJobScoped, readFirewall } from "../../core/job-scoped-access/access";
import { bareAddress } from "../../core/job-scoped-access/addresses";
import { findAgentEgress } from "../../core/job-scoped-access/egress";
import { currentJob } from "../../core/job-scoped-access/job";
import { LINK_PERMISSIONS } from "../../core/job-scoped-access/ledger";
import { formatOpened, JOB_SCOPED_ACCESS_TASK_VARIABLE } from "../../core/job-scoped-access/task-variable";
import { CallerPermissions, withPermissionWarnings, type PermissionCheck } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { clusterFirewall } from "./apply";
import { readRequest } from "./inputs";
import { clusterAccess, planAuthorizedRanges } from "./plan";
import { waitForApiServer } from "./reachability";
import { rangesReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  for (const input of request.ignored) tl.warning(`${input} is ignored with action '${request.action}'.`);
  const clients = new AzureClients(request.connection);
  const job = currentJob();
  const firewall = clusterFirewall(clients, request, request.busyTimeoutMs);
  const opensForJob = request.includeAgentIp && request.agentIpScope === "job";
  const permissions = new CallerPermissions(clients);
  // A job that opens the API server for itself writes its hold on nearly every run (each job has
  // its own): its permissions are read with the first reads, so the check costs no round trip.
  if (opensForJob) {
    permissions.prefetch([{ action: LINK_PERMISSIONS.write, scope: firewall.links.resourceId, purpose: "record this job's access" }]);
  }
  let permissionCheck: PermissionCheck | undefined;

  // The agent's addresses, the cluster and its holds do not depend on each other: one round trip.
  const [egress, read] = await readTogether([
    request.includeAgentIp ? findAgentEgress(request.agentIpServiceUrl, request.agentIpLookups) : undefined,
    readFirewall(firewall, job.now, { holdsRequired: opensForJob }),
  ]);
  const result = await applyJobScoped(firewall, {
    read,
    job,
    dryRun: request.dryRun,
    plan: (cluster, view) =>
      planAuthorizedRanges(
        {
          action: request.action,
          ranges: request.ranges,
          agentIpScope: request.agentIpScope,
          job,
          dryRun: request.dryRun,
          ...(egress ? { agentAddresses: egress.addresses } : {}),
        },
        clusterAccess(cluster),
        view,
      ),
    // Refused (or, in a dry run, warned about) before the first write: hold, list and deletions alike.
    check: async (writes) => {
      permissionCheck = await permissions.check(writes, { dryRun: request.dryRun });
    },
    // Left before the first write, so the post-job step closes what this job opened even if it is cancelled mid-write.
    beforeWrite: (plan) => {
      const addresses = plan.jobScoped.opened.map((opened) => opened.address);
      if (addresses.length) {
        tl.setTaskVariable(
          JOB_SCOPED_ACCESS_TASK_VARIABLE,
          formatOpened({ job: job.job, addresses, resourceId: firewall.links.resourceId }),
        );
      }
    },
  });
  const plan = result.plan;

  const report = rangesReport(request, plan, {
    written: result.written,
    dryRun: request.dryRun,
    ...(egress ? { egress } : {}),
    warnings: [...(read.holdsUnread ? [read.holdsUnread] : []), ...result.warnings],
  });
  publishReport(permissionCheck ? withPermissionWarnings(report, permissionCheck) : report);
  const lastingChange = plan.lastingAdded.length > 0 || plan.lastingRemoved.length > 0;
  const opened = request.dryRun ? [] : plan.jobScoped.opened.map((o) => o.address);
  setOutputs({
    authorizedIpRanges: (result.written ? (result.state.apiServerAccessProfile?.authorizedIPRanges ?? plan.after) : plan.before).join(","),
    agentIp: egress ? egress.addresses.map(bareAddress).join(",") : "",
    jobScopedAccess: opened.join(","),
    changed: String(!request.dryRun && lastingChange && (result.written || plan.jobScoped.remove.length > 0)),
  });

  // The next step's kubectl needs the API server to answer, not just the list to say so.
  const restricted = (result.written ? plan.after : plan.before).length > 0;
  if (egress && !request.dryRun && restricted && request.apiServerWaitMs > 0) {
    const fqdn = result.state.fqdn ?? read.state.fqdn;
    // Text from Azure: only an API server host of the connection's cloud is probed (and printed).
    const hostProblem = apiServerHostProblem(fqdn, request.connection.environment);
    if (hostProblem) {
      tl.warning(
        `${describeCluster(request)} ${hostProblem}, so the task does not connect to it and cannot check that the API server admits this agent.`,
      );
      return;
    }
    await waitForApiServer({
      fqdn: fqdn!,
      addresses: egress.addresses,
      timeoutMs: request.apiServerWaitMs,
      probeTimeoutMs: request.apiServerProbeTimeoutMs,
      cluster: firewall.target,
    });
  }
});
