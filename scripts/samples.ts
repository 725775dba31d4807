/**
 * Renders the demo pipeline (scripts/demo-pipeline.ts) into the samples users copy:
 *   samples/azure-pipelines.yml      a multi-stage YAML pipeline
 *   samples/classic-release.json     the same as a classic release definition (Releases → New → Import release pipeline)
 *   samples/fleet-pipelines.yml      the fleet variant: the cluster tasks over several clusters as parallel jobs (YAML only)
 *
 *   npm run samples            rewrites the three files
 * test/extension/samples.test.ts fails when the committed files differ from what this renders.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import {
  fleetPipeline,
  hardeningPipeline,
  SERVICE_CONNECTION,
  STOCK_TASKS,
  type Pipeline,
  type PipelineStep,
  type SourceArtifact,
} from "./demo-pipeline";

export const repoRoot = path.resolve(__dirname, "..");
export const SAMPLE_FILES = {
  yaml: path.join(repoRoot, "samples", "azure-pipelines.yml"),
  classic: path.join(repoRoot, "samples", "classic-release.json"),
  fleet: path.join(repoRoot, "samples", "fleet-pipelines.yml"),
};

const generated = (pipeline: Pipeline) =>
  `Generated from scripts/demo-pipeline.ts by \`npm run samples\`; \`${pipeline.demoCommand}\` runs this pipeline locally.`;

interface TaskJson {
  id: string;
  name: string;
  inputs: { name: string; defaultValue?: string; aliases?: string[] }[];
}

/** This extension's task.json, for a `Task@1` reference; undefined for other tasks. */
export function extensionTask(task: string): TaskJson | undefined {
  const name = task.replace(/@\d+$/, "");
  try {
    return JSON.parse(readFileSync(path.join(repoRoot, "tasks", name, "task.json"), "utf8")) as TaskJson;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// YAML

function scalar(value: string): string {
  if (value === "true" || value === "false") return value;
  const plain = /^[A-Za-z0-9$(][\w$().,@/' -]*$/.test(value) && !/ $/.test(value) && !/^[\d.]+$/.test(value);
  return plain ? value : JSON.stringify(value);
}

function entry(indent: string, key: string, value: string): string[] {
  if (!value.includes("\n")) return [`${indent}${key}: ${scalar(value)}`];
  const body = value.replace(/\n$/, "").split("\n");
  return [`${indent}${key}: |`, ...body.map((line) => (line ? `${indent}  ${line}` : ""))];
}

function comment(indent: string, text: string | undefined): string[] {
  return text ? text.split("\n").map((line) => `${indent}# ${line}`) : [];
}

/** Words of `text` in lines of at most 110 characters, the first after `first`, the others after `rest`. */
function wrap(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(" ")) {
    if (line.trim() && line.length + 1 + word.length > 110) {
      lines.push(line);
      line = rest;
    }
    line += line.trim() ? ` ${word}` : word;
  }
  return [...lines, line];
}

/** The values a user must change before the first run, as the sample's opening comment lines (without `# `). */
export function valuesToChangeLines(pipeline: Pipeline, p: { classic?: boolean } = {}): string[] {
  // A classic release picks each task's service connection after import, rather than by name.
  const values = pipeline.valuesToChange.filter((value) => !(p.classic && value.names.includes(SERVICE_CONNECTION)));
  return [
    "Before the first run, change these (each is used as written):",
    ...values.flatMap((value) => wrap(`${value.names.join(", ")}: ${value.note}`, "  ", "      ")),
    "and create these secret variables (Pipelines → Edit → Variables, or a variable group, marked secret):",
    ...Object.entries(pipeline.secretVariables).map(([name, text]) => `  ${name}: ${text}`),
  ];
}

export function renderYaml(pipeline: Pipeline): string {
  const out: string[] = [
    ...`${pipeline.name}: ${pipeline.description}`.split("\n").map((line) => `# ${line}`),
    `# ${generated(pipeline)}`,
    "#",
    ...valuesToChangeLines(pipeline).map((line) => `# ${line}`),
    "",
    "trigger: none",
    "",
    "pool:",
    "  vmImage: ubuntu-latest",
    "",
    "variables:",
    ...Object.entries(pipeline.variables).flatMap(([k, v]) => entry("  ", k, v)),
    "",
    "stages:",
  ];
  for (const stage of pipeline.stages) {
    out.push(`  - stage: ${stage.stage}`, `    displayName: ${scalar(stage.displayName)}`);
    if (stage.dependsOn) out.push(`    dependsOn: ${stage.dependsOn}`);
    out.push("    jobs:");
    for (const job of stage.jobs) {
      out.push(`      - job: ${job.job}`, `        displayName: ${scalar(job.displayName)}`);
      if (job.variables) {
        out.push("        variables:", ...Object.entries(job.variables).flatMap(([k, v]) => entry("          ", k, v)));
      }
      if (job.strategy) {
        out.push("        strategy:", `          maxParallel: ${job.strategy.maxParallel}`, "          matrix:");
        for (const [leg, values] of Object.entries(job.strategy.matrix)) {
          out.push(`            ${leg}:`, ...Object.entries(values).flatMap(([k, v]) => entry("              ", k, v)));
        }
      }
      // A job that reads no file of the repository does not wait for its checkout.
      out.push("        steps:", `          - checkout: ${job.usesSource ? "self" : "none"}`);
      for (const step of job.steps) {
        out.push(...comment("          ", step.comment), `          - task: ${step.task}`);
        if (step.name) out.push(`            name: ${step.name}`);
        out.push(`            displayName: ${scalar(step.displayName)}`, "            inputs:");
        for (const [k, v] of Object.entries(step.inputs)) out.push(...entry("              ", k, v));
      }
    }
    out.push("");
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Classic release definition

function workflowTask(step: PipelineStep, rank: number) {
  const ours = extensionTask(step.task);
  const stock = STOCK_TASKS[step.task];
  if (!ours && !stock) throw new Error(`${step.task}: neither this extension's task nor a known stock task`);
  const inputs: Record<string, string> = {};
  // An exported definition lists every input; the service connection is picked after import.
  for (const input of ours?.inputs ?? []) inputs[input.name] = input.defaultValue ?? "";
  for (const [k, v] of Object.entries({ ...step.inputs, ...step.classicInputs })) inputs[k] = v;
  if (ours) inputs["azureSubscription"] = "";
  else {
    delete inputs["azureSubscription"];
    if (stock!.connectionInput) inputs[stock!.connectionInput] = "";
  }
  return {
    environment: {},
    taskId: ours ? ours.id : stock!.id,
    version: step.task.replace(/^.*@(\d+)$/, "$1.*"),
    name: step.displayName,
    refName: step.name ?? "",
    enabled: true,
    alwaysRun: false,
    continueOnError: false,
    timeoutInMinutes: 0,
    retryCountOnTaskFailure: 0,
    definitionType: "task",
    overrideInputs: {},
    condition: "succeeded()",
    inputs,
    rank,
  };
}

/**
 * The repository as an Azure Repos Git artifact, in the shape the release definitions API exports.
 * The project and repository IDs are placeholders: after import, pick the repository in the artifact.
 */
function sourceArtifact(source: SourceArtifact) {
  const none = { id: "", name: "" };
  return {
    sourceId: "<project-id>:<repository-id>",
    type: "Git",
    alias: source.alias,
    definitionReference: {
      branches: { id: source.branch, name: source.branch },
      checkoutSubmodules: none,
      defaultVersionSpecific: none,
      defaultVersionType: { id: "latestFromBranchType", name: "Latest from the default branch" },
      definition: { id: "<repository-id>", name: source.repository },
      fetchDepth: none,
      gitLfsSupport: none,
      project: { id: "<project-id>", name: "<your project>" },
    },
    isPrimary: true,
    isRetained: false,
  };
}

export function renderClassic(pipeline: Pipeline): string {
  const approvals = { approvals: [{ rank: 1, isAutomated: true, isNotificationOn: false }] };
  const definition = {
    name: pipeline.name,
    description: [
      `The article's hardening steps as a classic release. ${generated(pipeline)}`,
      `After importing: point the artifact ${pipeline.source.alias} (its project and repository IDs are placeholders) at the repository holding the app's deploy/ folder, and choose the agent pool of each stage and the Azure Resource Manager service connection of each task (its permissions: docs/least-privilege.md of the extension).`,
      ...valuesToChangeLines(pipeline, { classic: true }),
    ].join("\n"),
    path: "\\",
    releaseNameFormat: "Release-$(rev:r)",
    variables: {
      ...Object.fromEntries(Object.entries(pipeline.variables).map(([k, v]) => [k, { value: v }])),
      ...Object.fromEntries(Object.keys(pipeline.secretVariables).map((k) => [k, { value: "", isSecret: true }])),
    },
    variableGroups: [],
    artifacts: [sourceArtifact(pipeline.source)],
    triggers: [],
    tags: ["aks", "hardening"],
    properties: {},
    environments: pipeline.stages.map((stage, index) => ({
      name: stage.displayName,
      rank: index + 1,
      variables: {},
      variableGroups: [],
      preDeployApprovals: approvals,
      postDeployApprovals: approvals,
      deployPhases: stage.jobs.map((job, jobIndex) => ({
        name: job.displayName,
        refName: job.job,
        rank: jobIndex + 1,
        phaseType: "agentBasedDeployment",
        deploymentInput: {
          parallelExecution: { parallelExecutionType: "none" },
          agentSpecification: { identifier: "ubuntu-latest" },
          skipArtifactsDownload: !job.usesSource,
          artifactsDownloadInput: {
            downloadInputs: job.usesSource
              ? [{ alias: pipeline.source.alias, artifactType: "Git", artifactDownloadMode: "All", artifactItems: [] }]
              : [],
          },
          demands: [],
          enableAccessToken: false,
          timeoutInMinutes: 0,
          jobCancelTimeoutInMinutes: 1,
          condition: "succeeded()",
          overrideInputs: {},
        },
        workflowTasks: job.steps.map((step, stepIndex) => workflowTask(step, stepIndex + 1)),
      })),
      // The first stage starts with the release; each next one when the previous succeeded (environment state 4).
      conditions:
        index === 0
          ? [{ name: "ReleaseStarted", conditionType: 1, value: "" }]
          : [{ name: pipeline.stages[index - 1]!.displayName, conditionType: 2, value: "4" }],
      executionPolicy: { concurrencyCount: 1, queueDepthCount: 0 },
      retentionPolicy: { daysToKeep: 30, releasesToKeep: 3, retainBuild: true },
      environmentOptions: {
        emailNotificationType: "OnlyOnFailure",
        emailRecipients: "release.environment.owner;release.creator",
        skipArtifactsDownload: !stage.jobs.some((job) => job.usesSource),
        timeoutInMinutes: 0,
        enableAccessToken: false,
        publishDeploymentStatus: true,
        badgeEnabled: false,
        autoLinkWorkItems: false,
        pullRequestDeploymentEnabled: false,
      },
      demands: [],
      schedules: [],
      environmentTriggers: [],
    })),
  };
  return JSON.stringify(definition, null, 2) + "\n";
}

/** The samples, formatted as the repository's Prettier configuration formats them. */
export async function renderSamples(): Promise<{ yaml: string; classic: string; fleet: string }> {
  const format = async (text: string, file: string) => prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
  return {
    yaml: await format(renderYaml(hardeningPipeline), SAMPLE_FILES.yaml),
    classic: await format(renderClassic(hardeningPipeline), SAMPLE_FILES.classic),
    fleet: await format(renderYaml(fleetPipeline), SAMPLE_FILES.fleet),
  };
}

if (require.main === module) {
  void renderSamples().then((samples) => {
    writeFileSync(SAMPLE_FILES.yaml, samples.yaml);
    writeFileSync(SAMPLE_FILES.classic, samples.classic);
    writeFileSync(SAMPLE_FILES.fleet, samples.fleet);
    console.log(
      `wrote ${Object.values(SAMPLE_FILES)
        .map((file) => path.relative(repoRoot, file))
        .join(", ")}`,
    );
  });
}
