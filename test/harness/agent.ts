import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Endpoint } from "../../local-azure/clients";

/**
 * Runs a packaged task the way the Azure Pipelines agent does: `node <task folder>/<target>` with
 * inputs, endpoints, variables and secrets in the environment, reading `##vso[...]` commands from
 * stdout. Nothing of the repository's node_modules is reachable from the extracted package.
 */

export type { Endpoint };

export interface StepOptions {
  inputs: Record<string, string | boolean | undefined>;
  endpoints: Endpoint[];
  /** The job's access token (System.AccessToken), exposed as the SystemVssConnection endpoint. */
  systemAccessToken?: string;
  /** Pipeline variables (name as in YAML, e.g. `System.Debug`). */
  variables?: Record<string, string>;
  /** Secret pipeline variables. */
  secrets?: Record<string, string>;
  /** Task variables set by an earlier step of the same task (for the post-job step). */
  taskVariables?: Record<string, string>;
  /** Raw environment additions (e.g. NODE_EXTRA_CA_CERTS), applied last. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** The job is cancelled when this settles: the agent sends the running step SIGINT. */
  cancel?: Promise<unknown>;
}

export interface VsoCommand {
  area: string;
  action: string;
  properties: Record<string, string>;
  message: string;
}

export interface StepRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Every line of stdout and stderr, for secret scans. */
  lines: string[];
  commands: VsoCommand[];
  /** From `task.complete`; undefined when the task never reported one. */
  result?: string;
  resultMessage?: string;
  outputs: Record<string, string>;
  taskVariables: Record<string, string>;
  /** Secrets the task registered with `task.setsecret`. */
  registeredSecrets: string[];
  warnings: string[];
  errors: string[];
  /** Contents of the markdown files uploaded with `task.uploadsummary`. */
  summaries: string[];
  durationMs: number;
}

export function envName(name: string): string {
  return name.replace(/[. ]/g, "_").toUpperCase();
}

export function buildEnvironment(options: StepOptions, tempDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: "C.UTF-8",
    AGENT_VERSION: "4.264.2",
    AGENT_TEMPDIRECTORY: tempDir,
    AGENT_WORKFOLDER: tempDir,
    AGENT_JOBSTATUS: "Succeeded",
    SYSTEM_HOSTTYPE: "release",
    SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: "https://dev.azure.com/local-org/",
    SYSTEM_TEAMPROJECT: "local-project",
  };
  for (const [name, value] of Object.entries(options.inputs)) {
    if (value !== undefined) env[`INPUT_${envName(name)}`] = String(value);
  }
  for (const endpoint of options.endpoints) addEndpoint(env, endpoint);
  if (options.systemAccessToken !== undefined) {
    addEndpoint(env, {
      id: "SYSTEMVSSCONNECTION",
      url: "https://dev.azure.com/local-org/",
      scheme: "OAuth",
      parameters: { AccessToken: options.systemAccessToken },
      data: {},
    });
  }
  for (const [name, value] of Object.entries(options.variables ?? {})) env[envName(name)] = value;
  for (const [name, value] of Object.entries(options.secrets ?? {})) env[`SECRET_${envName(name)}`] = value;
  // As the agent lists them (Agent.Worker Handlers/Handler.cs): task-lib marks these names as secret.
  if (options.secrets) env["VSTS_SECRET_VARIABLES"] = JSON.stringify(Object.keys(options.secrets));
  for (const [name, value] of Object.entries(options.taskVariables ?? {})) env[`VSTS_TASKVARIABLE_${envName(name)}`] = value;
  return { ...env, ...options.env };
}

/** As the agent does: the endpoint id verbatim, parameter and data keys in environment form. */
function addEndpoint(env: NodeJS.ProcessEnv, endpoint: Endpoint): void {
  env[`ENDPOINT_URL_${endpoint.id}`] = endpoint.url;
  env[`ENDPOINT_AUTH_${endpoint.id}`] = JSON.stringify({ parameters: endpoint.parameters, scheme: endpoint.scheme });
  env[`ENDPOINT_AUTH_SCHEME_${endpoint.id}`] = endpoint.scheme;
  for (const [key, value] of Object.entries(endpoint.parameters)) env[`ENDPOINT_AUTH_PARAMETER_${endpoint.id}_${envName(key)}`] = value;
  for (const [key, value] of Object.entries(endpoint.data)) env[`ENDPOINT_DATA_${endpoint.id}_${envName(key)}`] = value;
}

export async function runStep(script: string, options: StepOptions): Promise<StepRun> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-temp-"));
  const env = buildEnvironment(options, tempDir);
  const started = Date.now();
  const child = spawn(process.execPath, [script], { env, cwd: tempDir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  void options.cancel?.then(() => child.exitCode === null && child.kill("SIGINT"));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${path.basename(path.dirname(script))}/${path.basename(script)} did not finish within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const run = parseOutput(stdout, stderr);
  fs.rmSync(tempDir, { recursive: true, force: true });
  return { ...run, exitCode, durationMs: Date.now() - started };
}

function parseOutput(stdout: string, stderr: string): Omit<StepRun, "exitCode" | "durationMs"> {
  const lines = `${stdout}\n${stderr}`.split(/\r?\n/);
  const commands = stdout
    .split(/\r?\n/)
    .map(parseCommand)
    .filter((c): c is VsoCommand => c !== undefined);
  const outputs: Record<string, string> = {};
  const taskVariables: Record<string, string> = {};
  const registeredSecrets: string[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const summaries: string[] = [];
  let result: string | undefined;
  let resultMessage: string | undefined;
  for (const command of commands) {
    const key = `${command.area}.${command.action}`;
    if (key === "task.setvariable" && command.properties.isOutput === "true") outputs[command.properties.variable ?? ""] = command.message;
    else if (key === "task.settaskvariable") taskVariables[command.properties.variable ?? ""] = command.message;
    else if (key === "task.setsecret") registeredSecrets.push(command.message);
    else if (key === "task.issue" && command.properties.type === "warning") warnings.push(command.message);
    else if (key === "task.issue" && command.properties.type === "error") errors.push(command.message);
    else if (key === "task.uploadsummary") summaries.push(fs.readFileSync(command.message, "utf8"));
    else if (key === "task.complete") {
      result = command.properties.result;
      resultMessage = command.message;
    }
  }
  return { stdout, stderr, lines, commands, result, resultMessage, outputs, taskVariables, registeredSecrets, warnings, errors, summaries };
}

const COMMAND = /##vso\[(\w+)\.(\w+)(?:\s+([^\]]*))?\](.*)$/;

export function parseCommand(line: string): VsoCommand | undefined {
  const match = COMMAND.exec(line);
  if (!match) return undefined;
  const properties: Record<string, string> = {};
  for (const pair of (match[3] ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at > 0) properties[pair.slice(0, at).trim()] = unescapeProperty(pair.slice(at + 1));
  }
  return { area: match[1]!, action: match[2]!, properties, message: unescapeData(match[4] ?? "") };
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");
}

function unescapeProperty(text: string): string {
  return unescapeData(text).replace(/%3B/g, ";").replace(/%5D/g, "]");
}

export interface JobRun {
  main: StepRun;
  post: StepRun;
}

/**
 * A job with one task: the main step, optionally steps after it that fail the job, then the
 * post-job step with the task variables the main step set and the job's status.
 */
export async function runJob(taskDir: string, options: StepOptions & { jobFails?: boolean }): Promise<JobRun> {
  const main = await runStep(path.join(taskDir, "index.js"), options);
  const jobStatus = options.jobFails || main.result === "Failed" ? "Failed" : "Succeeded";
  const post = await runStep(path.join(taskDir, "post.js"), {
    ...options,
    taskVariables: { ...options.taskVariables, ...main.taskVariables },
    env: { ...options.env, AGENT_JOBSTATUS: jobStatus },
  });
  return { main, post };
}
