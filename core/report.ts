import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tl from "azure-pipelines-task-lib/task";
import { markdownText } from "./markdown";

/**
 * Inline text of a report, kept as structure so that the job summary (markdown) and the pipeline
 * log (plain text) are each rendered from it: a name or value is `code`, a remark such as "none" is
 * `remark` (italic in the summary), `break` starts a new line inside a table cell.
 */
export interface Span {
  text: string;
  style?: "code" | "remark" | "break";
}
/** Plain text, or spans. */
export type Text = string | readonly Span[];

export function code(text: string): Span[] {
  return [{ text, style: "code" }];
}

export function remark(text: string): Span[] {
  return [{ text, style: "remark" }];
}

/** A line break inside a table cell (`<br>` in the summary, "; " in the log). */
export const LINE_BREAK: readonly Span[] = [{ text: "", style: "break" }];

/** Text built like a template literal: `rich\`${code(name)} from ${code(issuer)}\``. */
export function rich(strings: TemplateStringsArray, ...values: Text[]): Span[] {
  const spans: Span[] = [];
  strings.forEach((literal, i) => {
    if (literal) spans.push({ text: literal });
    if (i < values.length) spans.push(...spansOf(values[i]!));
  });
  return spans;
}

export function joinText(parts: readonly Text[], separator: Text = ", "): Span[] {
  return parts.flatMap((part, i) => (i === 0 ? spansOf(part) : [...spansOf(separator), ...spansOf(part)]));
}

export function codeList(items: readonly string[], empty: Text = remark("none")): Span[] {
  return items.length ? joinText(items.map(code)) : spansOf(empty);
}

function spansOf(text: Text): Span[] {
  return typeof text === "string" ? (text ? [{ text }] : []) : [...text];
}

/**
 * The summary's markdown for inline text. Every plain piece is escaped (`markdownText`), whoever
 * wrote it, so a name or message from Azure or an input never renders as a link or HTML; a code
 * piece shows as typed (a backtick cannot end it early, a line break cannot split it).
 */
export function toMarkdown(text: Text): string {
  return spansOf(text)
    .map((span) =>
      span.style === "code"
        ? `\`${span.text.replace(/`/g, "'").replace(/\r?\n|\r/g, " ")}\``
        : span.style === "remark"
          ? `_${markdownText(span.text)}_`
          : span.style === "break"
            ? "<br>"
            : markdownText(span.text),
    )
    .join("");
}

/** The log's plain text for inline text: what a person reads, no markup. */
export function toPlainText(text: Text): string {
  return spansOf(text)
    .map((span) => (span.style === "break" ? "; " : span.text))
    .join("");
}

/** Markdown for a job summary; cells are escaped so Azure values cannot break the table. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly Text[])[]): string {
  const line = (cells: readonly Text[]) => `| ${cells.map((cell) => escapeCell(toMarkdown(cell))).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

function escapeCell(cell: string): string {
  return cell.replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

/**
 * Attaches markdown to the run's summary page. The agent names the attachment after the file
 * (`Path.GetFileName`, azure-pipelines-agent src/Agent.Worker/TaskCommandExtension.cs,
 * uploadsummary) and the summary page shows that name as the section's title, so the file is named
 * after the report's title. A name with a character invalid in a Windows file name is refused by the
 * agent (`Path.GetInvalidFileNameChars`), so the title's "Task: resource" separator becomes an em
 * dash, and anything else outside letters, digits, spaces and `.()-_` a hyphen.
 */
export function uploadSummary(title: string, markdown: string): void {
  const dir = tl.getVariable("Agent.TempDirectory") || os.tmpdir();
  const file = path.join(dir, `${summaryFileTitle(title)}.md`);
  fs.writeFileSync(file, markdown.endsWith("\n") ? markdown : `${markdown}\n`, "utf8");
  tl.uploadSummary(file);
}

/** "Enable pod identity: aks-prod" → "Enable pod identity — aks-prod". */
export function summaryFileTitle(title: string): string {
  return title
    .replace(/\s*:\s+/g, " — ")
    .replace(/[^\w .()—-]+/g, "-")
    .slice(0, 100);
}

/** Sets output variables (`<step name>.<output>` in later steps). */
export function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) tl.setVariable(name, value, false, true);
}

export type Outcome = "changed" | "unchanged" | "dryRun";

/**
 * How a report tells a change: as done, or, in a dry run, as what a real run would do ("would be
 * turned on"), never as if it had happened. Every sentence about a change goes through here.
 */
export function describeChange<T extends Text>(dryRun: boolean, said: { done: T; planned: T }): T {
  return dryRun ? said.planned : said.done;
}

/** A block under a section heading: a sentence, a code block (a YAML snippet to apply), or a table. */
export type Block =
  | { paragraph: Text }
  | { codeBlock: readonly string[]; language: string }
  | { table: { headers: readonly string[]; rows: readonly (readonly Text[])[] } };

/** One task run as the user reads it: what was (or would be) changed, before → after. */
export interface RunReport {
  /** Section title on the run's summary page, e.g. "Restrict API server: aks-prod". */
  title: string;
  /** The Azure resource, e.g. "managed cluster 'aks-prod' in resource group 'rg-prod'". */
  target: Text;
  outcome: Outcome;
  /** Replaces the outcome's standard wording where it would mislead (e.g. a write that changed no lasting setting). */
  headline?: string;
  /** Rows of the before → after table. */
  changes: { setting: Text; before: Text; after: Text }[];
  /** Further facts, one a bullet. */
  details: Text[];
  notes: Text[];
  warnings: Text[];
  /** Further blocks under a heading, after the details: a table of their own, a YAML snippet to apply. */
  sections?: { heading: string; blocks: readonly Block[] }[];
}

const OUTCOME_TEXT: Record<Outcome, string> = {
  changed: "Changed",
  unchanged: "Already compliant: nothing written",
  dryRun: "Dry run: nothing written",
};

/** The job summary (markdown). */
export function renderReport(report: RunReport): string {
  const parts = [
    `### ${markdownText(report.title)}`,
    "",
    `**${markdownText(report.headline ?? OUTCOME_TEXT[report.outcome])}** — ${toMarkdown(report.target)}`,
    "",
  ];
  if (report.changes.length) {
    parts.push(
      markdownTable(
        ["Setting", "Before", report.outcome === "dryRun" ? "After (planned)" : "After"],
        report.changes.map((c) => [c.setting, c.before, c.after]),
      ),
      "",
    );
  }
  for (const line of report.details) parts.push(`- ${toMarkdown(line)}`);
  if (report.details.length) parts.push("");
  for (const section of report.sections ?? []) {
    parts.push(`**${section.heading}**`, "");
    for (const block of section.blocks) {
      if ("paragraph" in block) parts.push(toMarkdown(block.paragraph), "");
      else if ("codeBlock" in block) parts.push(`\`\`\`${block.language}`, ...block.codeBlock, "```", "");
      else parts.push(markdownTable(block.table.headers, block.table.rows), "");
    }
  }
  if (report.warnings.length) parts.push("**Warnings**", "", ...report.warnings.map((w) => `- ⚠️ ${toMarkdown(w)}`), "");
  if (report.notes.length) parts.push("**Notes**", "", ...report.notes.map((n) => `- ${toMarkdown(n)}`), "");
  return parts.join("\n");
}

/**
 * The pipeline log's lines (warnings apart: they become pipeline warnings), rendered from the
 * report's structure: a change as "setting: before → after", a code block indented without its
 * fences, a table row as its first cell followed by the others under their headers.
 */
export function renderReportLog(report: RunReport): string[] {
  const lines = [`${report.title} — ${report.headline ?? OUTCOME_TEXT[report.outcome]} (${toPlainText(report.target)})`];
  for (const change of report.changes)
    lines.push(`  ${toPlainText(change.setting)}: ${toPlainText(change.before)} → ${toPlainText(change.after)}`);
  for (const detail of report.details) lines.push(`  ${toPlainText(detail)}`);
  for (const section of report.sections ?? []) {
    lines.push(`  ${section.heading}:`);
    for (const block of section.blocks) {
      if ("paragraph" in block) lines.push(`    ${toPlainText(block.paragraph)}`);
      else if ("codeBlock" in block) lines.push(...block.codeBlock.map((line) => `      ${line}`.trimEnd()));
      else {
        const [, ...headers] = block.table.headers;
        for (const [first = "", ...cells] of block.table.rows) {
          const facts = cells
            .map((cell, i) => ({ header: headers[i] ?? "", value: toPlainText(cell) }))
            .filter((fact) => fact.value && fact.value !== "—")
            .map((fact) => `${fact.header.toLowerCase()} ${fact.value}`);
          lines.push(`    ${toPlainText(first)}: ${facts.join(", ")}`);
        }
      }
    }
  }
  for (const note of report.notes) lines.push(`  note: ${toPlainText(note)}`);
  return lines;
}

/** Writes the report to the log (warnings as pipeline warnings) and to the run's summary page. */
export function publishReport(report: RunReport): void {
  for (const line of renderReportLog(report)) console.log(line);
  for (const warning of report.warnings) tl.warning(toPlainText(warning));
  uploadSummary(report.title, renderReport(report));
}
