import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tl from "azure-pipelines-task-lib/task";

/** Markdown for a job summary; cells are escaped so Azure values cannot break the table. */
export function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

export function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

export function codeList(items: readonly string[], empty = "_none_"): string {
  return items.length ? items.map(code).join(", ") : empty;
}

function escapeCell(cell: string): string {
  return cell.replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

/**
 * Attaches markdown to the run's summary page. The file name becomes the section's title, so it
 * names the task and the resource.
 */
export function uploadSummary(title: string, markdown: string): void {
  const dir = tl.getVariable("Agent.TempDirectory") || os.tmpdir();
  const safeTitle = title.replace(/[^\w .()-]+/g, "-").slice(0, 100);
  const file = path.join(dir, `${safeTitle}.md`);
  fs.writeFileSync(file, markdown.endsWith("\n") ? markdown : `${markdown}\n`, "utf8");
  tl.uploadSummary(file);
}

/** Sets output variables (`<step name>.<output>` in later steps). */
export function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) tl.setVariable(name, value, false, true);
}

export type Outcome = "changed" | "unchanged" | "dryRun";

/** One task run as the user reads it: what was (or would be) changed, before → after. */
export interface RunReport {
  /** Section title on the run's summary page, e.g. "Restrict API server: aks-prod". */
  title: string;
  /** The Azure resource, e.g. "managed cluster 'aks-prod' in resource group 'rg-prod'". */
  target: string;
  outcome: Outcome;
  /** Replaces the outcome's standard wording where it would mislead (e.g. a write that changed no lasting setting). */
  headline?: string;
  /** Rows of the before → after table (markdown allowed in cells). */
  changes: { setting: string; before: string; after: string }[];
  /** Further facts as markdown bullet lines (without the bullet). */
  details: string[];
  notes: string[];
  warnings: string[];
  /**
   * Further markdown blocks under a heading, after the details: a table of their own, a YAML
   * snippet to apply. `log` is what the pipeline log shows of it (default: the markdown's lines).
   */
  sections?: { heading: string; markdown: string; log?: string[] }[];
}

const OUTCOME_TEXT: Record<Outcome, string> = {
  changed: "Changed",
  unchanged: "Already compliant: nothing written",
  dryRun: "Dry run: nothing written",
};

export function renderReport(report: RunReport): string {
  const parts = [`### ${report.title}`, "", `**${report.headline ?? OUTCOME_TEXT[report.outcome]}** — ${report.target}`, ""];
  if (report.changes.length) {
    parts.push(
      markdownTable(
        ["Setting", "Before", report.outcome === "dryRun" ? "After (planned)" : "After"],
        report.changes.map((c) => [c.setting, c.before, c.after]),
      ),
      "",
    );
  }
  for (const line of report.details) parts.push(`- ${line}`);
  if (report.details.length) parts.push("");
  for (const section of report.sections ?? []) parts.push(`**${section.heading}**`, "", section.markdown, "");
  if (report.warnings.length) parts.push("**Warnings**", "", ...report.warnings.map((w) => `- ⚠️ ${w}`), "");
  if (report.notes.length) parts.push("**Notes**", "", ...report.notes.map((n) => `- ${n}`), "");
  return parts.join("\n");
}

/** Writes the report to the log (warnings as pipeline warnings) and to the run's summary page. */
export function publishReport(report: RunReport): void {
  console.log(`${report.title} — ${report.headline ?? OUTCOME_TEXT[report.outcome]}`);
  for (const change of report.changes)
    console.log(`  ${stripMarkdown(change.setting)}: ${stripMarkdown(change.before)} → ${stripMarkdown(change.after)}`);
  for (const line of report.details) console.log(`  ${stripMarkdown(line)}`);
  for (const section of report.sections ?? []) {
    console.log(`  ${section.heading}:`);
    for (const line of section.log ?? section.markdown.split("\n")) console.log(`    ${stripMarkdown(line)}`);
  }
  for (const note of report.notes) console.log(`  note: ${stripMarkdown(note)}`);
  for (const warning of report.warnings) tl.warning(stripMarkdown(warning));
  uploadSummary(report.title, renderReport(report));
}

function stripMarkdown(text: string): string {
  return text.replace(/`/g, "").replace(/\*\*/g, "").replace(/<br>/g, ", ");
}
