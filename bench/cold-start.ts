/**
 * Cold start: each packaged task's compliant re-run (no write), bundled as shipped and built without
 * bundling, against a bare `node -e 0` measured in the same iterations (interleaved, so drift in the
 * machine's load falls on all three alike).
 */
import * as path from "node:path";
import type { Fixture } from "../test/harness/fixture";
import {
  assertSucceeded,
  bareEnv,
  countCalls,
  median,
  quartiles,
  repeat,
  runTask,
  timedSpawn,
  VAULT_HOST_PRELOAD,
  type TaskRun,
} from "./measure";
import { articleScenario, TASKS, type TaskName } from "./scenarios";

export interface Series {
  median: number;
  q: [number, number];
  n: number;
}

const series = (values: number[]): Series => ({ median: median(values), q: quartiles(values), n: values.length });

export interface ColdStartRow {
  task: TaskName;
  what: string;
  bundled: { first: Series; total: Series };
  unbundled: { first: Series; total: Series };
  /** `node -e 0` in the same iterations (with the test-only vault preload for KeyVaultSecrets, as the task runs carry it). */
  baseline: Series;
  /** Paired per-iteration ratios: bundled total / node -e 0. */
  ratioToBaseline: Series;
  unbundledOverBundled: Series;
  /** The bundle started with no inputs: loads and evaluates everything, fails at the first input, makes no request. */
  loadOnly: Series;
  writes: number;
  reads: number;
  signIn: number;
}

export interface ColdStartResult {
  rows: ColdStartRow[];
  bareNode: Series;
  preloadNode: Series;
}

export async function coldStart(
  fx: Fixture,
  unbundledRoot: string,
  runs: number,
  budgetMsPerTask: number,
  log: (line: string) => void,
): Promise<ColdStartResult> {
  const rows: ColdStartRow[] = [];
  const bareAll: number[] = [];
  const preloadAll: number[] = [];
  for (const task of TASKS) {
    const scenario = articleScenario(fx, task);
    const bundledScript = path.join(fx.taskDir(task), "index.js");
    const unbundledScript = path.join(unbundledRoot, task, "index.js");
    assertSucceeded(await runTask(fx, bundledScript, scenario.spec), `${task} first run`);

    const samples = {
      bf: [] as number[],
      bt: [] as number[],
      uf: [] as number[],
      ut: [] as number[],
      base: [] as number[],
      load: [] as number[],
    };
    const ratios: number[] = [];
    const unbundledRatios: number[] = [];
    let check: TaskRun | undefined;
    const baselineArgs = scenario.spec.vaultHosts ? ["--import", VAULT_HOST_PRELOAD, "-e", "0"] : ["-e", "0"];
    const n = await repeat(runs, budgetMsPerTask, async (i) => {
      // Rotate the order so that no variant always runs first (or right after another).
      const order = [0, 1, 2].map((k) => (k + i) % 3);
      let b = 0;
      let bt = 0;
      let ut = 0;
      for (const which of order) {
        if (which === 0) {
          const bare = await timedSpawn(process.execPath, baselineArgs, bareEnv(), fx.extensionDir);
          b = bare.totalMs;
          samples.base.push(b);
          (scenario.spec.vaultHosts ? preloadAll : bareAll).push(b);
        } else if (which === 1) {
          const run = assertSucceeded(await runTask(fx, bundledScript, scenario.spec), `${task} bundled re-run`);
          check = run;
          samples.bf.push(run.firstRequestMs ?? NaN);
          samples.bt.push((bt = run.totalMs));
        } else {
          const run = assertSucceeded(await runTask(fx, unbundledScript, scenario.spec), `${task} unbundled re-run`);
          samples.uf.push(run.firstRequestMs ?? NaN);
          samples.ut.push((ut = run.totalMs));
        }
      }
      samples.load.push((await timedSpawn(process.execPath, [bundledScript], bareEnv(), fx.extensionDir)).totalMs);
      ratios.push(bt / b);
      unbundledRatios.push(ut / bt);
    });
    // The bare baseline of tasks without the preload is also `node -e 0` alone.
    if (scenario.spec.vaultHosts) {
      const n2 = Math.min(n, 5);
      for (let i = 0; i < n2; i++) bareAll.push((await timedSpawn(process.execPath, ["-e", "0"], bareEnv(), fx.extensionDir)).totalMs);
    }
    const counts = countCalls(check!.requests);
    const row: ColdStartRow = {
      task,
      what: scenario.what,
      bundled: { first: series(samples.bf), total: series(samples.bt) },
      unbundled: { first: series(samples.uf), total: series(samples.ut) },
      baseline: series(samples.base),
      ratioToBaseline: series(ratios),
      unbundledOverBundled: series(unbundledRatios),
      loadOnly: series(samples.load),
      writes: counts.write,
      reads: counts.read,
      signIn: counts.token + counts.metadata + counts.challenge,
    };
    rows.push(row);
    log(
      `  ${task}: n=${n} node -e 0 ${row.baseline.median.toFixed(0)} ms; bundled first ${row.bundled.first.median.toFixed(0)} / total ${row.bundled.total.median.toFixed(0)} ms (${row.ratioToBaseline.median.toFixed(1)}×); unbundled first ${row.unbundled.first.median.toFixed(0)} / total ${row.unbundled.total.median.toFixed(0)} ms`,
    );
  }
  return { rows, bareNode: series(bareAll), preloadNode: series(preloadAll) };
}
