/**
 * Something in the local Azure that is still going on: a cluster busy with another operation, a
 * long-running operation, a response held back, a change still propagating. Real Azure ends these
 * after some time; here they end only by events a test controls, so no test outcome depends on how
 * fast the machine is:
 * - after a number of observations: requests that found it still going on (an operation status poll
 *   that answered InProgress, a write refused with 409, ...), counted by whoever serves them;
 * - when the test calls `release()`.
 * `new Pending({ observations: 2 })` is seen going on by two requests, and is over for the third;
 * `new Pending()` goes on until released.
 */
export class Pending {
  private left: number;
  private readonly endListeners: (() => void)[] = [];

  constructor(p: { observations?: number } = {}) {
    if (p.observations !== undefined && !(Number.isInteger(p.observations) && p.observations >= 0))
      throw new Error(`Pending: observations must be a whole number, got ${p.observations}`);
    this.left = p.observations ?? Infinity;
  }

  get ended(): boolean {
    return this.left <= 0;
  }

  /** How many more requests will find it going on (Infinity until released). */
  get observationsLeft(): number {
    return Math.max(0, this.left);
  }

  /** A request found it: true when that request sees it still going on (and counts towards its end). */
  observe(): boolean {
    if (this.ended) return false;
    this.left--;
    if (this.ended) this.end();
    return true;
  }

  release(): void {
    if (this.ended) return;
    this.left = 0;
    this.end();
  }

  /** Runs `listener` as soon as it ends (at once when it already has), synchronously. */
  onEnd(listener: () => void): void {
    if (this.ended) listener();
    else this.endListeners.push(listener);
  }

  /** Resolves once it has ended. */
  whenEnded(): Promise<void> {
    return new Promise((resolve) => this.onEnd(resolve));
  }

  private end(): void {
    for (const listener of this.endListeners.splice(0)) listener();
  }
}
