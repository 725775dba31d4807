/**
 * Cold start: each packaged task's compliant re-run (no write), bundled as shipped and built without
 * bundling, against a bare `node -e 0` measured in the same iterations (interleaved, so drift in the
 * machine's load falls on all three alike).
 */
import * as path from "node:path";
import type { Fixture } from "../test/harness/fixture";
import { assertSucceeded, bareEnv, countCalls, median, quartiles, repeat, runTask, timedSpawn, type TaskRun } from "./measure";
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
  /** `node -e 0` in the same iterations. */
  baseline: Series;
  /** Paired per-iteration ratios: bundled total / node -e 0. */
  ratioToBaseline: Series;
  /** CPU time of the bundled re-run and of `node -e 0`, and their paired ratio: what the run costs whatever the machine's load. */
  cpu: { bundled: Series; baseline: Series; ratio: Series; loadOnly: Series };
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
  /** RestrictApiServer's post-job step when the main step added no job-scoped IP, against `node -e 0` in the same iterations. */
  idlePostJob: { total: Series; baseline: Series; ratio: Series; cpuRatio: Series };
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
      loadCpu: [] as number[],
    };
    const ratios: number[] = [];
    const unbundledRatios: number[] = [];
    const cpu = { bundled: [] as number[], baseline: [] as number[], ratio: [] as number[] };
    let check: TaskRun | undefined;
    const baselineArgs = ["-e", "0"];
    const n = await repeat(runs, budgetMsPerTask, async (i) => {
      // Rotate the order so that no variant always runs first (or right after another).
      const order = [0, 1, 2].map((k) => (k + i) % 3);
      let b = 0;
      let bt = 0;
      let ut = 0;
      let bCpu = NaN;
      let btCpu = NaN;
      for (const which of order) {
        if (which === 0) {
          const bare = await timedSpawn(process.execPath, baselineArgs, bareEnv(), fx.extensionDir);
          b = bare.totalMs;
          bCpu = bare.cpuMs;
          samples.base.push(b);
          bareAll.push(b);
        } else if (which === 1) {
          const run = assertSucceeded(await runTask(fx, bundledScript, scenario.spec), `${task} bundled re-run`);
          check = run;
          samples.bf.push(run.firstRequestMs ?? NaN);
          samples.bt.push((bt = run.totalMs));
          btCpu = run.cpuMs;
        } else {
          const run = assertSucceeded(await runTask(fx, unbundledScript, scenario.spec), `${task} unbundled re-run`);
          samples.uf.push(run.firstRequestMs ?? NaN);
          samples.ut.push((ut = run.totalMs));
        }
      }
      const loaded = await timedSpawn(process.execPath, [bundledScript], bareEnv(), fx.extensionDir);
      samples.load.push(loaded.totalMs);
      samples.loadCpu.push(loaded.cpuMs);
      ratios.push(bt / b);
      cpu.bundled.push(btCpu);
      cpu.baseline.push(bCpu);
      cpu.ratio.push(btCpu / bCpu);
      unbundledRatios.push(ut / bt);
    });
    const counts = countCalls(check!.requests);
    const row: ColdStartRow = {
      task,
      what: scenario.what,
      bundled: { first: series(samples.bf), total: series(samples.bt) },
      unbundled: { first: series(samples.uf), total: series(samples.ut) },
      baseline: series(samples.base),
      ratioToBaseline: series(ratios),
      cpu: { bundled: series(cpu.bundled), baseline: series(cpu.baseline), ratio: series(cpu.ratio), loadOnly: series(samples.loadCpu) },
      unbundledOverBundled: series(unbundledRatios),
      loadOnly: series(samples.load),
      writes: counts.write,
      reads: counts.read,
      signIn: counts.token + counts.metadata + counts.challenge,
    };
    rows.push(row);
    log(
      `  ${task}: n=${n} node -e 0 ${row.baseline.median.toFixed(0)} ms; bundled first ${row.bundled.first.median.toFixed(0)} / total ${row.bundled.total.median.toFixed(0)} ms (${row.ratioToBaseline.median.toFixed(1)}×; CPU ${row.cpu.bundled.median.toFixed(0)} / ${row.cpu.baseline.median.toFixed(0)} ms, ${row.cpu.ratio.median.toFixed(1)}×); unbundled first ${row.unbundled.first.median.toFixed(0)} / total ${row.unbundled.total.median.toFixed(0)} ms`,
    );
  }
  return { rows, bareNode: series(bareAll), idlePostJob: await idlePostJob(fx, runs, budgetMsPerTask, log) };
}

/** RestrictApiServer's post-job step on a job whose main step added no job-scoped IP (the common case), interleaved with `node -e 0`. */
async function idlePostJob(
  fx: Fixture,
  runs: number,
  budgetMs: number,
  log: (line: string) => void,
): Promise<ColdStartResult["idlePostJob"]> {
  const scenario = articleScenario(fx, "RestrictApiServer");
  const script = path.join(fx.taskDir("RestrictApiServer"), "post.js");
  const totals: number[] = [];
  const bases: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  await repeat(runs, budgetMs, async (i) => {
    let total = 0;
    let base = 0;
    let totalCpu = NaN;
    let baseCpu = NaN;
    for (const which of i % 2 ? [0, 1] : [1, 0]) {
      if (which === 0) {
        const bare = await timedSpawn(process.execPath, ["-e", "0"], bareEnv(), fx.extensionDir);
        base = bare.totalMs;
        baseCpu = bare.cpuMs;
      } else {
        // Without the host preload and the local Azure's CA: the one would load node:tls, the other makes
        // Node read its root certificates at start; this step, making no request, needs neither.
        const run = assertSucceeded(
          await runTask(fx, script, { ...scenario.spec, env: { ...scenario.spec.env, NODE_OPTIONS: "", NODE_EXTRA_CA_CERTS: "" } }),
          "RestrictApiServer idle post-job",
        );
        if (run.requests.length > 0) throw new Error("the idle post-job step made a request");
        total = run.totalMs;
        totalCpu = run.cpuMs;
      }
    }
    totals.push(total);
    bases.push(base);
    ratios.push(total / base);
    cpuRatios.push(totalCpu / baseCpu);
  });
  const result = { total: series(totals), baseline: series(bases), ratio: series(ratios), cpuRatio: series(cpuRatios) };
  log(
    `  RestrictApiServer idle post-job: ${result.total.median.toFixed(0)} ms, node -e 0 ${result.baseline.median.toFixed(0)} ms (${result.ratio.median.toFixed(2)}×)`,
  );
  return result;
}
