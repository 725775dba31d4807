/**
 * Network rules written through ARM that a data plane enforces only a while later: an AKS API
 * server's authorized IP ranges (up to about two minutes, AKS docs), a vault's firewall (minutes at
 * times: Azure-Samples/azuresandbox#176, liprec/vsts-release-aas#40). Until a write takes effect the
 * rules read before it stay in force.
 *
 * No test depends on the clock: a newly written rule set takes effect after `refusalsBeforeEffect`
 * requests were refused under the old one (0: at once; Infinity: never, until the next write puts it
 * in force). One write pending per resource keeps the model small; the next write puts the earlier
 * one in force (a service applies its updates in order).
 */
export class LateRules<T> {
  /** Refused requests a newly written rule set waits for before it takes effect. */
  refusalsBeforeEffect = 0;
  /** Requests refused so far, by resource key. */
  readonly refused = new Map<string, number>();
  private readonly rules = new Map<string, { effective: T; pending?: { written: T; refusalsLeft: number } }>();

  constructor(private readonly same: (a: T, b: T) => boolean) {}

  /** Before a write: what the resource holds now is what stays in force until the write takes effect. */
  beforeWrite(key: string, current: T): void {
    this.rules.set(key.toLowerCase(), { effective: current });
  }

  /** The rules in force now, given what the resource holds; a refusal under them is counted with `refuse`. */
  inForce(key: string, written: T): T {
    const k = key.toLowerCase();
    let state = this.rules.get(k);
    if (!state) {
      // Never written through ARM: what the resource holds is in force.
      state = { effective: written };
      this.rules.set(k, state);
    }
    if (!this.same(state.effective, written) && !(state.pending && this.same(state.pending.written, written))) {
      state.pending = { written, refusalsLeft: this.refusalsBeforeEffect };
    }
    if (state.pending && state.pending.refusalsLeft <= 0) {
      state.effective = state.pending.written;
      delete state.pending;
    }
    return state.effective;
  }

  /** Whether a newly written rule set is still waiting to take effect. */
  pending(key: string): boolean {
    return this.rules.get(key.toLowerCase())?.pending !== undefined;
  }

  /** Counts a request refused under the rules in force. */
  refuse(key: string): void {
    const k = key.toLowerCase();
    this.refused.set(k, (this.refused.get(k) ?? 0) + 1);
    const pending = this.rules.get(k)?.pending;
    if (pending) pending.refusalsLeft--;
  }
}
