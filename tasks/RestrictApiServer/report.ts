import { describeCluster, type ClusterRef } from "../../core/cluster";
import { code, codeList, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import type { AuthorizedRangesPlan } from "./plan";

/** The summary of a main or post-job run: the list before → after, what moved, and the agent's IP. */
export function rangesReport(title: string, ref: ClusterRef, plan: AuthorizedRangesPlan, outcome: Outcome): RunReport {
  const details: Text[] = [rich`Action: ${code(plan.action)}`];
  if (plan.added.length) details.push(rich`Added: ${codeList(plan.added)}`);
  if (plan.removed.length) details.push(rich`Removed: ${codeList(plan.removed)}`);
  const agent = plan.agentIp;
  if (agent) {
    const what = agent.alreadyAuthorized
      ? "already authorized, not added"
      : agent.scope === "permanent"
        ? "added permanently"
        : agent.removeAfterJob
          ? "added for this job; the post-job step removes it"
          : "added; it was listed before this task ran, so it stays after the job";
    details.push(rich`Agent IP: ${code(agent.cidr)} (scope ${code(agent.scope)}): ${what}`);
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

function rangesCell(ranges: readonly string[]): Text {
  return ranges.length ? codeList(ranges) : remark("none: open to every address");
}
