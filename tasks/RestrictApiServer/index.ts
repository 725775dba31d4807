import * as tl from "azure-pipelines-task-lib/task";
import { AzureClients } from "../../core/azure";
import { apiServerHostProblem } from "../../core/api-server-host";
import { describeCluster } from "../../core/cluster";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { AGENT_IP_TASK_VARIABLE, applyRanges, currentJob, LEFT_BEHIND_TASK_VARIABLE, lookUpAgentIp } from "./apply";
import { readRequest } from "./inputs";
import { planAuthorizedRanges } from "./plan";
import { waitForApiServer } from "./reachability";
import { rangesReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  for (const input of request.ignored) tl.warning(`${input} is ignored with action '${request.action}'.`);
  const clients = new AzureClients(request.connection);
  const agentIp = request.includeAgentIp ? await lookUpAgentIp(request.agentIpServiceUrl) : undefined;
  const job = currentJob();

  const result = await applyRanges(clients, {
    ref: request,
    dryRun: request.dryRun,
    busyTimeoutMs: request.busyTimeoutMs,
    plan: (access) =>
      planAuthorizedRanges(
        {
          action: request.action,
          ranges: request.ranges,
          agentIpScope: request.agentIpScope,
          job,
          dryRun: request.dryRun,
          ...(agentIp ? { agentIp } : {}),
        },
        access,
      ),
    // Left before the write, so the post-job step cleans up even if the job is cancelled mid-write.
    beforeWrite: (plan) => {
      if (plan.agentIp?.removeAfterJob) tl.setTaskVariable(AGENT_IP_TASK_VARIABLE, plan.agentIp.cidr);
      if (plan.leftBehind.length)
        tl.setTaskVariable(LEFT_BEHIND_TASK_VARIABLE, [...new Set(plan.leftBehind.map((hold) => hold.cidr))].join(","));
    },
  });
  const plan = result.plan;
  // Also without a write: this job may hold an address it already held (the same agent, a hold not
  // yet closed), and holds left behind are closed after this job either way.
  if (!request.dryRun && !result.written) {
    if (plan.agentIp?.removeAfterJob) tl.setTaskVariable(AGENT_IP_TASK_VARIABLE, plan.agentIp.cidr);
    if (plan.leftBehind.length)
      tl.setTaskVariable(LEFT_BEHIND_TASK_VARIABLE, [...new Set(plan.leftBehind.map((hold) => hold.cidr))].join(","));
  }

  publishReport(rangesReport(request, plan, { written: result.written, dryRun: request.dryRun }));
  const lastingChange = plan.lastingAdded.length > 0 || plan.lastingRemoved.length > 0;
  setOutputs({
    authorizedIpRanges: (result.written ? (result.after.apiServerAccessProfile?.authorizedIPRanges ?? plan.after) : plan.before).join(","),
    agentIp: agentIp ? agentIp.cidr.replace(/\/32$/, "") : "",
    jobScopedAccess: !request.dryRun && plan.agentIp?.removeAfterJob ? plan.agentIp.cidr : "",
    changed: String(result.written && lastingChange),
  });

  // The next step's kubectl needs the API server to answer, not just the list to say so.
  const restricted = (result.written ? plan.after : plan.before).length > 0;
  if (agentIp && !request.dryRun && restricted && request.apiServerWaitMs > 0) {
    const fqdn = result.after.fqdn ?? result.before.fqdn;
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
      agentCidr: agentIp.cidr,
      timeoutMs: request.apiServerWaitMs,
      probeTimeoutMs: request.apiServerProbeTimeoutMs,
      cluster: describeCluster(request),
    });
  }
});
