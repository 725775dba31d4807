import { it } from "mocha";
import assert from "node:assert/strict";
import type { StepRun } from "../harness/agent";
import { FAULT_COLUMNS, NOT_APPLICABLE_PREFIX, TASKS } from "./columns.mjs";

/**
 * The reliability matrices name every test `<Task> × <column>[ — <detail>]`; the reliability
 * reporter (scripts/reliability-reporter.mjs) groups results by task and column into the table.
 */
export { FAULT_COLUMNS, TASKS };
export type TaskName = (typeof TASKS)[number];
export type FaultColumn = (typeof FAULT_COLUMNS)[number];

export function cellName(task: TaskName, column: string, detail?: string): string {
  return `${task} × ${column}${detail ? ` — ${detail}` : ""}`;
}

/**
 * A cell that does not apply is in the table as such, with the reason, rather than faked: a pending
 * test whose title carries the reason (the reliability reporter reads it from there).
 */
export function notApplicable(task: TaskName, column: string, reason: string): void {
  it.skip(`${cellName(task, column)} ${NOT_APPLICABLE_PREFIX}${reason})`);
}

/*
 * How long a cell takes is reported in the table, never asserted: on a loaded machine it says nothing
 * about the task. That every cell ends is checked by what the cells assert (a bounded number of tries,
 * the wait budgets of the pipeline variables) and, for a task that hangs, by the step's watchdog in
 * test/harness/agent.ts.
 */

export function assertSucceeded(run: StepRun): void {
  assert.equal(run.result, "Succeeded", `task failed: ${run.resultMessage}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
}

/** Failed with one line that matches: what the pipeline shows as the task's result. */
export function assertFailedWithOneLine(run: StepRun, message: RegExp): void {
  assert.equal(run.result, "Failed", `expected a failure\n${run.stdout.slice(-3000)}`);
  const line = run.resultMessage ?? "";
  assert.ok(!/[\r\n]/.test(line), `the error is one line: ${line}`);
  assert.match(line, message);
}

/** A deep copy without the given dotted paths, e.g. `properties.provisioningState`. */
export function without(value: unknown, paths: readonly string[]): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const path of paths) {
    const keys = path.split(".");
    let at: Record<string, unknown> | undefined = copy;
    for (const key of keys.slice(0, -1)) at = at?.[key] as Record<string, unknown> | undefined;
    if (at) delete at[keys.at(-1)!];
  }
  return copy;
}

/** What Azure itself changes on every write of a resource, never what a task owns. */
export const VOLATILE = ["eTag", "etag", "properties.provisioningState", "systemData"];
