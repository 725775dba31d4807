import { setTimeout as sleep } from "node:timers/promises";
import { InputError } from "./errors";
import { readSecondsVariable } from "./inputs";

/**
 * The pipeline variable that sets the first pause of every wait a task makes where Azure did not say
 * how long to wait (no `Retry-After`): the Azure SDK's retries of a 5xx answer, a dropped connection
 * or a try that timed out; the polls of a long-running operation, of a busy cluster, of a principal
 * still replicating, of a grant or a recovered secret not yet in effect. Each wait's later pauses grow
 * from it by that wait's own rule, and its budget still bounds it; a `Retry-After` is always honoured.
 */
export const RETRY_DELAY_VARIABLE = "AksHardening.RetryDelaySeconds";

/**
 * The first pause of a wait: AksHardening.RetryDelaySeconds when the pipeline sets it, else the
 * wait's own `defaultMs`. Read where a wait is set up (a variable does not change during a run);
 * `checkRetryDelayVariable` refuses a bad value with the service connection, before any request.
 */
export function firstPauseMs(defaultMs: number): number {
  const seconds = readSecondsVariable(RETRY_DELAY_VARIABLE, defaultMs / 1000);
  // Zero would never use up a budget counted in time waited.
  if (seconds <= 0) throw new InputError(RETRY_DELAY_VARIABLE, `'${seconds}' must be a number of seconds above zero.`);
  return seconds * 1000;
}

/** Pause number `attempt` (from 0) of a back-off that starts at `firstPauseMs(defaultFirstMs)` and doubles, at most `maxMs`. */
export function backoffMs(attempt: number, defaultFirstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstPauseMs(defaultFirstMs) * 2 ** attempt);
}

/** Fails with the variable's name when AksHardening.RetryDelaySeconds holds no usable number of seconds. */
export function checkRetryDelayVariable(): void {
  firstPauseMs(1000);
}

/**
 * Time a task may spend waiting between tries of something Azure is not ready for yet (a busy
 * cluster, a principal still replicating). Only the waits are counted, not the requests between
 * them, so the number of tries a budget buys is the same on a fast agent and on a loaded one.
 */
export class WaitBudget {
  private spentMs = 0;

  constructor(readonly totalMs: number) {}

  /** Whether waiting `ms` more stays within the budget. */
  allows(ms: number): boolean {
    return this.spentMs + ms <= this.totalMs;
  }

  /** Waits `ms` (which `allows` said fits) and counts it. */
  async wait(ms: number): Promise<void> {
    this.spentMs += ms;
    await sleep(ms);
  }
}

/** A duration for a log line: "40 ms", "3 s", "20 min". */
export function formatDuration(ms: number): string {
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
