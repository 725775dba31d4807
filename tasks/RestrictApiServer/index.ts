import * as tl from "azure-pipelines-task-lib/task";
import { AzureClients } from "../../core/azure";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { AGENT_IP_TASK_VARIABLE, applyRanges, lookUpAgentIp } from "./apply";
import { readRequest } from "./inputs";
import { planAuthorizedRanges } from "./plan";
import { rangesReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  for (const input of request.ignored) tl.warning(`${input} is ignored with action '${request.action}'.`);
  const clients = new AzureClients(request.connection);
  const agentIp = request.includeAgentIp ? await lookUpAgentIp(request.agentIpServiceUrl) : undefined;

  const result = await applyRanges(clients, {
    ref: request,
    dryRun: request.dryRun,
    busyTimeoutMs: request.busyTimeoutMs,
    plan: (access) =>
      planAuthorizedRanges(
        { action: request.action, ranges: request.ranges, agentIpScope: request.agentIpScope, ...(agentIp ? { agentIp } : {}) },
        access,
      ),
    // Left before the write, so the post-job step cleans up even if the job is cancelled mid-write.
    beforeWrite: (plan) => {
      if (plan.agentIp?.removeAfterJob) tl.setTaskVariable(AGENT_IP_TASK_VARIABLE, plan.agentIp.cidr);
    },
  });

  const outcome = result.written ? "changed" : request.dryRun && !result.plan.empty ? "dryRun" : "unchanged";
  publishReport(rangesReport("Restrict API server", request, result.plan, outcome));
  setOutputs({
    authorizedIpRanges: (result.written
      ? (result.after.apiServerAccessProfile?.authorizedIPRanges ?? result.plan.after)
      : result.plan.before
    ).join(","),
    agentIp: agentIp ? agentIp.cidr.replace(/\/32$/, "") : "",
    changed: String(result.written),
  });
});
