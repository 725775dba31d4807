/**
 * `npm run bench`: measures the packaged tasks on this machine and writes docs/benchmarks.md.
 * Not part of `npm test` or CI. Every loop is bounded in count and time; all traffic stays on loopback.
 *
 *   npm run bench                 # the full run (about 5 minutes on 2 cores, plus the azure-cli install once)
 *   npm run bench -- --quick      # fewer repetitions and smaller scale points, for a look
 *   npm run bench -- --no-az      # skip the az CLI comparison
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Fixture } from "../test/harness/fixture";
import { ensureAzureCli, startAzSession, type AzSession } from "./az-cli";
import { callsPerTask } from "./calls";
import { coldStart } from "./cold-start";
import { levers } from "./levers";
import { REPO } from "./measure";
import { pipeline } from "./pipeline";
import { renderReport } from "./report";
import { scale } from "./scale";
import { buildUnbundled, TASKS } from "./scenarios";
import { sizes } from "./sizes";

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const log = (line: string) => console.log(line);

async function withFixture<T>(options: Parameters<typeof Fixture.start>[0], body: (fx: Fixture) => Promise<T>): Promise<T> {
  const fx = await Fixture.start(options);
  try {
    return await body(fx);
  } finally {
    await fx.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node.js ${process.version}, load average at start ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ")}`;
  log(`bench on ${machine}`);

  log("building the tasks without bundling (esbuild packages: 'external') …");
  const unbundledRoot = await buildUnbundled();

  log("cold start …");
  // The local Azure answers as management.azure.com and login.microsoftonline.com, so a task signs in
  // and calls ARM with production's requests (no authority-metadata GET a loopback authority costs).
  const publicCloud = { operationPolls: 1, retryAfterSeconds: 1, publicCloudHosts: true, productWaits: true };
  const cold = await withFixture(publicCloud, (fx) => coldStart(fx, unbundledRoot, quick ? 5 : 15, quick ? 30_000 : 90_000, log));

  log("what each start-up lever saves …");
  const leverRows = await withFixture(publicCloud, (fx) => levers(fx, quick ? 3 : 9, quick ? 20_000 : 60_000, log));

  log("calls per task …");
  const calls = await withFixture(publicCloud, (fx) => callsPerTask(fx, 1, quick ? 1 : 3, log));

  log("scale …");
  const scalePoints = await withFixture(publicCloud, (fx) =>
    scale(
      fx,
      quick ? { secrets: [10, 100], ranges: [20], policies: [10] } : { secrets: [10, 100, 500], ranges: [20, 200], policies: [5, 20] },
      log,
    ),
  );

  log("the article's pipeline: ours and az …");
  const azCli = args.has("--no-az") ? { skipped: "skipped with --no-az" } : ensureAzureCli(log);
  const pipe = await withFixture({ operationPolls: 2, retryAfterSeconds: 1, productWaits: true }, async (fx) => {
    let az: AzSession | undefined;
    let azSetupError: string | undefined;
    if ("version" in azCli) {
      try {
        const sp = fx.connection("spnKey").endpoint.parameters;
        az = await startAzSession(fx.azure, { clientId: sp["serviceprincipalid"]!, clientSecret: sp["serviceprincipalkey"]! });
      } catch (error) {
        azSetupError = String((error as Error).message ?? error).split("\n")[0];
      }
    }
    try {
      const result = await pipeline(fx, az, az?.login ?? [], quick ? 1 : 3, quick ? 60_000 : 240_000, log);
      return {
        ...result,
        refused: az ? [...new Set(az.proxy.refused)] : [],
        discovery: az?.proxy.discoveryRequests.length ?? 0,
        azSetupError,
      };
    } finally {
      await az?.close();
    }
  });

  const extensionRoot = path.join(REPO, "build", "extension");
  const size = sizes(extensionRoot, unbundledRoot, TASKS);

  const markdown = renderReport({
    machine,
    quick,
    minutes: (Date.now() - started) / 60_000,
    cold,
    levers: leverRows,
    calls,
    scale: scalePoints,
    pipeline: pipe,
    azCli,
    sizes: size,
  });
  const out = path.join(REPO, "docs", "benchmarks.md");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, markdown);
  log(`wrote ${path.relative(REPO, out)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
