import assert from "node:assert/strict";
import type { StepRun } from "./agent";

/**
 * What a dry run must never say: that it changed something. A dry run writes nothing, so every
 * sentence about a change speaks of what a real run would do ("would be turned on", "to be
 * created"); core/report.ts `describeChange` is how a task says it. These are the shapes a claim of
 * a done change takes in the tasks' reports: a passive or perfect of a change verb, "is now …", and a
 * detail line that lists what was done ("Added: …").
 */
const CHANGE_VERBS =
  "turned on|turned off|enabled|disabled|created|added|removed|written|granted|assigned|updated|opened|closed|changed|migrated|recovered|deployed|installed|authorized|bound|set|replaced";
const CLAIMS = [
  new RegExp(`(?<!\\bnothing )\\b(?:was|were|has been|have been)\\s+(?:just\\s+)?(?:${CHANGE_VERBS})\\b`, "i"),
  new RegExp(`\\b(?:is|are) now\\s+(?:${CHANGE_VERBS})\\b`, "i"),
  /^\s*(?:Added|Removed|Created|Granted|Assigned|Opened|Closed|Changed|Written):/,
];

/** The sentences of `text` that claim a change was made. */
export function changeClaims(text: string): string[] {
  return text.split(/\r?\n|(?<=\.)\s+/).filter((sentence) => CLAIMS.some((claim) => claim.test(sentence)));
}

/**
 * A dry run's log, warnings and job summary say what would change and never that anything did: the
 * headline says nothing was written, and no sentence claims a change (test/harness/wording.ts).
 */
export function assertSpeaksConditionally(run: StepRun): void {
  const log = run.lines.filter((line) => !line.startsWith("##vso[") && !line.startsWith("##["));
  const texts = [...log, ...run.warnings, ...run.summaries];
  assert.ok(
    run.summaries.some((summary) => /Dry run: nothing written/.test(summary)),
    `the summary says it is a dry run:\n${run.summaries.join("\n")}`,
  );
  const claims = texts.flatMap(changeClaims);
  assert.deepEqual(claims, [], "a dry run speaks in the conditional: these sentences claim a change was made");
}
