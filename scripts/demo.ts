/**
 * `npm run demo`: the article's hardening pipeline (scripts/demo-pipeline.ts, the same definition as
 * samples/azure-pipelines.yml) against the built-in local Azure. Every task runs from the packaged
 * VSIX exactly as the agent runs it, outputs of one step feed the next, and the demo prints what the
 * pipeline log would show, each job summary and the Azure calls each step made; then it runs the
 * pipeline again to show that a hardened cluster gets no write (except the agent's own job-scoped
 * access, which is opened and closed on every run by design).
 *
 *   npm run demo [-- --summaries <dir>]     (also writes each job summary of the first run to <dir>)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { Fixture } from "../test/harness/fixture";
import type { StepRun } from "../test/harness/agent";
import { DEMO_AGENT_IP, hardeningPipeline, seedLocalAzure, type PipelineStep } from "./demo-pipeline";
import { runPipeline, type ExternalResult, type PipelineRun, type StepResult } from "./pipeline-runner";

const summariesFlag = process.argv.indexOf("--summaries");
const summariesDir = summariesFlag > 0 ? process.argv[summariesFlag + 1] : undefined;

async function main(): Promise<void> {
  // Long-running operations answer InProgress once, with Retry-After: 1, as a scaled-down AKS. The
  // service connection names the public cloud (management.azure.com, login.microsoftonline.com), which
  // the local Azure answers for the task processes, so the tasks sign in and call ARM as against Azure.
  const fx = await Fixture.start({ operationPolls: 1, retryAfterSeconds: 1, publicCloudHosts: true });
  try {
    seedLocalAzure(fx.azure, fx.principalObjectId());
    const v = hardeningPipeline.variables;
    const secrets = {
      dbUrl: `jdbc:sqlserver://todo-sql.database.windows.net:1433;database=todo;encrypt=true;loginTimeout=30;`,
      dbUser: "todoadmin",
      dbPassword: `demo-${randomUUID()}`,
    };
    fx.secrets.push(secrets.dbPassword);
    heading(
      `Local Azure at ${fx.azure.url} (as ${fx.azure.armUrl} and ${fx.azure.authorityUrl}): cluster '${v.clusterName}' in '${v.resourceGroup}' (API server open to every address), ` +
        `identity '${v.identityName}', key vault '${v.keyVaultName}'; this agent's public IP is ${DEMO_AGENT_IP}`,
    );

    const runs: PipelineRun[] = [];
    for (const [index, title] of ["First run: harden the cluster", "Second run: the same pipeline again"].entries()) {
      heading(`${title} — pipeline '${hardeningPipeline.name}'`);
      let stage = "";
      const run = await runPipeline(fx, hardeningPipeline, {
        secrets,
        inputOverrides: { RestrictApiServer: { agentIpServiceUrl: `${fx.azure.url}/ip` } },
        external: (step, inputs) => deployPlaceholder(fx, step, inputs),
        onStep: (result) => {
          if (result.stage !== stage) {
            stage = result.stage;
            console.log(`\n${"-".repeat(100)}\nStage ${stage}`);
          }
          show(result);
          if (result.run) fx.assertNoSecretsIn(result.run);
          if (index === 0 && summariesDir) saveSummaries(result);
        },
      });
      runs.push(run);
      table(run);
      if (!run.succeeded) process.exitCode = 1;
    }
    console.log(
      "\nOn the second run every step reports changed=false and writes nothing, except RestrictApiServer@1's job-scoped\n" +
        "access: the agent's IP is added for the deploy job and removed by the post-job step on every run, by design,\n" +
        "so the API server is never left open to a build agent.",
    );
  } finally {
    await fx.close();
  }
}

/** The deploy placeholder: checks that the API server now admits this agent, and shows what would run. */
function deployPlaceholder(fx: Fixture, step: PipelineStep, inputs: Record<string, string>): ExternalResult {
  const v = hardeningPipeline.variables;
  const cluster = fx.azure.store.getManagedCluster(v.resourceGroup!, v.clusterName!);
  const ranges = ((cluster?.properties?.["apiServerAccessProfile"] as { authorizedIPRanges?: string[] } | undefined)?.authorizedIPRanges ??
    []) as string[];
  const admitted = ranges.includes(`${DEMO_AGENT_IP}/32`);
  return {
    succeeded: admitted,
    lines: [
      `${step.task} would run (not in the demo):`,
      ...(inputs.inlineScript ?? "")
        .trimEnd()
        .split("\n")
        .map((line) => `  $ ${line}`),
      admitted
        ? `The API server admits this agent now: authorized ranges ${ranges.join(", ")}`
        : `The API server does NOT admit this agent (${DEMO_AGENT_IP}): authorized ranges ${ranges.join(", ") || "(none)"}`,
    ],
  };
}

function saveSummaries(result: StepResult): void {
  if (!summariesDir || !result.run) return;
  mkdirSync(summariesDir, { recursive: true });
  result.run.summaries.forEach((summary, i) => {
    const file = path.join(summariesDir, `${result.stage}-${result.name}${result.kind === "post" ? "-post" : ""}${i ? `-${i}` : ""}.md`);
    writeFileSync(file, summary);
  });
}

function heading(text: string): void {
  console.log(`\n${"=".repeat(100)}\n${text}\n${"=".repeat(100)}`);
}

/** What the pipeline log shows (debug lines hidden, as without system.debug), the job summary, and the ARM calls. */
function show(result: StepResult): void {
  const status = result.run
    ? `${result.run.result}${result.run.resultMessage ? ` (${result.run.resultMessage})` : ""}`
    : result.succeeded
      ? "Succeeded"
      : "Failed";
  console.log(`\n── ${result.displayName} [${result.task}]: ${status}`);
  if (result.external) for (const line of result.external.lines) console.log(`   ${line}`);
  if (result.run) printLog(result.run);
  const arm = result.requests.filter((r) => r.path.toLowerCase().startsWith("/subscriptions/"));
  const vault = result.requests.filter((r) => r.host.includes(".vault.azure.net"));
  if (arm.length + vault.length === 0) return;
  console.log(
    `\n   Azure: ${arm.length} Resource Manager requests (${writes(result).arm} writes), ${vault.length} Key Vault requests (${writes(result).vault} writes)`,
  );
  for (const r of [...arm, ...vault]) {
    const where = r.host.includes(".vault.azure.net") ? `https://${r.host.split(":")[0]}` : "";
    const p = r.path.replace(/^\/subscriptions\/[^/]+/, "/subscriptions/…").replace(/\/resourceGroups\/[^/]+/, "/resourceGroups/…");
    console.log(`     ${r.method.padEnd(6)} ${where}${p} → ${r.status}${r.ifMatch ? ` (If-Match)` : ""}`);
  }
}

function printLog(run: StepRun): void {
  for (const line of run.stdout.split("\n")) {
    if (!line || line.startsWith("##vso[task.debug]") || line.startsWith("##vso[task.setsecret]")) continue;
    const command = /^##vso\[task\.(\w+)([^\]]*)\](.*)$/.exec(line);
    if (!command) console.log(`   ${line}`);
    else if (command[1] === "issue") console.log(`   ${/type=warning/.test(command[2]!) ? "WARNING" : "ERROR"}: ${command[3]}`);
    else if (command[1] === "setvariable") console.log(`   output ${/variable=([^;]+)/.exec(command[2]!)?.[1]} = ${command[3]}`);
  }
  for (const summary of run.summaries) console.log(`\n   Job summary:\n${summary.trimEnd().replace(/^/gm, "   │ ")}`);
}

/** Writes: ARM PUT/PATCH/DELETE and POST actions other than queries; Key Vault data-plane PUT/POST/DELETE/PATCH. */
export function writes(result: StepResult): { arm: number; vault: number } {
  const isWrite = (m: string) => ["PUT", "PATCH", "DELETE", "POST"].includes(m);
  return {
    arm: result.requests.filter(
      (r) => r.path.toLowerCase().startsWith("/subscriptions/") && isWrite(r.method) && !/\/(queryResults|summarize)$/i.test(r.path),
    ).length,
    vault: result.requests.filter((r) => r.host.includes(".vault.azure.net") && isWrite(r.method)).length,
  };
}

function table(run: PipelineRun): void {
  console.log(`\n   ${"step".padEnd(78)} ${"result".padEnd(10)} ${"changed".padEnd(8)} writes`);
  for (const step of run.steps) {
    const w = writes(step);
    const label = `${step.stage} / ${step.displayName}`.slice(0, 78);
    console.log(
      `   ${label.padEnd(78)} ${(step.succeeded ? "ok" : "FAILED").padEnd(10)} ${(step.run?.outputs["changed"] ?? "-").padEnd(8)} ${w.arm + w.vault}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
