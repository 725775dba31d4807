import { describeCluster, type ClusterRef } from "../../core/cluster";
import type { JobScopedIpHold } from "../../core/job-scoped-ips";
import { code, codeList, describeChange, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import { holdUntil, type AuthorizedRangesPlan, type ReleasePlan } from "./plan";

/** The main step's summary: the list before → after, the lasting changes, and the job-scoped access apart. */
export function rangesReport(ref: ClusterRef, plan: AuthorizedRangesPlan, result: { written: boolean; dryRun: boolean }): RunReport {
  const lastingChange = plan.lastingAdded.length > 0 || plan.lastingRemoved.length > 0;
  const outcome: Outcome = result.written
    ? lastingChange
      ? "changed"
      : "unchanged"
    : result.dryRun && !plan.empty
      ? "dryRun"
      : "unchanged";
  const details: Text[] = [rich`Action: ${code(plan.action)}`];
  if (plan.lastingAdded.length)
    details.push(rich`${describeChange(result.dryRun, { done: "Added", planned: "Would add" })}: ${codeList(plan.lastingAdded)}`);
  if (plan.lastingRemoved.length)
    details.push(rich`${describeChange(result.dryRun, { done: "Removed", planned: "Would remove" })}: ${codeList(plan.lastingRemoved)}`);
  const agent = plan.agentIp;
  if (agent) {
    if (agent.removeAfterJob) {
      const shared = agent.sharedWith.length
        ? `; ${heldBy(agent.sharedWith)} holds it too, so it stays until the last of these jobs ends`
        : "";
      details.push(
        rich`Job-scoped access: ${code(agent.cidr)} (this agent) ${describeChange(result.dryRun, { done: "opened", planned: "would be opened" })} for this job, closed by the post-job step${shared}`,
      );
    } else {
      const what = agent.alreadyAuthorized
        ? "already authorized, not added"
        : agent.listedBefore
          ? "listed before this task ran, so it stays after the job"
          : describeChange(result.dryRun, { done: "added permanently", planned: "would be added permanently" });
      details.push(rich`Agent IP: ${code(agent.cidr)} (scope ${code(agent.scope)}): ${what}`);
    }
  }
  for (const hold of plan.leftBehind) {
    details.push(
      rich`Left behind by an earlier job: ${code(hold.cidr)} (held until ${holdUntil(hold)}); this job's post-job step closes it`,
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
    warnings: plan.warnings,
  };
}

/** The post-job step's summary: what it closed, what stays for other jobs, and its outcome. */
export function releaseReport(ref: ClusterRef, plan: ReleasePlan, written: boolean, ownCidr: string | undefined): RunReport {
  const details: Text[] = [];
  for (const cidr of plan.closed) {
    const own = cidr === ownCidr && plan.released.some((hold) => hold.cidr === cidr);
    details.push(rich`Closed: ${code(cidr)} (${own ? "opened for this job" : "left behind by an earlier job"})`);
  }
  if (plan.stillHeld.length) {
    const cidrs = [...new Set(plan.stillHeld.map((hold) => hold.cidr))];
    details.push(rich`Kept: ${codeList(cidrs)}, ${heldBy(plan.stillHeld)} still holds it; the last of them closes it`);
  }
  if (ownCidr && !plan.released.some((hold) => hold.cidr === ownCidr) && !plan.closed.includes(ownCidr)) {
    details.push(
      rich`${code(ownCidr)} is not held by this job (its write did not land, it was closed already, or it was authorized on purpose since); left as it is`,
    );
  }
  const headline = plan.closed.length
    ? `Closed job-scoped access: ${plan.closed.join(", ")}`
    : written
      ? "Released this job's hold; nothing closed"
      : plan.warnings.length
        ? "Nothing closed (see warnings)"
        : "Nothing to close";
  return {
    title: `Close job-scoped access: ${ref.clusterName}`,
    target: describeCluster(ref),
    outcome: written ? "changed" : "unchanged",
    headline,
    changes: written ? [{ setting: "Authorized IP ranges", before: rangesCell(plan.before), after: rangesCell(plan.after) }] : [],
    details,
    notes: plan.notes,
    warnings: plan.warnings,
  };
}

function heldBy(holds: readonly JobScopedIpHold[]): string {
  const until = holds.map(holdUntil).sort().at(-1);
  return holds.length === 1
    ? `another running job (until ${until} at the latest)`
    : `${holds.length} other running jobs (until ${until} at the latest)`;
}

function rangesCell(ranges: readonly string[]): Text {
  return ranges.length ? codeList(ranges) : remark("none: open to every address");
}
