/**
 * Timing and request-log helpers shared by the benchmark sections: a packaged task spawned exactly as
 * the agent spawns it (the test harness's environment protocol), timed from spawn to the first
 * request the local Azure logs and to process exit; the run's requests sorted into what they are.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildEnvironment, parseCommand, type StepOptions } from "../test/harness/agent";
import type { ConnectionKind, Fixture } from "../test/harness/fixture";
import type { RequestLogEntry } from "../local-azure/index";
import { isWrite } from "../local-azure/request-log";
import { clientEnvironment } from "../local-azure/clients";

export const REPO = path.join(__dirname, "..");

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with `Date` times in the request log. */
export const now = (): number => performance.timeOrigin + performance.now();

/** Preload that reports a timed process's CPU time (see cpu-usage.cjs). */
const CPU_USAGE_PRELOAD = path.join(__dirname, "cpu-usage.cjs");

export interface Spawned {
  startedAt: number;
  exitedAt: number;
  totalMs: number;
  /** The process's own CPU time (user + system), as it reported it on exit; NaN when it did not. */
  cpuMs: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Spawns a Node process, waits for it to exit (bounded), and times it from just before spawn to its
 * exit; the process reports its CPU time through a preload added to NODE_OPTIONS.
 */
export function timedSpawn(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 120_000): Promise<Spawned> {
  const cpuFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-cpu-")), "cpu");
  env = {
    ...env,
    NODE_OPTIONS: `${env.NODE_OPTIONS ?? ""} --require ${CPU_USAGE_PRELOAD}`.trim(),
    BENCH_CPU_USAGE_FILE: cpuFile,
  };
  const cpuMs = () => {
    try {
      return Number(fs.readFileSync(cpuFile, "utf8"));
    } catch {
      return NaN;
    } finally {
      fs.rmSync(path.dirname(cpuFile), { recursive: true, force: true });
    }
  };
  return new Promise((resolve, reject) => {
    const startedAt = now();
    const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    let exitedAt = 0;
    let exitCode: number | null = null;
    child.on("exit", (code) => {
      exitedAt = now();
      exitCode = code;
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close' comes after the pipes drain; the time is the process's own exit.
    child.on("close", () => {
      clearTimeout(timer);
      resolve({ startedAt, exitedAt, totalMs: exitedAt - startedAt, cpuMs: cpuMs(), exitCode, stdout, stderr });
    });
  });
}

/** A bare environment, as the agent's would be without the task's variables. */
export function bareEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8", ...extra };
}

export interface TaskSpec {
  connection?: ConnectionKind;
  inputs: StepOptions["inputs"];
  secrets?: Record<string, string>;
  variables?: Record<string, string>;
  taskVariables?: Record<string, string>;
  env?: Record<string, string>;
}

export interface TaskRun extends Spawned {
  result?: string;
  resultMessage?: string;
  /** Spawn → first request logged by the local Azure; undefined when the run made none. */
  firstRequestMs?: number;
  requests: RequestLogEntry[];
}

/** Runs a task script (bundled or not) as the agent does, against the fixture's local Azure, and collects its requests. */
export async function runTask(fx: Fixture, script: string, spec: TaskSpec, timeoutMs = 120_000): Promise<TaskRun> {
  const connection = fx.connection(spec.connection ?? "spnKey");
  const options: StepOptions = {
    inputs: { azureSubscription: connection.endpoint.id, ...spec.inputs },
    endpoints: [connection.endpoint],
    ...(connection.systemAccessToken ? { systemAccessToken: connection.systemAccessToken } : {}),
    ...(spec.secrets ? { secrets: spec.secrets } : {}),
    ...(spec.variables ? { variables: spec.variables } : {}),
    ...(spec.taskVariables ? { taskVariables: spec.taskVariables } : {}),
    env: {
      NODE_EXTRA_CA_CERTS: fx.azure.caCertPath,
      // Azure's host names (vaults; ARM and Entra when the local Azure poses as the public cloud) reach the local Azure.
      ...clientEnvironment(fx.azure),
      ...connection.env,
      ...spec.env,
    },
  };
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-agent-"));
  try {
    const env = buildEnvironment(options, tempDir);
    fx.azure.clearRequests();
    const spawned = await timedSpawn(process.execPath, [script], env, tempDir, timeoutMs);
    const requests = [...fx.azure.requests];
    const complete = spawned.stdout
      .split(/\r?\n/)
      .map(parseCommand)
      .find((c) => c?.area === "task" && c.action === "complete");
    const first = requests.length > 0 ? Math.min(...requests.map((r) => r.time.getTime())) : undefined;
    return {
      ...spawned,
      ...(complete ? { result: complete.properties.result, resultMessage: complete.message } : {}),
      ...(first !== undefined ? { firstRequestMs: first - spawned.startedAt } : {}),
      requests,
    };
  } finally {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

export function assertSucceeded(run: TaskRun, what: string): TaskRun {
  if (run.result !== "Succeeded") {
    throw new Error(
      `${what}: ${run.result ?? "no result"} ${run.resultMessage ?? ""}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`,
    );
  }
  return run;
}

// ---- what a request is ------------------------------------------------------------------------

export type CallKind = "token" | "metadata" | "challenge" | "read" | "write" | "poll" | "other";
export const CALL_KINDS: CallKind[] = ["token", "metadata", "challenge", "read", "write", "poll", "other"];

export function classify(r: RequestLogEntry): CallKind {
  const p = r.path.toLowerCase();
  if (p.endsWith("/oauth2/v2.0/token") || p.includes("/metadata/identity/oauth2/token") || p.includes("/oidctoken")) return "token";
  if (p.includes("/.well-known/openid-configuration") || p.includes("/discovery/instance") || p.includes("/discovery/v2.0/keys"))
    return "metadata";
  if (r.status === 401) return "challenge";
  if (/\/providers\/[^/]+\/locations\/[^/]+\/operations(results)?\//i.test(r.path) || /\/deletedsecrets\/[^/]+\/recover/i.test(p)) {
    return r.method === "GET" ? "poll" : "write";
  }
  const vault = /\.vault\.azure\.net/i.test(r.host);
  if (!vault && !p.startsWith("/subscriptions/") && !p.startsWith("/providers/")) return "other";
  return isWrite(r) ? "write" : "read";
}

export type CallCounts = Record<CallKind, number> & { total: number };

export function countCalls(requests: readonly RequestLogEntry[]): CallCounts {
  const counts = Object.fromEntries(CALL_KINDS.map((k) => [k, 0])) as CallCounts;
  for (const r of requests) counts[classify(r)]++;
  counts.total = requests.length;
  return counts;
}

/**
 * Sequential round trips: the longest chain of requests in which each was sent after the answer to
 * the one before it had come back. Requests in flight together count once. From the local Azure's
 * send and answer times (a request on a new connection counts as sent when the connection opened,
 * so a TLS handshake slowed by a loaded machine does not look like waiting), read from a run with
 * injected latency, where every answer takes at least that long.
 */
export function sequentialRoundTrips(requests: readonly RequestLogEntry[]): number {
  const sorted = [...requests].sort((a, b) => a.sentAt - b.sentAt);
  const depth: number[] = [];
  sorted.forEach((r, i) => {
    let before = 0;
    for (let j = 0; j < i; j++) {
      const answeredAt = sorted[j]!.answeredAt;
      if (answeredAt !== undefined && answeredAt < r.sentAt) before = Math.max(before, depth[j]!);
    }
    depth.push(before + 1);
  });
  return Math.max(0, ...depth);
}

// ---- statistics -------------------------------------------------------------------------------

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The spread as the 25th–75th percentiles, nearest rank. */
export function quartiles(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
  return [at(0.25), at(0.75)];
}

export const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? "—" : `${Math.round(v)} ms`);
export const ratio = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)}×` : "—");
export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;

/** Runs `body` up to `count` times, stopping early when `budgetMs` is spent (at least `min` runs). */
export async function repeat(count: number, budgetMs: number, body: (i: number) => Promise<void>, min = 3): Promise<number> {
  const deadline = Date.now() + budgetMs;
  let done = 0;
  while (done < count && (done < min || Date.now() < deadline)) await body(done++);
  return done;
}
