import { setTimeout as sleep } from "node:timers/promises";

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
