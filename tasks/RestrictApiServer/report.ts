import { describeCluster, type ClusterRef } from "../../core/cluster";
import type { AgentEgress } from "../../core/job-scoped-access/egress";
import { jobScopedDetails, untrustedWarnings } from "../../core/job-scoped-access/report";
import { code, codeList, describeChange, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import type { AuthorizedRangesPlan } from "./plan";

/** The main step's summary: the list before → after, the lasting changes, and the job-scoped access apart. */
export function rangesReport(
  ref: ClusterRef,
  plan: AuthorizedRangesPlan,
  result: { written: boolean; dryRun: boolean; egress?: AgentEgress; warnings: readonly string[] },
): RunReport {
  const lastingChange = plan.lastingAdded.length > 0 || plan.lastingRemoved.length > 0;
  const outcome: Outcome = result.written
    ? lastingChange
      ? "changed"
      : "unchanged"
    : result.dryRun && !plan.empty
      ? "dryRun"
      : "unchanged";
  const said = (done: string, planned: string) => describeChange(result.dryRun, { done, planned });
  const details: Text[] = [rich`Action: ${code(plan.action)}`];
  if (plan.lastingAdded.length) details.push(rich`${said("Added", "Would add")}: ${codeList(plan.lastingAdded)}`);
  if (plan.lastingRemoved.length) details.push(rich`${said("Removed", "Would remove")}: ${codeList(plan.lastingRemoved)}`);
  details.push(...jobScopedDetails(plan.jobScoped, { dryRun: result.dryRun, ...(result.egress ? { egress: result.egress } : {}) }));
  for (const agent of plan.permanent) {
    details.push(
      rich`Agent IP: ${code(agent.address)} (scope ${code("permanent")}): ${agent.authorizedBy ? `already authorized (${agent.authorizedBy}), not added` : said("added permanently", "would be added permanently")}`,
    );
  }
  return {
    title: `Restrict API server: ${ref.clusterName}`,
    target: describeCluster(ref),
    outcome,
    ...(result.written && !lastingChange ? { headline: "Lasting configuration unchanged; job-scoped access only" } : {}),
    changes: [{ setting: "Authorized IP ranges", before: rangesCell(plan.before), after: rangesCell(plan.after) }],
    details,
    notes: plan.notes,
    warnings: [...untrustedWarnings(plan.jobScoped, describeCluster(ref)), ...plan.warnings, ...result.warnings],
  };
}

function rangesCell(ranges: readonly string[]): Text {
  return ranges.length ? codeList(ranges) : remark("none: open to every address");
}
