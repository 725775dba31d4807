/**
 * `npm run demo`: the article's hardening pipeline (scripts/demo-pipeline.ts, the same definition as
 * samples/azure-pipelines.yml) against the built-in local Azure. Every task runs from the packaged
 * VSIX exactly as the agent runs it, outputs of one step feed the next, and the demo prints what the
 * pipeline log would show, each job summary and the Azure calls each step made; then it runs the
 * pipeline again to show that a hardened cluster gets no lasting change (the agent's own job-scoped
 * access is opened and closed on every run by design, and reported apart from `changed`).
 *
 *   npm run demo [-- --summaries <dir>]     a cluster from the platform team's template (also writes each
 *                                           job summary of the first run to <dir>)
 *   npm run demo -- --plain                 a cluster as `az aks create` leaves it, and a new key vault
 *   npm run demo -- --fleet                 the fleet variant (samples/fleet-pipelines.yml): the cluster tasks
 *                                           over three clusters as parallel jobs, and one shared vault
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import { Fixture } from "../test/harness/fixture";
import {
  DEMO_AGENT_IP,
  DEMO_BLOCKED_PROBES,
  DEMO_VALUES,
  DEMO_VARIABLES,
  FLEET_CLUSTERS,
  fleetPipeline,
  hardeningPipeline,
  seedFleet,
  seedLocalAzure,
  seedPlain,
} from "./demo-pipeline";
import { demoRunOptions, fleetRunOptions, gateVerdict, startingPoint } from "./demo-run";
import { runPipeline, type PipelineRun, type StepResult } from "./pipeline-runner";
import { runTable, stageRequestsLine, stepLog } from "./demo-log";

const summariesFlag = process.argv.indexOf("--summaries");
const summariesDir = summariesFlag > 0 ? process.argv[summariesFlag + 1] : undefined;

async function main(): Promise<void> {
  if (process.argv.includes("--fleet")) return fleet();
  const plain = process.argv.includes("--plain");
  // Long-running operations answer InProgress once, with Retry-After: 1, as a scaled-down AKS. The
  // service connection names the public cloud (management.azure.com, login.microsoftonline.com), which
  // the local Azure answers for the task processes, so the tasks sign in and call ARM as against Azure.
  const fx = await Fixture.start({ operationPolls: 1, retryAfterSeconds: 1, publicCloudHosts: true, productWaits: true });
  try {
    (plain ? seedPlain : seedLocalAzure)(fx.azure, fx.principalObjectId());
    const v = hardeningPipeline.variables;
    const secrets = {
      dbUrl: `jdbc:sqlserver://todo-sql.database.windows.net:1433;database=todo;encrypt=true;loginTimeout=30;`,
      dbUser: "todoadmin",
      dbPassword: `demo-${randomUUID()}`,
    };
    fx.secrets.push(secrets.dbPassword);
    heading(
      `Local Azure at ${fx.azure.url} (as ${fx.azure.armUrl} and ${fx.azure.authorityUrl}): ` +
        (plain
          ? `cluster '${v.clusterName}' in '${v.resourceGroup}' as az aks create leaves it (Azure CNI Overlay without a network policy engine, local accounts on, no Entra ID, ` +
            `no OIDC issuer, auto-upgrade channel none, node OS channel NodeImage, API server open to every address, no add-ons, no Defender), ` +
            `a new key vault '${v.keyVaultName}' (Azure RBAC, open to every network, purge protection off)`
          : `cluster '${v.clusterName}' in '${v.resourceGroup}' from the platform team's template (Entra ID, Azure RBAC, no local accounts, Cilium, ` +
            `auto-upgrade patch, Defender's sensor; API server open to every address), key vault '${v.keyVaultName}' (access policies, purge protection on)`) +
        `; identity '${v.identityName}', admin group ${DEMO_VALUES.aksAdminGroupObjectId}; this agent's public IP is ${DEMO_AGENT_IP}; ` +
        `a change of authorized ranges reaches the API server after ${DEMO_BLOCKED_PROBES} dropped connection attempts`,
    );

    const runs: PipelineRun[] = [];
    for (const [index, title] of ["First run: harden the cluster", "Second run: the same pipeline again"].entries()) {
      heading(`${title} — pipeline '${hardeningPipeline.name}'`);
      let stage = "";
      const run = await runPipeline(fx, hardeningPipeline, {
        ...demoRunOptions(fx, { plain }),
        secrets,
        variables: DEMO_VARIABLES,
        onStep: (result) => {
          if (result.stage !== stage) {
            stage = result.stage;
            console.log(`\n${"-".repeat(100)}\nStage ${stage}`);
          }
          for (const line of stepLog(result)) console.log(line);
          if (result.run) fx.assertNoSecretsIn(result.run);
          if (index === 0 && summariesDir) saveSummaries(result);
        },
      });
      runs.push(run);
      for (const line of runTable(run)) console.log(line);
      if (!run.succeeded) process.exitCode = 1;
      if (index === 0) for (const line of startingPoint(run)) console.log(line);
      const verdict = gateVerdict(run);
      for (const line of verdict.lines) console.log(line);
      if (!verdict.honest) process.exitCode = 1;
    }
    console.log(
      "\nOn the second run every step reports changed=false. RestrictApiServer@1 still writes twice, by design: it opens\n" +
        "the API server to this agent for the deploy job (output jobScopedAccess) and its post-job step closes it again,\n" +
        "so the API server is never left open to a build agent. KeyVaultSecrets@1 does the same with a vault's firewall\n" +
        "when it denies by default. AksHardeningReport@1 runs first (the scorecard before) and last (the gate); it only reads.",
    );
  } finally {
    await fx.close();
  }
}

/** The fleet variant, run twice: every cluster hardened by a parallel job, then nothing to do. */
async function fleet(): Promise<void> {
  const fx = await Fixture.start({ operationPolls: 1, retryAfterSeconds: 1, productWaits: true });
  try {
    seedFleet(fx.azure, fx.principalObjectId(), randomUUID());
    const secrets = {
      dbUrl: "jdbc:sqlserver://todo-sql.database.windows.net:1433;database=todo;",
      dbUser: "todoadmin",
      dbPassword: `demo-${randomUUID()}`,
    };
    fx.secrets.push(secrets.dbPassword);
    const clusters = Object.values(FLEET_CLUSTERS).map((c) => `'${c.clusterName}' (${c.resourceGroup})`);
    heading(
      `Local Azure at ${fx.azure.url}: clusters ${clusters.join(", ")}, one identity each; the team's vault '${fleetPipeline.variables.keyVaultName}'`,
    );
    for (const title of ["First run: harden the fleet", "Second run: the same pipeline again"]) {
      heading(`${title} — pipeline '${fleetPipeline.name}'`);
      const jobsShown = new Set<string>();
      let stage = "";
      const run = await runPipeline(fx, fleetPipeline, {
        secrets,
        ...fleetRunOptions(fx),
        onStep: (result) => {
          if (result.stage !== stage) {
            stage = result.stage;
            console.log(`\n${"-".repeat(100)}\nStage ${stage}`);
          }
          if (!jobsShown.has(result.job)) console.log(`\n  Job ${result.job}`);
          jobsShown.add(result.job);
          for (const line of stepLog(result)) console.log(line);
          if (result.run) fx.assertNoSecretsIn(result.run);
        },
      });
      console.log(`\n${stageRequestsLine("Harden", run.stageRequests["Harden"] ?? [])}`);
      for (const line of runTable(run)) console.log(line);
      if (!run.succeeded) process.exitCode = 1;
    }
  } finally {
    await fx.close();
  }
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

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
