import {
  CHECKS,
  counted,
  type Area,
  type ClusterFacts,
  type ClusterReadKey,
  type Fix,
  type Read,
  type ReadValues,
  type Target,
  type VaultFacts,
  type Verdict,
} from "./checks";
import type { SkippedCheck } from "./inputs";

/**
 * The scorecard: every check of the table (checks.ts) against what was read, with the checks whose
 * reads were refused reported as unknown and the ones the user skipped as skipped. Pure.
 */

export type Status = Verdict | "unknown" | "skipped";

/** One line of the scorecard. */
export interface CheckResult {
  id: string;
  area: Area;
  title: string;
  /** The key vault a Key Vault check looked at. */
  subject?: string;
  status: Status;
  finding: string;
  fix?: Fix;
}

export interface ScorecardInput {
  facts: ClusterFacts;
  vaults: { name: string; read: Read<VaultFacts> }[];
  target: Target;
  skip: readonly SkippedCheck[];
}

/** Why a check that needs these reads cannot say anything: each missing read's permission or reason, once. */
function unknownBecause(reads: Read<unknown>[]): string | undefined {
  const missing = reads.filter((r): r is Extract<Read<unknown>, { ok: false }> => !r.ok);
  if (!missing.length) return undefined;
  const permissions = [...new Set(missing.flatMap((r) => (r.permission ? [r.permission] : [])))];
  const reasons = [...new Set(missing.filter((r) => !r.permission).map((r) => r.reason.replace(/\.$/, "")))];
  return `Unknown: ${[
    ...(permissions.length ? [`the service connection may not read this (it needs ${permissions.join(" and ")})`] : []),
    ...reasons,
  ].join("; ")}.`;
}

const skippedBecause = (skip: SkippedCheck) => `Skipped: ${skip.reason.replace(/[.\s]+$/, "")}.`;

/** Every check against what was read. Pure. Checks whose reads are missing are unknown; skipped ones carry their reason. */
export function scorecard(input: ScorecardInput): CheckResult[] {
  const results: CheckResult[] = [];
  // A skip naming a vault applies to that vault only; one without a vault to every vault (or the cluster check).
  const skipped = (id: string, vault?: string) =>
    input.skip.find((s) => s.id === id && (s.vault === undefined || s.vault.toLowerCase() === vault?.toLowerCase()));
  const values: ReadValues = {};
  for (const key of Object.keys(input.facts) as ClusterReadKey[]) {
    const read = input.facts[key];
    if (read.ok) (values as Record<string, unknown>)[key] = read.value;
  }
  for (const check of CHECKS) {
    const base = { id: check.id, area: check.area, title: check.title };
    if (check.kind === "vault") {
      for (const vault of input.vaults) {
        const subject = { ...base, subject: vault.name };
        const skip = skipped(check.id, vault.name);
        if (skip) results.push({ ...subject, status: "skipped", finding: skippedBecause(skip) });
        else if (!vault.read.ok) results.push({ ...subject, status: "unknown", finding: unknownBecause([vault.read])! });
        else results.push({ ...subject, ...check.evaluate(vault.read.value, input.target) });
      }
      continue;
    }
    const skip = skipped(check.id);
    if (skip) {
      results.push({ ...base, status: "skipped", finding: skippedBecause(skip) });
      continue;
    }
    const unknown = unknownBecause(check.reads.map((key) => input.facts[key]));
    if (unknown) results.push({ ...base, status: "unknown", finding: unknown });
    else results.push({ ...base, ...check.evaluate(values, input.target) });
  }
  return results;
}

export interface Counts {
  passed: number;
  warnings: number;
  failed: number;
  unknown: number;
  skipped: number;
}

export function countResults(results: readonly CheckResult[]): Counts {
  const count = (status: Status) => results.filter((r) => r.status === status).length;
  return { passed: count("pass"), warnings: count("warn"), failed: count("fail"), unknown: count("unknown"), skipped: count("skipped") };
}

/** A failed check's ID as the output lists it: Key Vault checks name their vault. */
export function resultKey(result: CheckResult): string {
  return result.subject ? `${result.id}:${result.subject}` : result.id;
}

/** Why the gate stops the job, or undefined when it lets it pass. */
export function gateFailure(results: readonly CheckResult[], failOn: "never" | "error" | "warning"): string | undefined {
  if (failOn === "never") return undefined;
  const failed = results.filter((r) => r.status === "fail");
  const flagged = failOn === "warning" ? results.filter((r) => r.status === "warn" || r.status === "unknown") : [];
  if (!failed.length && !flagged.length) return undefined;
  const parts = [];
  if (failed.length) parts.push(`${counted(failed.length, "check")} failed: ${failed.map(resultKey).join(", ")}`);
  if (flagged.length) parts.push(`${flagged.length} warned or could not be read: ${flagged.map(resultKey).join(", ")}`);
  return `The hardening report does not pass (failOn: ${failOn}): ${parts.join("; ")}. See the job summary for each finding and its fix.`;
}
