import { describeCluster, type ClusterRef } from "../../core/cluster";
import { code, markdownTable } from "../../core/report";
import { AREAS, type Fix } from "./checks";
import type { CheckResult, Counts, Status } from "./plan";

const STATUS_TEXT: Record<Status, { icon: string; word: string }> = {
  pass: { icon: "✅", word: "pass" },
  warn: { icon: "⚠️", word: "warn" },
  fail: { icon: "❌", word: "fail" },
  unknown: { icon: "❔", word: "unknown" },
  skipped: { icon: "⏭️", word: "skipped" },
};

/**
 * Azure's text (binding names, assignment names) reaches the log: a line holding `##vso[` or `##[`
 * would be run by the agent as a command, so those markers are broken up.
 */
export function neutralize(text: string): string {
  return text.replace(/##(vso)?\[/gi, (marker) => marker.replace("[", " ["));
}

function fixText(fix: Fix | undefined, markdown: boolean): string {
  if (!fix) return "";
  const parts: string[] = [];
  if (fix.task) {
    const inputs = Object.entries(fix.task.inputs).map(([name, value]) => `${name}: ${value}`);
    parts.push(markdown ? `${code(fix.task.name)} ${inputs.map(code).join(" ")}` : `${fix.task.name} (${inputs.join("; ")})`);
  }
  if (fix.command) parts.push(markdown ? code(fix.command) : fix.command);
  return parts.join(markdown ? ", then " : "; then ");
}

function countsLine(counts: Counts): string {
  return [
    `${counts.passed} passed`,
    `${counts.warnings} warning(s)`,
    `${counts.failed} failed`,
    ...(counts.unknown ? [`${counts.unknown} unknown`] : []),
    ...(counts.skipped ? [`${counts.skipped} skipped`] : []),
  ].join(" · ");
}

export interface Scorecard {
  title: string;
  markdown: string;
  log: string[];
}

/** The scorecard: counts at the top, then one line per check, grouped by area; the log carries the same lines, plainly. */
export function renderScorecard(ref: ClusterRef, results: readonly CheckResult[], counts: Counts, gate: string | undefined): Scorecard {
  const title = `AKS hardening report: ${ref.clusterName}`;
  const markdown: string[] = [`### ${title}`, "", `**${countsLine(counts)}** — ${describeCluster(ref)}`, ""];
  const log: string[] = [`${title} — ${countsLine(counts)}`];
  if (gate) {
    markdown.push(`❌ ${gate}`, "");
    log.push(gate);
  }
  for (const area of AREAS) {
    const rows = results.filter((r) => r.area === area);
    if (!rows.length) continue;
    markdown.push(
      `#### ${area}`,
      "",
      markdownTable(
        ["Status", "Check", "Finding", "Fix"],
        rows.map((r) => [
          `${STATUS_TEXT[r.status].icon} ${STATUS_TEXT[r.status].word}`,
          `${code(r.id)}${r.subject ? ` (${code(r.subject)})` : ""}<br>${r.title}`,
          r.finding,
          fixText(r.fix, true),
        ]),
      ),
      "",
    );
    log.push(`${area}:`);
    for (const r of rows) {
      log.push(`  [${STATUS_TEXT[r.status].word.toUpperCase()}] ${r.id}${r.subject ? ` (${r.subject})` : ""}: ${r.finding}`);
      if (r.fix) log.push(`      fix: ${fixText(r.fix, false)}`);
    }
  }
  return { title, markdown: markdown.join("\n"), log: log.map(neutralize) };
}
