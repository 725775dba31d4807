import { describeCluster, type ClusterRef } from "../../core/cluster";
import { markdownText } from "../../core/markdown";
import { code, joinText, LINE_BREAK, markdownTable, rich, type Text } from "../../core/report";
import { AREAS, counted, type Fix } from "./checks";
import type { CheckResult, Counts, Status } from "./plan";

const STATUS_TEXT: Record<Status, { icon: string; word: string }> = {
  pass: { icon: "✅", word: "pass" },
  warn: { icon: "⚠️", word: "warn" },
  fail: { icon: "❌", word: "fail" },
  unknown: { icon: "❔", word: "unknown" },
  skipped: { icon: "⏭️", word: "skipped" },
};

/** The fix as the summary shows it: the task and each input as code, then why the rest is done by hand, and the command as code. */
function fixCell(fix: Fix | undefined): Text {
  if (!fix) return "";
  const parts: Text[] = [];
  if (fix.task)
    parts.push(joinText([code(fix.task.name), ...Object.entries(fix.task.inputs).map(([name, value]) => code(`${name}: ${value}`))], " "));
  if (fix.byHand) parts.push(fix.command ? rich`By hand: ${code(fix.command)} — ${fix.byHand}` : `By hand — ${fix.byHand}`);
  else if (fix.command) parts.push(code(fix.command));
  return joinText(parts, LINE_BREAK);
}

/** The fix as the log shows it: `Task@1 (input: value; …); then by hand: <command> — why`. */
function fixLine(fix: Fix): string {
  const parts: string[] = [];
  if (fix.task) {
    const inputs = Object.entries(fix.task.inputs).map(([name, value]) => `${name}: ${value}`);
    parts.push(inputs.length ? `${fix.task.name} (${inputs.join("; ")})` : fix.task.name);
  }
  if (fix.byHand) parts.push(fix.command ? `by hand: ${fix.command} — ${fix.byHand}` : `by hand — ${fix.byHand}`);
  else if (fix.command) parts.push(fix.command);
  return parts.join("; then ");
}

function countsLine(counts: Counts): string {
  return [
    `${counts.passed} passed`,
    counted(counts.warnings, "warning"),
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

/**
 * The scorecard: counts at the top, then one line per check, grouped by area; the log carries the
 * same lines, plainly. Text from Azure is escaped in the summary (core/report's toMarkdown); the
 * log goes through core/output's guard like every line a task prints.
 */
export function renderScorecard(ref: ClusterRef, results: readonly CheckResult[], counts: Counts, gate: string | undefined): Scorecard {
  const title = `AKS hardening report: ${ref.clusterName}`;
  const markdown: string[] = [`### ${markdownText(title)}`, "", `**${countsLine(counts)}** — ${markdownText(describeCluster(ref))}`, ""];
  const log: string[] = [`${title} — ${countsLine(counts)}`];
  if (gate) {
    markdown.push(`❌ ${markdownText(gate)}`, "");
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
          r.subject ? rich`${code(r.id)} (${code(r.subject)})${LINE_BREAK}${r.title}` : rich`${code(r.id)}${LINE_BREAK}${r.title}`,
          r.finding,
          fixCell(r.fix),
        ]),
      ),
      "",
    );
    log.push(`${area}:`);
    for (const r of rows) {
      log.push(`  [${STATUS_TEXT[r.status].word.toUpperCase()}] ${r.id}${r.subject ? ` (${r.subject})` : ""}: ${r.finding}`);
      if (r.fix) log.push(`      fix: ${fixLine(r.fix)}`);
    }
  }
  return { title, markdown: markdown.join("\n"), log };
}
