/**
 * How `npm run demo` runs the sample's pipeline against the local Azure, and how it reads the two
 * scorecards: shared by scripts/demo.ts and the tests that run the demo (test/extension/
 * demo-pipeline.test.ts, plain-demo.test.ts), so that they run exactly what a user runs.
 */
import type { Fixture } from "../test/harness/fixture";
import { DEMO_GATE_INPUTS, demoPipelineVariables, REPORT_ONLY_CHECKS } from "./demo-pipeline";
import { runDeployStep } from "./demo-deploy";
import { plural, scorecard, type ScorecardLine } from "./demo-log";
import type { PipelineRun, PipelineRunOptions, StepResult } from "./pipeline-runner";

/**
 * What the demo gives the sample's pipeline: the local Azure's public-IP service to every step that
 * looks the agent up, its values for the samples' placeholders (ranges, admin group, workspace), the
 * deploy job's stock steps, and the gate
 * without the sample's skip of the report-only check. The plain cluster fails that check by design, so
 * its demo reports the gate's verdict (failOn: never) and judges it itself (gateVerdict).
 */
export function demoRunOptions(fx: Fixture, p: { plain: boolean }): Omit<PipelineRunOptions, "secrets"> {
  const agentIpServiceUrl = `${fx.azure.url}/ip`;
  return {
    inputOverrides: {
      RestrictApiServer: { agentIpServiceUrl },
      KeyVaultSecrets: { agentIpServiceUrl },
      after: { ...DEMO_GATE_INPUTS, ...(p.plain ? { failOn: "never" } : {}) },
    },
    pipelineVariables: demoPipelineVariables(fx.azure),
    external: (step, inputs) => runDeployStep(fx, step, inputs),
  };
}

/** What the fleet demo gives the fleet sample: the local Azure's public-IP service, and its ranges, admin group and workspace. */
export function fleetRunOptions(fx: Fixture): Omit<PipelineRunOptions, "secrets"> {
  return {
    inputOverrides: { KeyVaultSecrets: { agentIpServiceUrl: `${fx.azure.url}/ip` } },
    pipelineVariables: demoPipelineVariables(fx.azure),
  };
}

function reportStep(run: PipelineRun, name: "before" | "after"): StepResult | undefined {
  return run.steps.find((s) => s.task === "AksHardeningReport@1" && s.name === name && s.kind === "main");
}

function counts(lines: readonly ScorecardLine[]): string {
  const n = (status: ScorecardLine["status"]) => lines.filter((l) => l.status === status).length;
  return `${n("PASS")} passed · ${plural(n("WARN"), "warning")} · ${n("FAIL")} failed · ${n("SKIPPED")} skipped${n("UNKNOWN") ? ` · ${n("UNKNOWN")} unknown` : ""}`;
}

/** The first scorecard: how far the cluster starts, and which task fixes each failed check. */
export function startingPoint(run: PipelineRun): string[] {
  const before = reportStep(run, "before")?.run;
  if (!before) return [];
  const lines = scorecard(before);
  return [
    ``,
    `Where the cluster started (Assess): ${counts(lines)}.`,
    ...lines.filter((l) => l.status === "FAIL").map((l) => `  failed ${l.check}: ${l.fix ?? "no fix named"}`),
  ];
}

export interface GateVerdict {
  /** The Verify scorecard's checks. */
  checks: ScorecardLine[];
  /** Failed checks other than the report-only ones, skipped and unknown checks: what the demo may not end with. */
  problems: string[];
  /** No problems: every failed check is report-only by design, and says why. */
  honest: boolean;
  lines: string[];
}

/**
 * The Verify scorecard, judged as the issue's gate: nothing skipped, nothing unknown, and no failed
 * check except those that stay report-only by design (REPORT_ONLY_CHECKS), each with its reason.
 */
export function gateVerdict(run: PipelineRun): GateVerdict {
  const after = reportStep(run, "after")?.run;
  const checks = after ? scorecard(after) : [];
  const problems = checks
    .filter((l) => l.status === "SKIPPED" || l.status === "UNKNOWN" || (l.status === "FAIL" && !isReportOnly(l)))
    .map((l) => `${l.check} ${l.status.toLowerCase()}: ${l.finding}`);
  if (!after) problems.push("the Verify scorecard did not run");
  const reportOnly = checks.filter((l) => l.status === "FAIL" && isReportOnly(l));
  return {
    checks,
    problems,
    honest: problems.length === 0,
    lines: [
      ``,
      `Verify: ${counts(checks)}.`,
      ...reportOnly.map((l) => `  failed ${l.check}, report-only by design: ${l.finding} ${l.fix}`),
      ...(reportOnly.length
        ? [
            "  A gate with failOn: error stops a release on it; the sample's gate names it in skipChecks with its reason; the demo reports it instead of skipping it.",
          ]
        : []),
      ...problems.map((p) => `  NOT EXPECTED: ${p}`),
    ],
  };
}

/** A failed check that no task fixes on purpose: one of REPORT_ONLY_CHECKS, whose fix says why it is done by hand. */
function isReportOnly(line: ScorecardLine): boolean {
  return REPORT_ONLY_CHECKS.includes(line.check) && /^by hand: .*report-only/.test(line.fix ?? "");
}
