import * as tl from "azure-pipelines-task-lib/task";
import { AzureClients } from "../../core/azure";
import { publishReport } from "../../core/report";
import { runTask } from "../../core/run";
import { AGENT_IP_TASK_VARIABLE, applyRanges } from "./apply";
import { readPostJobRequest } from "./inputs";
import { planAgentIpRemoval } from "./plan";
import { rangesReport } from "./report";

// Post-job step, loaded by post.ts when the main step left a job-scoped IP: runs after the job,
// whatever its result, and removes the agent's IP that the main step added for the job only.
void runTask(async () => {
  const agentCidr = tl.getTaskVariable(AGENT_IP_TASK_VARIABLE);
  if (!agentCidr) {
    console.log("The main step added no job-scoped agent IP; nothing to remove.");
    return;
  }
  const request = readPostJobRequest();
  const clients = new AzureClients(request.connection);
  const result = await applyRanges(clients, {
    ref: request,
    dryRun: false,
    busyTimeoutMs: request.busyTimeoutMs,
    plan: (access) => planAgentIpRemoval(agentCidr, access),
  });
  publishReport(rangesReport("Remove agent IP after the job", request, result.plan, result.written ? "changed" : "unchanged"));
});
