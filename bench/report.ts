/** Renders docs/benchmarks.md from one bench run's figures. */
import * as fs from "node:fs";
import type { ColdStartResult } from "./cold-start";
import type { LeverRow } from "./levers";
import { INJECTED_LATENCY_MS, type CallsRow } from "./calls";
import { kb, median, ms, ratio } from "./measure";
import { AZ_CANNOT, GROUPS, PIPELINE_RANGES, type Group, type StepResult } from "./pipeline";
import type { ScalePoint } from "./scale";
import type { Sizes } from "./sizes";

export interface ReportInput {
  machine: string;
  quick: boolean;
  minutes: number;
  cold: ColdStartResult;
  levers: LeverRow[];
  calls: CallsRow[];
  scale: ScalePoint[];
  pipeline: {
    steps: StepResult[][];
    repetitions: number;
    withLatency: StepResult[];
    refused: string[];
    discovery: number;
    azSetupError?: string | undefined;
  };
  azCli: { version: string } | { skipped: string };
  sizes: Sizes;
}

const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(" | ")} |`,
    `| ${head.map((h, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");

const pct = (v: number) => `${Math.round(v * 100)} %`;
/** Whether a ratio bar stands, by wall time, else by CPU time (what the run costs on a machine with a core to spare). */
const standsRatio = (wall: number, cpu: number, bar: number, stretch?: number) =>
  wall <= bar
    ? `met${stretch !== undefined ? (wall <= stretch ? ", stretch too" : " (stretch not met)") : ""}`
    : cpu <= bar
      ? `met by CPU time${stretch !== undefined ? (cpu <= stretch ? " (stretch too)" : "") : ""}; not by wall time on this loaded machine`
      : "not met: see [What would move it](#what-would-move-the-furthest-figure)";
/** The SDK whose poller makes the final GET, as installed. */
const CONTAINER_SERVICE_VERSION = (
  JSON.parse(fs.readFileSync(require.resolve("@azure/arm-containerservice/package.json"), "utf8")) as { version: string }
).version;
const TASK_ORDER = ["RestrictApiServer", "EnablePodIdentity", "KeyVaultSecrets", "AssignAksPolicies"];
const ratio2 = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "—");

/** A horizontal bar in text, for the doc's small plots. */
const bar = (v: number, max: number, width = 40) => "█".repeat(Math.max(1, Math.round((v / max) * width)));

export function renderReport(r: ReportInput): string {
  const out: string[] = [];
  const worstRatio = Math.max(...r.cold.rows.map((row) => row.ratioToBaseline.median));
  const worstCpuRatio = Math.max(...r.cold.rows.map((row) => row.cpu.ratio.median));
  const rerunRows = r.calls.filter((c) => c.run === "compliant re-run");
  const rerunWrites = rerunRows.reduce((a, c) => a + c.counts.write, 0);
  const overMinimum = r.calls.filter((c) => c.extra.length > 0);
  const bare = r.cold.bareNode.median;
  const firstRows = r.calls.filter((c) => c.run === "first run");

  out.push(`# Benchmarks

Written by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}, on this project's machine: ${r.machine}.
The run took ${r.minutes.toFixed(1)} minutes${r.quick ? " with `--quick` (fewer repetitions, smaller scale points)" : ""}. Every figure below is from that
one run; ratios are taken between figures measured in the same run (interleaved, so the machine's load falls on both).
Times are wall-clock from just before \`spawn\` to the process's exit; "first request" is the time from spawn to the first
request the local Azure logged for the run. Medians, with the 25th–75th percentiles where the spread matters.

## Where we stand

| target | figure | stands |
| --- | --- | --- |
| compliant re-run ≤ 3.5× a bare \`node -e 0\` on Node 20 (stretch 3.0×) | wall: ${r.cold.rows.map((c) => `${c.task} ${ratio(c.ratioToBaseline.median)}`).join(", ")} (\`node -e 0\`: ${ms(bare)}); CPU time: ${r.cold.rows.map((c) => `${c.task} ${ratio(c.cpu.ratio.median)}`).join(", ")} | ${standsRatio(worstRatio, worstCpuRatio, 3.5, 3)} |
| RestrictApiServer's post-job step with nothing to remove ≤ 1.5× \`node -e 0\` | wall ${ratio2(r.cold.idlePostJob.ratio.median)} (${ms(r.cold.idlePostJob.total.median)} against ${ms(r.cold.idlePostJob.baseline.median)}); CPU time ${ratio2(r.cold.idlePostJob.cpuRatio.median)} | ${standsRatio(r.cold.idlePostJob.ratio.median, r.cold.idlePostJob.cpuRatio.median, 1.5)} |
| compliant re-run at the fewest sequential round trips the work allows (2 where the reads do not depend on each other) | ${rerunRows.map((c) => `${c.task} ${c.roundTrips} (fewest ${c.minRoundTrips.count})`).join(", ")} | ${rerunRows.every((c) => c.roundTrips <= c.minRoundTrips.count) ? "met" : "not met: see [Round trips](#round-trips-and-latency)"} |
| first run at most one round trip more than its writes need | ${firstRows.map((c) => `${c.task} ${c.roundTrips} (fewest ${c.minRoundTrips.count})`).join(", ")} | ${firstRows.every((c) => c.roundTrips <= c.minRoundTrips.count + 1) ? "met" : "not met: see [Round trips](#round-trips-and-latency)"} |
| requests = the minimum for the work | ${r.calls.length - overMinimum.length} of ${r.calls.length} runs at the minimum of reads, writes and polls; ${r.calls.every((c) => c.counts.metadata === 0) ? "no run makes an authority-metadata request (as on the public cloud)" : "some runs make an authority-metadata request"} | ${overMinimum.length === 0 ? "met" : "not met: see [Calls](#calls-per-task-run)"} |
| a compliant re-run makes no write | ${rerunWrites} writes in ${rerunRows.length} compliant re-runs (and 0 in every cold-start re-run: ${r.cold.rows.map((c) => c.writes).join(", ")}) | ${rerunWrites === 0 ? "met" : "not met"} |

Every task here runs against the local Azure posing as the public cloud: the service connection names
\`https://management.azure.com/\` and \`https://login.microsoftonline.com/\`, which a test-only preload
(\`--require local-azure/azure-hosts.cjs\`, about 1 ms of a run) sends to the local Azure on loopback, as it does
\`<vault>.vault.azure.net\`. So MSAL signs in as on the public cloud (one token POST, no authority metadata) and the
request counts and round trips are production's. The tests keep a loopback authority (the sovereign-cloud path).

## Round trips and latency

Each article step on fresh resources (first run) and again (compliant re-run), with no injected latency and with
${INJECTED_LATENCY_MS} ms held on every answer by the local Azure (its \`latencyMs\` option, a stand-in for a network round trip;
the TLS handshakes get none). Sequential round trips are the longest chain of requests in which each was sent after the
answer to the one before it came back, read from the local Azure's arrival and answer times of the ${INJECTED_LATENCY_MS} ms runs. Medians.

${table(
  ["task", "run", "sequential round trips", "fewest the work allows", "why", `wall, 0 ms`, `wall, ${INJECTED_LATENCY_MS} ms per request`],
  r.calls.map((c) => [c.task, c.run, c.roundTrips, c.minRoundTrips.count, c.minRoundTrips.why, ms(c.wallMs.none), ms(c.wallMs.latency)]),
)}

Where a run takes more than the fewest: every write of a cluster is followed by one more GET of the cluster, which the
SDK's long-running-operation poller makes to fetch the final resource, and which stays: the SDK
(\`@azure/arm-containerservice\` ${CONTAINER_SERVICE_VERSION}) does not pass core-lro's \`skipFinalGet\` through, without that GET the poller's
result would be the operation's status rather than the cluster, and the cluster as it ends up is what the tasks report
(EnablePodIdentity's \`oidcIssuerUrl\` output, RestrictApiServer's \`authorizedIpRanges\`). A secret that is absent
is read twice (GET secret → 404, then GET deletedsecrets → 404, to tell a new name from a soft-deleted one).
Polls are sequential by nature; here each operation answers InProgress once, with \`Retry-After: 1\`, which is most of a
first run's wall time.
`);

  // ---- cold start
  out.push(`## Cold start

Each task's compliant re-run (one token, its reads, no write), as shipped (one esbuild bundle) and built from the same
entry without bundling (esbuild \`packages: 'external'\`: our code in one file, every npm package resolved from
node_modules at run time, as a task that ships node_modules does). ${r.cold.rows[0]?.baseline.n ?? 0} interleaved iterations per task.
The baseline is a bare \`node -e 0\` in the same iterations (the runs' host preload costs about 1 ms and is not taken off).
CPU time is each process's own user + system time, which it reports as it exits (bench/cpu-usage.cjs, preloaded into
every timed process, \`node -e 0\` included): on a machine whose cores are all busy, wall time mostly measures waiting
for a core, and CPU time is what the run would cost on a machine with a core to spare (a slight overestimate of the wall
time there: V8 compiles and collects garbage on helper threads too).
"Load only" starts the bundle with no inputs: it loads and evaluates all of it, fails at the first input and makes no request.

${table(
  [
    "task (compliant re-run)",
    "baseline",
    "load only",
    "bundled: first request",
    "bundled: total",
    "× baseline",
    "CPU: task / node -e 0",
    "unbundled: first request",
    "unbundled: total",
    "unbundled ÷ bundled",
  ],
  r.cold.rows.map((c) => [
    `${c.task} — ${c.what}`,
    ms(c.baseline.median),
    ms(c.loadOnly.median),
    ms(c.bundled.first.median),
    `${ms(c.bundled.total.median)} (${Math.round(c.bundled.total.q[0])}–${Math.round(c.bundled.total.q[1])})`,
    ratio(c.ratioToBaseline.median),
    `${ms(c.cpu.bundled.median)} / ${ms(c.cpu.baseline.median)} = ${ratio(c.cpu.ratio.median)}`,
    ms(c.unbundled.first.median),
    `${ms(c.unbundled.total.median)} (${Math.round(c.unbundled.total.q[0])}–${Math.round(c.unbundled.total.q[1])})`,
    ratio(c.unbundledOverBundled.median),
  ]),
)}

Where the time of a bundled compliant re-run goes (medians of the table):

\`\`\`
${r.cold.rows
  .map((c) => {
    const max = Math.max(...r.cold.rows.map((x) => x.unbundled.total.median));
    return [
      `${c.task.padEnd(18)} node -e 0    ${bar(c.baseline.median, max).padEnd(41)} ${ms(c.baseline.median)}`,
      `${"".padEnd(18)} load only    ${bar(c.loadOnly.median, max).padEnd(41)} ${ms(c.loadOnly.median)}`,
      `${"".padEnd(18)} 1st request  ${bar(c.bundled.first.median, max).padEnd(41)} ${ms(c.bundled.first.median)}`,
      `${"".padEnd(18)} bundled      ${bar(c.bundled.total.median, max).padEnd(41)} ${ms(c.bundled.total.median)}`,
      `${"".padEnd(18)} unbundled    ${bar(c.unbundled.total.median, max).padEnd(41)} ${ms(c.unbundled.total.median)}`,
    ].join("\n");
  })
  .join("\n\n")}
\`\`\`

What bundling buys: the same work starts ${ratio(median(r.cold.rows.map((c) => c.unbundledOverBundled.median)))} slower unbundled (median over the tasks), because
Node then resolves and reads ${r.sizes.unbundled.map((u) => u.nodeModulesFiles).join(" / ")} files from node_modules (${r.sizes.unbundled
    .map((u) => kb(u.nodeModulesBytes))
    .join(" / ")}) instead of one file; and the VSIX carries no node_modules (see [Sizes](#vsix-and-bundle-sizes)).
`);

  // ---- calls
  out.push(`## Calls per task run

From the local Azure's request log, each article step on fresh resources (first run) and again (compliant re-run).
Sign-in is counted apart: \`token\` (Entra token requests), \`metadata\` (MSAL's openid-configuration GET), \`challenge\`
(Key Vault's 401 answer to a request without a token, by which the client learns the token's scope). The minimum counts
the work: reads, writes and long-running-operation polls (each AKS write here answers InProgress once, so two polls see it end).

${table(
  ["task", "run", "token", "metadata", "challenge", "reads", "writes", "polls", "minimum (r/w/p)", "over the minimum"],
  r.calls.map((c) => [
    c.task,
    c.run,
    c.counts.token,
    c.counts.metadata,
    c.counts.challenge,
    c.counts.read,
    c.counts.write,
    c.counts.poll,
    `${c.minimum.read}/${c.minimum.write}/${c.minimum.poll}`,
    c.extra.length ? c.extra.join("; ") : "—",
  ]),
)}

The minimum, per step: ${[...new Map(r.calls.map((c) => [c.task, c])).values()]
    .map(
      (c) =>
        `**${c.task}** ${r.calls
          .filter((x) => x.task === c.task)
          .map((x) => `${x.run}: ${x.why}`)
          .join("; ")}`,
    )
    .join(". ")}.

Beyond the minimum: the final GET of a cluster after each cluster write, and the deleted-secret check of an absent secret
(see [Round trips](#round-trips-and-latency)). Key Vault's challenge is answered once per run
(${r.calls.find((c) => c.task === "KeyVaultSecrets")?.counts.challenge ?? "?"} challenge for 3 secrets): the first data-plane request goes alone until it carries a token, then
the rest fan out. KeyVaultSecrets makes 2 token requests (ARM, and Key Vault's, asked while the ARM reads run); every
other task 1, shared by its parallel reads. Compliant re-runs are reads only.
`);

  // ---- scale
  const scaleRows = r.scale.map((p) => [
    p.task,
    `${p.size} ${p.work}`,
    pct(p.compliant),
    ms(p.totalMs),
    p.counts.total,
    p.counts.read,
    p.counts.write,
    p.counts.poll,
    p.counts.token + p.counts.metadata + p.counts.challenge,
    p.note ?? "",
  ]);
  const kv = r.scale.filter((p) => p.task === "KeyVaultSecrets");
  const kvMax = Math.max(...kv.map((p) => p.totalMs));
  out.push(`## Scale

One run per point, on fresh resources; "compliant" is the share of the work already in place (secrets already holding the
value, ranges already authorized, assignments already made by the task); the rest is absent. Ranges are /32 addresses;
the input-address rows give 5,120 addresses in 160 aligned runs of 32, which the task joins into /27s.

${table(["task", "work", "compliant", "time", "requests", "reads", "writes", "polls", "sign-in", "note"], scaleRows)}

KeyVaultSecrets time by secrets and compliant share:

\`\`\`
${kv.map((p) => `${String(p.size).padStart(4)} secrets, ${pct(p.compliant).padStart(5)} compliant ${bar(p.totalMs, kvMax).padEnd(41)} ${ms(p.totalMs)}`).join("\n")}
\`\`\`

How it grows: KeyVaultSecrets makes one GET per secret (two for an absent one) and one PUT per secret that differs, 8 at a
time; time grows linearly with the secrets and falls with the compliant share. RestrictApiServer makes the same 3 requests
(compliant) or 7 (a write) whatever the number of ranges; its time is the cold start plus, for a write, the operation's polls
(about 1 s each here). AssignAksPolicies reads each definition and lists the cluster's assignments once, and writes one PUT
per assignment that differs.
`);

  // ---- pipeline
  const reps = r.pipeline.steps;
  const sumBy = (side: string, pass: string, groups: readonly string[]) =>
    median(
      reps.map((rep) => rep.filter((s) => s.side === side && s.pass === pass && groups.includes(s.group)).reduce((a, s) => a + s.ms, 0)),
    );
  const callsBy = (side: string, pass: string, groups: readonly string[], kind: "total" | "write") =>
    (reps[0] ?? []).filter((s) => s.side === side && s.pass === pass && groups.includes(s.group)).reduce((a, s) => a + s.counts[kind], 0);
  const azAvailable = "version" in r.azCli && !r.pipeline.azSetupError;
  /** Groups whose az commands all succeeded in every repetition of a pass. */
  const completed = (pass: string): Group[] =>
    GROUPS.filter((g) => reps.every((rep) => rep.filter((s) => s.side === "az" && s.pass === pass && s.group === g).every((s) => s.ok)));
  const groupRows = GROUPS.flatMap((g) =>
    (["first run", "re-run"] as const).map((pass) => {
      const steps = (side: string) => (reps[0] ?? []).filter((s) => s.side === side && s.pass === pass && s.group === g);
      const latencySteps = (side: string) => r.pipeline.withLatency.filter((s) => s.side === side && s.pass === pass && s.group === g);
      const failed = steps("az").filter((s) => !s.ok);
      return [
        g,
        pass,
        steps("ours").length
          ? `${ms(sumBy("ours", pass, [g]))} (${steps("ours")
              .map((s) => s.step)
              .join(", ")})`
          : "inside each task",
        `${callsBy("ours", pass, [g], "total")} / ${callsBy("ours", pass, [g], "write")}`,
        `${latencySteps("ours").reduce((a, s) => a + s.roundTrips, 0)} (${ms(latencySteps("ours").reduce((a, s) => a + s.ms, 0))})`,
        azAvailable ? `${ms(sumBy("az", pass, [g]))} (${steps("az").length} commands)` : "—",
        azAvailable ? `${callsBy("az", pass, [g], "total")} / ${callsBy("az", pass, [g], "write")}` : "—",
        azAvailable
          ? `${latencySteps("az").reduce((a, s) => a + s.roundTrips, 0)} (${ms(latencySteps("az").reduce((a, s) => a + s.ms, 0))})`
          : "—",
        failed.length ? failed.map((s) => `${s.step}: ${s.error}`).join("<br>") : "",
      ];
    }),
  );
  const failedAz = [
    ...new Map((reps[0] ?? []).filter((s) => s.side === "az" && !s.ok).map((s) => [`${s.step} (${s.pass})`, s.error])).entries(),
  ];
  out.push(`## The article's pipeline: ours and the az CLI

The steps of [the article](https://medium.com/microsoftazure/secure-your-microservices-on-aks-part-2-5496bf2ba00c) against the local Azure, each AKS write answering InProgress to 2 polls with \`Retry-After: 1\` (a real
AKS update runs for minutes; this is that shape scaled down). Ours: the four packaged tasks in a row (KeyVaultSecrets,
EnablePodIdentity with Reader on the node resource group, AssignAksPolicies with the article's 3 policies in Deny,
RestrictApiServer \`set\` ${PIPELINE_RANGES.join(", ")}). Theirs: the same steps as an \`az\` script (\`az login\` once, \`az feature register\`,
\`az keyvault set-policy\`, 3 × \`az keyvault secret set\`, \`az aks show\` + \`az group show\` + \`az role assignment create\` for
Reader on the node resource group, \`az aks enable-addons --addons azure-policy\`, 3 × \`az policy assignment create\`, \`az aks
update --api-server-authorized-ip-ranges\`). Each side on its own fresh resources, ${r.pipeline.repetitions} repetition(s), medians; then the
same pipeline again on the now-compliant resources. Requests are "all / writes" from the request log.

${"version" in r.azCli ? `az: Debian's \`azure-cli\` ${r.azCli.version}, in a private config dir, \`az cloud register\` with the local Azure's endpoints, \`REQUESTS_CA_BUNDLE\` for its certificate, and \`HTTPS_PROXY\` to a loopback proxy (bench/az-cli.ts) that answers MSAL's instance discovery for login.microsoftonline.com (${r.pipeline.discovery} discovery request(s), answered by the local Azure's discovery route behind a certificate of the proxy's own) and tunnels \`<vault>.vault.azure.net\` to the local Azure. \`az login\` reads the subscriptions list from the local Azure itself. Hosts az tried to reach and the proxy refused: ${r.pipeline.refused.length ? r.pipeline.refused.map((h) => `\`${h}\``).join(", ") : "none"}.${r.pipeline.azSetupError ? ` **az could not be set up: ${r.pipeline.azSetupError}**` : ""}` : `**az skipped: ${r.azCli.skipped}.**`}

${table(
  [
    "step",
    "pass",
    "ours: time",
    "ours: requests / writes",
    `ours: round trips (time at ${INJECTED_LATENCY_MS} ms)`,
    "az: time",
    "az: requests / writes",
    `az: round trips (time at ${INJECTED_LATENCY_MS} ms)`,
    "az failed",
  ],
  groupRows,
)}

Round trips are sequential round trips (as in [Round trips](#round-trips-and-latency)), from one more repetition with
${INJECTED_LATENCY_MS} ms injected on every answer, with that repetition's time; az's are summed over its commands, each a process that
starts after the one before it ends. This
section's local Azure keeps its loopback authority (az reaches it through its own proxy), so our tasks' counts here
include MSAL's authority-metadata GET, one more request and round trip per task than on the public cloud.

Totals over the steps az completed in that pass (az's sign-in included; a step where any az command failed is left out on both sides):

${table(
  ["pass", "steps", "ours", "az", "az ÷ ours", "ours: requests / writes", "az: requests / writes"],
  (["first run", "re-run"] as const).map((pass) => {
    const common = azAvailable ? completed(pass) : [];
    return [
      pass,
      common.filter((g) => g !== "sign-in").join("; ") || "—",
      ms(sumBy("ours", pass, common)),
      azAvailable ? ms(sumBy("az", pass, common)) : "—",
      azAvailable ? ratio(sumBy("az", pass, common) / sumBy("ours", pass, common)) : "—",
      `${callsBy("ours", pass, common, "total")} / ${callsBy("ours", pass, common, "write")}`,
      azAvailable ? `${callsBy("az", pass, common, "total")} / ${callsBy("az", pass, common, "write")}` : "—",
    ];
  }),
)}

What az cannot do here, and why:

${[
  `- \`${AZ_CANNOT[AZ_CANNOT.length - 1]!.step}\` (not attempted): ${AZ_CANNOT[AZ_CANNOT.length - 1]!.why}.`,
  ...failedAz.map(([step, error]) => {
    const known = AZ_CANNOT.find((c) => step.startsWith(c.step));
    return known ? `- \`${step}\`: ${known.why} (\`${error}\`).` : `- \`${step}\` failed: \`${error}\`.`;
  }),
].join("\n")}

Read the az figures with that in mind: a failed command costs its start-up and stops early, so az's totals are lower than
a working az would need, which is why the totals above leave those steps out. Each \`az\` command is a new Python process
that loads the CLI and its command module (\`az login\`, one request, took ${ms(median(reps.flatMap((rep) => rep.filter((s) => s.step === "az login").map((s) => s.ms))))});
ours is a new Node process per task, which signs in again each time. az's re-run writes again where it has no
compare-first step (\`az aks update\` PUTs the same ranges, \`az policy assignment create\` PUTs the same assignments).
\`npm run test:az\` runs the same commands (and the other article commands core az has) as a conformance test.
`);

  // ---- sizes
  out.push(`## VSIX and bundle sizes

${table(
  ["artifact", "size", "gzip"],
  [
    [`VSIX (${r.sizes.vsix.name})`, kb(r.sizes.vsix.bytes), "(zip)"],
    ...r.sizes.bundles.map((b) => [`tasks/${b.file}`, kb(b.bytes), kb(b.gzip)]),
  ],
)}

Unbundled, a task would instead ship its own entry plus what it loads from node_modules at run time:

${table(
  ["task", "own code", "node_modules files loaded", "their size"],
  r.sizes.unbundled.map((u) => [u.task, kb(u.ownBytes), u.nodeModulesFiles, kb(u.nodeModulesBytes)]),
)}
`);

  out.push(FURTHEST(r));
  return out.join("\n");
}

function FURTHEST(r: ReportInput): string {
  const rows = r.cold.rows;
  const load = median(rows.map((c) => c.loadOnly.median - c.baseline.median));
  const network = median(rows.map((c) => c.bundled.total.median - c.bundled.first.median));
  const beforeFirst = median(rows.map((c) => c.bundled.first.median - c.loadOnly.median));
  return `## What would move the furthest figure

The furthest figure is the compliant re-run against \`node -e 0\`: the bar is 3.5× (stretch 3×), we measure ${rows
    .map((c) => `${c.task} ${ratio(c.ratioToBaseline.median)}`)
    .join(", ")}. Split by the medians above, a re-run spends about ${ms(load)} loading and evaluating the bundle beyond Node's own start
(load only − \`node -e 0\`), about ${ms(beforeFirst)} from there to the first request (task-lib reading inputs, building the credential,
the first TLS handshake), and about ${ms(network)} from the first request to exit (token, the reads).

In CPU time, which the machine's load does not inflate: \`node -e 0\` ${ms(r.cold.rows[0]?.cpu.baseline.median)}; loading and
evaluating a bundle (load only) ${rows.map((c) => `${c.task} ${ms(c.cpu.loadOnly.median)}`).join(", ")}; the whole compliant
re-run ${rows.map((c) => `${c.task} ${ms(c.cpu.bundled.median)}`).join(", ")}. The part after loading is task-lib reading the
inputs, MSAL building its client, two or three TLS handshakes (client side), the token and the reads.

Levers taken (all build-time or in our own code; no dependency is patched). What each saves, measured in this run: the
compliant re-run as shipped against the same build with that lever left out (\`AKS_HARDENING_BUILD_WITHOUT\`, see
scripts/build.mjs), interleaved, paired medians of the difference over ${r.levers[0]?.n ?? 0} iterations:

${table(
  ["lever", ...TASK_ORDER.map((t) => `${t}: CPU time saved`), "wall time saved (noisier)"],
  [...new Set(r.levers.map((l) => l.lever))].map((lever) => [
    lever,
    ...TASK_ORDER.map((task) => {
      const row = r.levers.find((l) => l.lever === lever && l.task === task);
      return row ? ms(row.savedCpuMs) : "—";
    }),
    r.levers
      .filter((l) => l.lever === lever)
      .map((l) => `${l.task} ${ms(l.savedMs)}`)
      .join(", "),
  ]),
)}


- RestrictApiServer's post-job step is a 0.4 KB entry (\`post.js\`) that reads the task variable the main step leaves and
  loads the step's bundle (\`post-job.js\`) only when there is an IP to remove: ${ratio2(r.cold.idlePostJob.ratio.median)} of \`node -e 0\` on every job
  whose main step added none.
- One copy of the Azure core packages per bundle: \`@azure/arm-authorization\` and \`@azure/arm-features\` ship only CommonJS and
  \`require()\` core-client, core-rest-pipeline and ts-http-runtime, whose CommonJS builds then landed beside the ESM builds every
  other SDK imports. The build resolves those \`require()\`s to the ESM builds (an esbuild plugin in scripts/build.mjs):
  EnablePodIdentity's bundle went from 1033 KB to 875 KB, KeyVaultSecrets' from 965 KB to 806 KB.
- undici is not loaded: the pipeline's form-data policy tests \`typeof FormData\` on every request, which on Node 20 loads
  undici; the build defines \`FormData\` as undefined (every use in the bundled SDKs is behind that test; no task sends a form).
- SDKs a run does not need are not evaluated: \`@azure/arm-authorization\` is imported on first use (KeyVaultSecrets on an
  access-policy vault never evaluates it), \`@azure/arm-policyinsights\` only with \`reportCompliance\`.

Not taken: V8 startup snapshots (they crash on \`http\`), \`disableInstanceDiscovery\` on the public cloud (MSAL makes no
metadata request there anyway, and the option would switch off authority validation), a code cache (it helps only where
a task folder outlives a job and costs a cold Microsoft-hosted agent; not measured here). What remains is Node compiling
and evaluating task-lib, MSAL and the HTTP pipeline, which every task needs.
`;
}
