import { code, codeList, describeChange, publishReport, rich, type Outcome, type RunReport, type Text } from "../report";
import type { ReleaseResult } from "./access";
import { describeEgress, type AgentEgress } from "./egress";
import { formatUntil, untrustedWarning, type Hold } from "./ledger";
import type { JobScopedPlan } from "./plan";
import type { OpenedForJob } from "./task-variable";

/**
 * The summary lines of job-scoped access, the same in every task: which addresses were opened and
 * why, which a job that is over left behind and what became of them, and each untrusted hold. A dry
 * run tells each change as what a real run would do (core/report.ts describeChange).
 */

export function jobScopedDetails(plan: JobScopedPlan, p: { dryRun: boolean; egress?: AgentEgress }): Text[] {
  const details: Text[] = [];
  const said = (done: string, planned: string) => describeChange(p.dryRun, { done, planned });
  if (plan.opened.length) {
    const addresses = plan.opened.map((opened) => opened.address);
    const why = p.egress ? ` (${describeEgress(p.egress)})` : "";
    details.push(
      rich`Job-scoped access: ${codeList(addresses)} (this agent) ${said("opened", "would be opened")} for this job, closed by the post-job step${why}`,
    );
    for (const opened of plan.opened.filter((o) => o.sharedWith.length)) {
      details.push(
        rich`${code(opened.address)}: ${heldBy(opened.sharedWith)} holds it too, so it ${said("stays", "would stay")} until the last of these jobs ends`,
      );
    }
  } else if (p.egress) {
    details.push(rich`Agent egress: ${describeEgress(p.egress)}`);
  }
  for (const authorized of plan.alreadyAuthorized) {
    details.push(
      authorized.by === authorized.address || authorized.by.replace(/\/32$/, "") === authorized.address.replace(/\/32$/, "")
        ? rich`The agent's address ${code(authorized.address)} was authorized before this task ran, so it stays after the job`
        : rich`The agent's address ${code(authorized.address)} is already admitted (${authorized.by.includes(" ") ? authorized.by : rich`by ${code(authorized.by)}`}); not opened`,
    );
  }
  for (const closed of plan.closed) details.push(rich`${said("Closed", "Would close")}: ${code(closed.address)} (${leftBy(closed.holds)})`);
  for (const kept of plan.kept) {
    details.push(
      rich`${said("Kept", "Would keep")}: ${code(kept.address)}, left by a job that is over, but ${heldBy(kept.heldBy)} still holds it; the last of them closes it`,
    );
  }
  for (const address of plan.restored) {
    details.push(
      rich`${said("Put back", "Would put back")}: ${code(address)}, which a running job holds (a write made at the same time had dropped it)`,
    );
  }
  for (const address of plan.madeLasting) {
    details.push(
      rich`${code(address)} ${said("was open for a job only; it is now authorized for good", "is open for a job only; a real run would authorize it for good")}`,
    );
  }
  return details;
}

/** One warning per hold that is not believed. */
export function untrustedWarnings(plan: JobScopedPlan, target: string): string[] {
  return plan.untrusted.map((hold) => untrustedWarning(hold, target));
}

/** The post-job step's summary: what it closed and kept, and its outcome. */
export function releaseReport(p: {
  title: string;
  target: string;
  setting: string;
  plan: JobScopedPlan;
  written: boolean;
  before: readonly string[];
  /** The job whose access this step closes, and the addresses its main step opened. */
  job: string;
  opened: readonly string[];
  released: readonly Hold[];
  warnings: readonly string[];
}): RunReport {
  const { plan } = p;
  const details: Text[] = [];
  for (const closed of plan.closed) {
    const own = closed.holds.some((hold) => hold.job === p.job);
    details.push(rich`Closed: ${code(closed.address)} (${own ? "opened for this job" : leftBy(closed.holds)})`);
  }
  for (const kept of plan.kept) {
    details.push(rich`Kept: ${code(kept.address)}, ${heldBy(kept.heldBy)} still holds it; the last of them closes it`);
  }
  for (const address of p.opened.filter((a) => !p.released.some((hold) => hold.address === a))) {
    details.push(
      rich`${code(address)} is not held by this job (its write did not land, it was closed already, or it was authorized for good since); left as it is`,
    );
  }
  const closed = plan.closed.map((c) => c.address);
  const outcome: Outcome = p.written ? "changed" : "unchanged";
  return {
    title: p.title,
    target: p.target,
    outcome,
    headline: closed.length
      ? `Closed job-scoped access: ${closed.join(", ")}`
      : p.released.length
        ? "Released this job's hold; nothing closed"
        : "Nothing to close",
    changes: p.written ? [{ setting: p.setting, before: codeList(p.before), after: codeList(plan.after) }] : [],
    details,
    notes: [],
    warnings: [
      ...untrustedWarnings(plan, p.target),
      ...plan.lastEntryKept.map(
        (address) =>
          `${address} is the only entry left; removing it would open the firewall to every address, so it stays. Add the ranges that should have access, then re-run.`,
      ),
      ...p.warnings,
    ],
  };
}

/** Publishes the post-job step's summary of what `releaseJobScopedAccess` did. */
export function publishRelease<S>(p: {
  title: string;
  target: string;
  setting: string;
  opened: OpenedForJob;
  result: ReleaseResult<S>;
}): void {
  publishReport(
    releaseReport({
      title: p.title,
      target: p.target,
      setting: p.setting,
      plan: p.result.plan,
      written: p.result.written,
      before: p.result.plan.before,
      job: p.opened.job,
      opened: p.opened.addresses,
      released: p.result.released,
      warnings: p.result.warnings,
    }),
  );
}

function heldBy(holds: readonly Hold[]): string {
  const until = holds
    .map((hold) => formatUntil(hold.until))
    .sort()
    .at(-1);
  return holds.length === 1
    ? `another running job (until ${until} at the latest)`
    : `${holds.length} other running jobs (until ${until} at the latest)`;
}

function leftBy(holds: readonly Hold[]): string {
  const hold = holds[0]!;
  const why = hold.released
    ? "its post-job step let go of it but did not close it"
    : hold.until.getTime() <= Date.now()
      ? `its job's timeout passed at ${formatUntil(hold.until)}`
      : "its agent has moved on to another job";
  return `left behind by an earlier job: ${why}`;
}
