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
  skip: readonly { id: string; reason?: string }[];
}

function unknownBecause(reads: Read<unknown>[]): string | undefined {
  const refused = reads.filter((r): r is Extract<Read<unknown>, { ok: false }> => !r.ok);
  if (!refused.length) return undefined;
  const permissions = [...new Set(refused.map((r) => r.permission))];
  return `Unknown: the service connection may not read this (it needs ${permissions.join(" and ")}).`;
}

/** Every check against what was read. Pure. Checks whose reads were refused are unknown; skipped ones carry their reason. */
export function scorecard(input: ScorecardInput): CheckResult[] {
  const results: CheckResult[] = [];
  const skipped = (id: string) => input.skip.find((s) => s.id === id);
  const values: ReadValues = {};
  for (const key of Object.keys(input.facts) as ClusterReadKey[]) {
    const read = input.facts[key];
    if (read.ok) (values as Record<string, unknown>)[key] = read.value;
  }
  for (const check of CHECKS) {
    const base = { id: check.id, area: check.area, title: check.title };
    const skip = skipped(check.id);
    if (check.kind === "vault") {
      for (const vault of input.vaults) {
        const subject = { ...base, subject: vault.name };
        if (skip) results.push({ ...subject, status: "skipped", finding: `Skipped: ${skip.reason ?? "no reason given"}.` });
        else if (!vault.read.ok) results.push({ ...subject, status: "unknown", finding: unknownBecause([vault.read])! });
        else results.push({ ...subject, ...check.evaluate(vault.read.value) });
      }
      continue;
    }
    if (skip) {
      results.push({ ...base, status: "skipped", finding: `Skipped: ${skip.reason ?? "no reason given"}.` });
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
