import { describeCluster, type ClusterRef } from "../../core/cluster";
import { codeList, type Outcome, type RunReport } from "../../core/report";
import type { AuthorizedRangesPlan } from "./plan";

/** The summary of a main or post-job run: the list before → after, what moved, and the agent's IP. */
export function rangesReport(title: string, ref: ClusterRef, plan: AuthorizedRangesPlan, outcome: Outcome): RunReport {
  const details = [`Action: \`${plan.action}\``];
  if (plan.added.length) details.push(`Added: ${codeList(plan.added)}`);
  if (plan.removed.length) details.push(`Removed: ${codeList(plan.removed)}`);
  const agent = plan.agentIp;
  if (agent) {
    const what = agent.alreadyAuthorized
      ? "already authorized, not added"
      : agent.scope === "permanent"
        ? "added permanently"
        : agent.removeAfterJob
          ? "added for this job; the post-job step removes it"
          : "added; it was listed before this task ran, so it stays after the job";
    details.push(`Agent IP: \`${agent.cidr}\` (scope \`${agent.scope}\`): ${what}`);
  }
  return {
    title: `${title}: ${ref.clusterName}`,
    target: describeCluster(ref),
    outcome,
    changes: [{ setting: "Authorized IP ranges", before: rangesCell(plan.before), after: rangesCell(plan.after) }],
    details,
    notes: plan.notes,
    warnings: plan.warnings,
  };
}

function rangesCell(ranges: readonly string[]): string {
  return ranges.length ? codeList(ranges) : "_none: open to every address_";
}
