import { formatDuration } from "../wait-budget";
import { TaskError } from "../errors";

/**
 * Waiting for a firewall change to take effect. Azure applies one some time after the write that
 * made it completes (AKS authorized ranges: up to about two minutes; a vault's network rules: longer
 * at times, see docs/job-scoped-access.md), and until then the agent is refused. A probe is one
 * request over a new connection, since each connection may leave from another of the agent's
 * addresses; the wait ends only when several in a row were admitted, so one lucky connection from
 * the one opened address does not end it while the next would be refused.
 */

/** Admitted probes in a row that end a wait: each over a new connection, so each may leave from another of the agent's addresses. */
export const CONSISTENT_ANSWERS = 3;

export type ProbeResult = { admitted: true; detail: string } | { admitted: false; reason: string };

export interface AdmissionWait {
  /** What is probed, e.g. "the API server aks-1-abc.hcp.westeurope.azmk8s.io". */
  target: string;
  /** One request over a new connection, given at most `timeoutMs`. */
  probe(timeoutMs: number): Promise<ProbeResult>;
  timeoutMs: number;
  /** One probe's limit: a dropped connection gets no answer at all, so this is what "not yet" looks like. */
  probeTimeoutMs: number;
  /** Answers in a row that end the wait. */
  consecutive: number;
  /** The error when it never does: told the last reason, the probes made, and how many were admitted. */
  failure(p: { reason: string; probes: number; admitted: number; waitedMs: number }): string;
}

/** Waits until the target admits the agent `consecutive` times in a row; returns how long it waited. */
export async function waitUntilAdmitted(wait: AdmissionWait): Promise<{ waitedMs: number; probes: number }> {
  const started = Date.now();
  const deadline = started + wait.timeoutMs;
  let probes = 0;
  let admitted = 0;
  let streak = 0;
  let refusedOnce = false;
  for (;;) {
    probes++;
    const probeStarted = Date.now();
    const result = await wait.probe(Math.max(1, Math.min(wait.probeTimeoutMs, deadline - probeStarted)));
    const now = Date.now();
    if (result.admitted) {
      admitted++;
      if (++streak >= wait.consecutive) {
        const waitedMs = now - started;
        console.log(
          refusedOnce
            ? `${capitalize(wait.target)} admitted this agent after ${formatDuration(waitedMs)} (${probes} probes; the last ${streak} in a row, each over a new connection; ${result.detail}).`
            : `${capitalize(wait.target)} admits this agent: ${streak} probes in a row, each over a new connection (${result.detail}); checked in ${formatDuration(waitedMs)}.`,
        );
        return { waitedMs, probes };
      }
      continue;
    }
    streak = 0;
    if (now >= deadline) {
      throw new TaskError(wait.failure({ reason: result.reason, probes, admitted, waitedMs: now - started }));
    }
    if (!refusedOnce) {
      refusedOnce = true;
      console.log(
        `Waiting for ${wait.target} to admit this agent (${result.reason}); Azure applies firewall changes a while after the write.`,
      );
    }
    // A blocked probe used up its whole timeout; one that failed fast waits out the rest, so probes stay paced.
    const pause = Math.min(wait.probeTimeoutMs - (now - probeStarted), deadline - now);
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
