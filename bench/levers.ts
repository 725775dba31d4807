/**
 * What each start-up lever saves: each task's compliant re-run as shipped against the same build
 * with one lever left out (scripts/build.mjs, AKS_HARDENING_BUILD_WITHOUT), interleaved, in wall and
 * CPU time; and RestrictApiServer's idle post-job step with and without its thin entry.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Fixture } from "../test/harness/fixture";
import { assertSucceeded, median, REPO, repeat, runTask } from "./measure";
import { articleScenario, TASKS, type TaskName } from "./scenarios";

export const LEVERS = ["one-copy", "no-undici"] as const;
export type Lever = (typeof LEVERS)[number] | "thin post-job entry";

export interface LeverRow {
  lever: Lever;
  task: TaskName;
  /** Paired medians: the run without the lever minus the run as shipped. */
  savedMs: number;
  savedCpuMs: number;
  n: number;
}

function buildWithout(lever: (typeof LEVERS)[number]): string {
  const out = path.join(REPO, ".tmp", "bench-levers", lever);
  fs.rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(REPO, "scripts", "build.mjs")], {
    env: { ...process.env, AKS_HARDENING_BUILD_WITHOUT: lever, AKS_HARDENING_BUILD_OUT: out },
    stdio: "ignore",
  });
  return out;
}

export async function levers(fx: Fixture, runs: number, budgetMs: number, log: (line: string) => void): Promise<LeverRow[]> {
  const rows: LeverRow[] = [];
  const variants = LEVERS.map((lever) => ({ lever, root: buildWithout(lever) }));
  for (const task of TASKS) {
    const scenario = articleScenario(fx, task);
    const shipped = path.join(fx.taskDir(task), "index.js");
    assertSucceeded(await runTask(fx, shipped, scenario.spec), `${task} first run`);
    const diffs = new Map(variants.map((v) => [v.lever, { wall: [] as number[], cpu: [] as number[] }]));
    const n = await repeat(runs, budgetMs, async (i) => {
      const order = [undefined, ...variants];
      if (i % 2) order.reverse();
      const times = new Map<string, { wall: number; cpu: number }>();
      for (const v of order) {
        const run = assertSucceeded(
          await runTask(fx, v ? path.join(v.root, "tasks", task, "index.js") : shipped, scenario.spec),
          `${task} re-run${v ? ` without ${v.lever}` : ""}`,
        );
        times.set(v?.lever ?? "shipped", { wall: run.totalMs, cpu: run.cpuMs });
      }
      const base = times.get("shipped")!;
      for (const v of variants) {
        const t = times.get(v.lever)!;
        diffs.get(v.lever)!.wall.push(t.wall - base.wall);
        diffs.get(v.lever)!.cpu.push(t.cpu - base.cpu);
      }
    });
    for (const v of variants) {
      const d = diffs.get(v.lever)!;
      rows.push({ lever: v.lever, task, savedMs: median(d.wall), savedCpuMs: median(d.cpu), n });
      log(`  ${task} without ${v.lever}: +${median(d.wall).toFixed(0)} ms wall, +${median(d.cpu).toFixed(0)} ms CPU (n=${n})`);
    }
  }

  // The post-job step on a job whose main step added no IP: the thin entry against loading the step's bundle to decide.
  const scenario = articleScenario(fx, "RestrictApiServer");
  const dir = fx.taskDir("RestrictApiServer");
  const spec = { ...scenario.spec, env: { ...scenario.spec.env, NODE_OPTIONS: "", NODE_EXTRA_CA_CERTS: "" } };
  const wall: number[] = [];
  const cpu: number[] = [];
  const n = await repeat(runs, budgetMs, async (i) => {
    const [a, b] = i % 2 ? ["post-job.js", "post.js"] : ["post.js", "post-job.js"];
    const first = assertSucceeded(await runTask(fx, path.join(dir, a), spec), `idle ${a}`);
    const second = assertSucceeded(await runTask(fx, path.join(dir, b), spec), `idle ${b}`);
    const [thin, full] = a === "post.js" ? [first, second] : [second, first];
    wall.push(full.totalMs - thin.totalMs);
    cpu.push(full.cpuMs - thin.cpuMs);
  });
  rows.push({ lever: "thin post-job entry", task: "RestrictApiServer", savedMs: median(wall), savedCpuMs: median(cpu), n });
  log(`  RestrictApiServer idle post-job without the thin entry: +${median(wall).toFixed(0)} ms wall, +${median(cpu).toFixed(0)} ms CPU`);
  return rows;
}
