/**
 * What `npm run demo` prints for a pipeline run, as lines: per step the pipeline log (as the agent
 * shows it, debug lines hidden), the job summary and the Azure requests the step made; per run a
 * table of steps. test/extension/demo-pipeline.test.ts reads these lines as a person would.
 */
import type { StepRun } from "../test/harness/agent";
import type { RequestLogEntry } from "../local-azure/index";
import type { PipelineRun, StepResult } from "./pipeline-runner";

/** "1 write", "3 writes". */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** The step's heading, its log, its job summary and its Azure requests. */
export function stepLog(result: StepResult): string[] {
  const status = result.run
    ? `${result.run.result}${result.run.resultMessage ? ` (${result.run.resultMessage})` : ""}`
    : result.succeeded
      ? "Succeeded"
      : "Failed";
  const lines = [``, `── ${result.displayName} [${result.task}]: ${status}`];
  if (result.external) lines.push(...result.external.lines.map((line) => `   ${line}`));
  if (result.run) lines.push(...runLog(result.run));
  // A leg of a matrix ran beside the others: its requests cannot be told apart, the stage's totals are shown instead.
  if (result.parallel) return lines;
  const arm = result.requests.filter((r) => r.path.toLowerCase().startsWith("/subscriptions/"));
  const vault = result.requests.filter(isVaultRequest);
  if (arm.length + vault.length === 0) return lines;
  const w = writes(result);
  lines.push(
    ``,
    `   Azure: ${plural(arm.length, "Resource Manager request")} (${plural(w.arm, "write")}), ${plural(vault.length, "Key Vault request")} (${plural(w.vault, "write")})`,
  );
  const shown = [...arm, ...vault];
  shown.forEach((r, i) => {
    const where = isVaultRequest(r) ? `https://${r.host.split(":")[0]}` : "";
    const p = r.path.replace(/^\/subscriptions\/[^/]+/, "/subscriptions/…").replace(/\/resourceGroups\/[^/]+/, "/resourceGroups/…");
    lines.push(
      `     ${r.method.padEnd(6)} ${where}${p} → ${r.status}${r.ifMatch ? " (If-Match)" : ""}${isChallenge(r, shown.slice(i + 1)) ? CHALLENGE : ""}`,
    );
  });
  return lines;
}

/**
 * Key Vault's clients send the first request of a vault without a token; the vault answers 401 with
 * a `WWW-Authenticate` challenge naming its authority and resource, and the client signs in for it
 * and sends the request again (Key Vault authentication docs, "Authentication, requests and
 * responses"). A 401 whose request is later answered is that handshake, not a failure.
 */
const CHALLENGE = "  (Key Vault's sign-in challenge: normal, the client then sends the request again with a token)";

function isChallenge(request: RequestLogEntry, later: readonly RequestLogEntry[]): boolean {
  return (
    isVaultRequest(request) &&
    request.status === 401 &&
    later.some((next) => next.host === request.host && next.method === request.method && next.path === request.path && next.status !== 401)
  );
}

function isVaultRequest(r: RequestLogEntry): boolean {
  return r.host.includes(".vault.azure.net");
}

/** The log lines the agent shows (debug lines hidden, as without system.debug), then each job summary. */
function runLog(run: StepRun): string[] {
  const lines: string[] = [];
  for (const line of run.stdout.split("\n")) {
    if (!line || line.startsWith("##vso[task.debug]") || line.startsWith("##vso[task.setsecret]")) continue;
    const command = /^##vso\[task\.(\w+)([^\]]*)\](.*)$/.exec(line);
    if (!command) lines.push(`   ${line}`);
    else if (command[1] === "issue") lines.push(`   ${/type=warning/.test(command[2]!) ? "WARNING" : "ERROR"}: ${command[3]}`);
    else if (command[1] === "setvariable") lines.push(`   output ${/variable=([^;]+)/.exec(command[2]!)?.[1]} = ${command[3]}`);
  }
  for (const summary of run.summaries)
    lines.push(
      ``,
      `   Job summary:`,
      ...summary
        .trimEnd()
        .split("\n")
        .map((line) => `   │ ${line}`),
    );
  return lines;
}

/**
 * A write: ARM PUT/PATCH/DELETE and POST actions other than those that only read (policy state
 * queries, a cluster's credentials); Key Vault data-plane PUT/POST/DELETE/PATCH.
 */
export function isWriteRequest(r: RequestLogEntry): boolean {
  if (!["PUT", "PATCH", "DELETE", "POST"].includes(r.method)) return false;
  if (isVaultRequest(r)) return true;
  return (
    r.path.toLowerCase().startsWith("/subscriptions/") && !/\/(queryResults|summarize|listCluster(User|Admin)Credential)$/i.test(r.path)
  );
}

/** The writes among a step's requests, ARM and Key Vault apart. */
export function writes(result: Pick<StepResult, "requests">): { arm: number; vault: number } {
  const written = result.requests.filter(isWriteRequest);
  const vault = written.filter(isVaultRequest).length;
  return { arm: written.length - vault, vault };
}

/** The requests of a stage whose jobs ran in parallel, counted together. */
export function stageRequestsLine(stage: string, requests: readonly RequestLogEntry[]): string {
  const w = writes({ requests: [...requests] });
  const arm = requests.filter((r) => r.path.toLowerCase().startsWith("/subscriptions/")).length;
  const vault = requests.filter(isVaultRequest).length;
  return `   Azure, stage ${stage} (its jobs ran in parallel): ${plural(arm, "Resource Manager request")} (${plural(w.arm, "write")}), ${plural(vault, "Key Vault request")} (${plural(w.vault, "write")})`;
}

/**
 * One line per step: its whole name (the column is as wide as the longest), result, `changed` output
 * and writes (a matrix leg's writes are counted with its stage).
 */
export function runTable(run: PipelineRun): string[] {
  const label = (step: StepResult) => `${step.stage} / ${step.job} / ${step.displayName}`;
  const width = Math.max(4, ...run.steps.map((step) => label(step).length));
  return [
    ``,
    `   ${"step".padEnd(width)}  ${"result".padEnd(6)}  ${"changed".padEnd(7)}  writes`,
    ...run.steps.map((step) => {
      const w = writes(step);
      const changed = step.run?.outputs["changed"] ?? "—";
      return `   ${label(step).padEnd(width)}  ${(step.succeeded ? "ok" : "FAILED").padEnd(6)}  ${changed.padEnd(7)}  ${step.parallel ? "(stage)" : w.arm + w.vault}${outcomeNote(step)}`;
    }),
  ];
}

/** What a step without a `changed` output did (a post-job step), or job-scoped access a step opened: from its summary and outputs. */
function outcomeNote(step: StepResult): string {
  const jobScoped = step.run?.outputs["jobScopedAccess"];
  if (jobScoped) return `  (job-scoped access opened: ${jobScoped})`;
  const headline = step.kind === "post" ? /^\*\*(.+?)\*\*/m.exec(step.run?.summaries[0] ?? "")?.[1] : undefined;
  return headline ? `  (${headline})` : "";
}

/** One check of an AksHardeningReport@1 run, as its log shows it. */
export interface ScorecardLine {
  status: "PASS" | "WARN" | "FAIL" | "SKIPPED" | "UNKNOWN";
  /** The check's ID, `<id> (<vault>)` for a Key Vault check. */
  check: string;
  finding: string;
  /** The fix line below it, when there is one. */
  fix?: string;
}

/** The scorecard of a report step: each `[STATUS] check: finding` line of its log, with the `fix:` line under it. */
export function scorecard(run: StepRun): ScorecardLine[] {
  const lines = run.stdout.split("\n");
  const checks: ScorecardLine[] = [];
  lines.forEach((line, i) => {
    const m = /^\s+\[(PASS|WARN|FAIL|SKIPPED|UNKNOWN)\] (\S+(?: \([^)]+\))?): (.*)$/.exec(line);
    if (!m) return;
    const fix = /^\s+fix: (.*)$/.exec(lines[i + 1] ?? "")?.[1];
    checks.push({ status: m[1] as ScorecardLine["status"], check: m[2]!, finding: m[3]!, ...(fix ? { fix } : {}) });
  });
  return checks;
}
