/**
 * Runs a pipeline definition (scripts/demo-pipeline.ts) the way Azure Pipelines would, against the
 * local Azure: stages and jobs in order; in a job, each of this extension's tasks runs from the
 * packaged VSIX with the agent's protocol; `$(variable)`, `$(secretVariable)` and `$(step.output)`
 * macros are expanded in inputs as the agent expands them; a job variable
 * `$[ stageDependencies.<stage>.<job>.outputs['<step>.<output>'] ]` reads an earlier stage's output;
 * post-job steps run after the job's steps, in reverse order, with the task variables their main step
 * set. A failed step skips the rest of its job (post-job steps still run) and every later stage.
 * A job with `strategy.matrix` runs once per leg, the legs at the same time (as parallel jobs on as
 * many agents), each with its leg's variables. Steps of other tasks (the deploy placeholder) are
 * handed to `external`, with their inputs expanded.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { runStep, type StepRun } from "../test/harness/agent";
import type { Fixture } from "../test/harness/fixture";
import type { RequestLogEntry } from "../local-azure/index";
import { SERVICE_CONNECTION, type Inputs, type Pipeline, type PipelineJob, type PipelineStep } from "./demo-pipeline";

export interface StepResult {
  stage: string;
  /** The job, `<job>.<leg>` for a leg of a matrix. */
  job: string;
  /** The step's reference name, or its task when it has none. */
  name: string;
  displayName: string;
  task: string;
  /** main: the task's execution; post: its post-job execution; external: a step of another task. */
  kind: "main" | "post" | "external";
  /** Inputs after macro expansion (secret values included: do not print). */
  inputs: Inputs;
  /** The packaged task's run (main and post). */
  run?: StepRun;
  /** What an external step reported. */
  external?: ExternalResult;
  succeeded: boolean;
  /**
   * Requests the local Azure received during the step. In a job that ran beside others (a matrix
   * leg) they include the other legs' requests of the same moment: `parallel` says so.
   */
  requests: RequestLogEntry[];
  parallel: boolean;
}

export interface ExternalResult {
  succeeded: boolean;
  lines: string[];
}

export interface PipelineRunOptions {
  /** Values of the pipeline's secret variables. */
  secrets: Record<string, string>;
  /**
   * Inputs a step gets on top of the definition's, by task name (every step of that task: the local
   * Azure's public-IP service) or by the step's reference name (one step).
   */
  inputOverrides?: Record<string, Inputs>;
  /** Values of the definition's variables for this run, as a run queued with other values would have them. */
  pipelineVariables?: Record<string, string>;
  /** Runs a step of a task that is not part of this extension. */
  external?: (step: PipelineStep, inputs: Inputs) => Promise<ExternalResult> | ExternalResult;
  /** Called as each step ends; for the legs of a matrix, each leg's steps together as the leg ends. */
  onStep?: (result: StepResult) => void;
  /** Variables every step sees that the definition does not hold (e.g. a shorter API server probe in the demo). */
  variables?: Record<string, string>;
}

export interface PipelineRun {
  succeeded: boolean;
  steps: StepResult[];
  /** Output variables by `<stage>.<job>.<step>.<output>`. */
  outputs: Record<string, string>;
  /** Requests the local Azure received during each stage. */
  stageRequests: Record<string, RequestLogEntry[]>;
}

/** Predefined variables a script step uses, with the values a Microsoft-hosted Ubuntu agent gives them (one checkout). */
const PREDEFINED: Record<string, string> = {
  "Pipeline.Workspace": "/home/vsts/work/1",
  "Build.SourcesDirectory": "/home/vsts/work/1/s",
  "System.DefaultWorkingDirectory": "/home/vsts/work/1/s",
};

const STAGE_DEPENDENCY = /^\$\[\s*stageDependencies\.(\w+)\.(\w+)\.outputs\['(\w+)\.(\w+)'\]\s*\]$/;

/** Expands `$(name)` macros the agent knows; unknown ones stay as written, as the agent leaves them. */
export function expandMacros(text: string, values: Record<string, string>): string {
  return text.replace(/\$\(([\w.]+)\)/g, (whole, name: string) => values[name] ?? whole);
}

function hasPostJob(taskDir: string): boolean {
  const taskJson = JSON.parse(readFileSync(path.join(taskDir, "task.json"), "utf8")) as { postjobexecution?: unknown };
  return taskJson.postjobexecution !== undefined;
}

export async function runPipeline(fx: Fixture, pipeline: Pipeline, options: PipelineRunOptions): Promise<PipelineRun> {
  const steps: StepResult[] = [];
  const outputs: Record<string, string> = {};
  const stageRequests: Record<string, RequestLogEntry[]> = {};
  let pipelineSucceeded = true;

  for (const stage of pipeline.stages) {
    if (!pipelineSucceeded) break;
    const before = fx.azure.requests.length;
    for (const job of stage.jobs) {
      // Variables visible in this job: pipeline, job (stage dependencies resolved), secrets, then step outputs.
      const values: Record<string, string> = { ...PREDEFINED, ...pipeline.variables, ...options.pipelineVariables };
      for (const [name, value] of Object.entries(job.variables ?? {})) {
        const dependency = STAGE_DEPENDENCY.exec(value);
        values[name] = dependency ? (outputs[dependency.slice(1).join(".")] ?? "") : expandMacros(value, values);
      }
      Object.assign(values, options.secrets);
      const legs = Object.entries(job.strategy?.matrix ?? {});
      const runs = legs.length
        ? await Promise.all(
            legs.map(([leg, legValues]) =>
              runJob(fx, stage.stage, `${job.job}.${leg}`, job, { ...values, ...legValues }, options, outputs, true),
            ),
          )
        : [await runJob(fx, stage.stage, job.job, job, values, options, outputs, false)];
      for (const run of runs) {
        steps.push(...run.steps);
        for (const step of run.steps) options.onStep?.(step);
        pipelineSucceeded &&= run.succeeded;
      }
    }
    stageRequests[stage.stage] = fx.azure.requests.slice(before);
  }
  return { succeeded: pipelineSucceeded, steps, outputs, stageRequests };
}

/** One job (or one leg of a matrix) on its own agent: its steps in order, then its post-job steps in reverse. */
async function runJob(
  fx: Fixture,
  stage: string,
  jobName: string,
  job: PipelineJob,
  values: Record<string, string>,
  options: PipelineRunOptions,
  outputs: Record<string, string>,
  parallel: boolean,
): Promise<{ succeeded: boolean; steps: StepResult[] }> {
  const steps: StepResult[] = [];
  const postJob: { step: PipelineStep; taskName: string; inputs: Inputs; taskVariables: Record<string, string> }[] = [];
  let jobSucceeded = true;
  for (const step of job.steps) {
    if (!jobSucceeded) break;
    const taskName = step.task.replace(/@\d+$/, "");
    const inputs: Inputs = {};
    const overrides = { ...options.inputOverrides?.[taskName], ...(step.name ? options.inputOverrides?.[step.name] : {}) };
    for (const [key, value] of Object.entries({ ...step.inputs, ...overrides })) {
      inputs[key] = expandMacros(value, values);
    }
    const base = { stage, job: jobName, name: step.name ?? taskName, displayName: step.displayName, task: step.task, inputs, parallel };
    const before = fx.azure.requests.length;
    const taskDir = fx.taskDir(taskName);
    if (!existsSync(path.join(taskDir, "task.json"))) {
      const external = options.external ? await options.external(step, inputs) : { succeeded: true, lines: [] };
      jobSucceeded = external.succeeded;
      steps.push({ ...base, kind: "external", external, succeeded: external.succeeded, requests: fx.azure.requests.slice(before) });
      continue;
    }
    // The agent resolves the service connection by name; the fixture passes its endpoint.
    const { azureSubscription, ...taskInputs } = inputs;
    if (azureSubscription !== SERVICE_CONNECTION) throw new Error(`${step.displayName}: unknown service connection '${azureSubscription}'`);
    const run = await runStep(
      path.join(taskDir, "index.js"),
      fx.stepOptions({ inputs: taskInputs, secrets: options.secrets, ...(options.variables ? { variables: options.variables } : {}) }),
    );
    const succeeded = run.result === "Succeeded" || run.result === "SucceededWithIssues";
    jobSucceeded = succeeded;
    steps.push({ ...base, kind: "main", run, succeeded, requests: fx.azure.requests.slice(before) });
    for (const [output, value] of Object.entries(run.outputs)) {
      values[`${base.name}.${output}`] = value;
      outputs[`${stage}.${jobName}.${base.name}.${output}`] = value;
    }
    if (hasPostJob(taskDir)) postJob.push({ step, taskName, inputs: taskInputs, taskVariables: run.taskVariables });
  }

  for (const post of postJob.reverse()) {
    const before = fx.azure.requests.length;
    const stepOptions = fx.stepOptions({
      inputs: post.inputs,
      secrets: options.secrets,
      taskVariables: post.taskVariables,
      ...(options.variables ? { variables: options.variables } : {}),
    });
    const run = await runStep(path.join(fx.taskDir(post.taskName), "post.js"), {
      ...stepOptions,
      env: { ...stepOptions.env, AGENT_JOBSTATUS: jobSucceeded ? "Succeeded" : "Failed" },
    });
    const succeeded = run.result === "Succeeded" || run.result === "SucceededWithIssues";
    jobSucceeded &&= succeeded;
    steps.push({
      stage,
      job: jobName,
      name: post.step.name ?? post.taskName,
      displayName: `Post-job: ${post.step.displayName}`,
      task: post.step.task,
      inputs: post.inputs,
      kind: "post",
      run,
      succeeded,
      requests: fx.azure.requests.slice(before),
      parallel,
    });
  }
  return { succeeded: jobSucceeded, steps };
}
