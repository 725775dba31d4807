import type { Interception, RequestContext, RequestInterceptor } from "./http";
import { Pending } from "./pending";

export interface FaultSpec extends RequestMatch {
  /**
   * `reset` drops the connection before the request is handled; `lostResponse` handles it (the
   * change is made) and then drops the connection instead of answering, as when a response is lost
   * on the way back; `hold` handles it only once `until` has ended, and not at all when the client
   * gives up first (a server that does not answer in time); `status` answers with the given status
   * instead; `pass` only runs `onMatch`, then handles the request as usual.
   */
  kind: "status" | "reset" | "lostResponse" | "hold" | "pass";
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** For `hold`: what the request waits for; default a Pending nobody releases (held until the client gives up). */
  until?: Pending;
  /** How many matching requests the fault applies to; default 1. */
  times?: number;
  /**
   * Runs when the fault matches, before the request is handled: e.g. someone else changes the
   * resource between a client's read and its write, so its If-Match is stale.
   */
  onMatch?: () => void;
}

export interface OperationOutcome {
  status: "Failed" | "Canceled";
  error: { code: string; message: string };
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

interface ActiveOutcome extends OperationOutcome {
  resourceId: RegExp;
}

/**
 * ARM's 403 AuthorizationFailed body, with its message as users report it (Azure/Azure-Landing-Zones#3668,
 * Azure/enterprise-azure-policy-as-code#1339).
 */
export function authorizationFailedBody(p: { objectId: string; action: string; scope: string }): {
  error: { code: string; message: string };
} {
  return {
    error: {
      code: "AuthorizationFailed",
      message: `The client '${p.objectId}' with object id '${p.objectId}' does not have authorization to perform action '${p.action}' over scope '${p.scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    },
  };
}

/** Which requests a fault or a watch applies to. */
export interface RequestMatch {
  method?: string;
  /** Matched against the request path (no query). */
  path: RegExp;
}

interface Watch extends RequestMatch {
  pending: Pending;
}

const matches = (m: RequestMatch, ctx: RequestContext) =>
  (m.method === undefined || m.method.toUpperCase() === ctx.method) && m.path.test(ctx.path);

/** The one fault injector: applied to every request before normal handling, each fault consumed `times` times. */
export class FaultInjector implements RequestInterceptor {
  private faults: ActiveFault[] = [];
  private outcomes: ActiveOutcome[] = [];
  private watches: Watch[] = [];

  add(spec: FaultSpec): void {
    if (spec.kind === "status" && spec.status === undefined) throw new Error('faults.add: kind "status" needs a status');
    this.faults.push({ ...spec, remaining: spec.times ?? 1 });
  }

  /**
   * A Pending that ends when `count` more requests matching `match` have arrived (counted before any
   * fault applies to them), e.g. to hold one run's write until a concurrent run's write comes in.
   */
  afterRequests(match: RequestMatch, count: number): Pending {
    const pending = new Pending({ observations: count });
    if (!pending.ended) this.watches.push({ ...match, pending });
    return pending;
  }

  /** ARM's subscription throttling answer: 429 with Retry-After and the SubscriptionRequestsThrottled body. */
  throttle(p: { method?: string; path: RegExp; retryAfterSeconds?: number; times?: number }): void {
    const seconds = p.retryAfterSeconds ?? 1;
    const kind = p.method === undefined || p.method.toUpperCase() === "GET" ? "read" : "write";
    this.add({
      ...(p.method === undefined ? {} : { method: p.method }),
      path: p.path,
      kind: "status",
      status: 429,
      headers: { "retry-after": String(seconds), [`x-ms-ratelimit-remaining-subscription-${kind}s`]: "0" },
      body: {
        error: {
          code: "SubscriptionRequestsThrottled",
          message: `Number of '${kind}' requests for subscription actor exceeded. Please try again after '${seconds}' seconds after the last request.`,
        },
      },
      ...(p.times === undefined ? {} : { times: p.times }),
    });
  }

  /**
   * The caller lacks a permission: ARM's 403 AuthorizationFailed, with its message as users report it
   * (Azure/Azure-Landing-Zones#3668, Azure/enterprise-azure-policy-as-code#1339), for every matching
   * request unless `times` is given.
   */
  denyAuthorization(p: { method?: string; path: RegExp; action: string; scope: string; objectId: string; times?: number }): void {
    this.add({
      ...(p.method === undefined ? {} : { method: p.method }),
      path: p.path,
      kind: "status",
      status: 403,
      body: authorizationFailedBody(p),
      times: p.times ?? Number.POSITIVE_INFINITY,
    });
  }

  /** The next long-running operation on a resource whose id matches ends Failed or Canceled instead of Succeeded. */
  failNextOperation(resourceId: RegExp, outcome: OperationOutcome): void {
    this.outcomes.push({ resourceId, ...outcome });
  }

  /** Called by the resource store when an operation starts: returns (and consumes) the injected outcome, if any. */
  takeOperationOutcome(resourceId: string): OperationOutcome | undefined {
    const index = this.outcomes.findIndex((o) => o.resourceId.test(resourceId));
    if (index < 0) return undefined;
    const [outcome] = this.outcomes.splice(index, 1);
    return outcome && { status: outcome.status, error: outcome.error };
  }

  clear(): void {
    this.faults = [];
    this.outcomes = [];
    this.watches = [];
  }

  intercept(ctx: RequestContext): Interception | Promise<Interception> {
    for (const watch of this.watches) if (matches(watch, ctx)) watch.pending.observe();
    this.watches = this.watches.filter((w) => !w.pending.ended);
    const fault = this.faults.find((f) => f.remaining > 0 && matches(f, ctx));
    if (!fault) return undefined;
    fault.remaining--;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    fault.onMatch?.();
    switch (fault.kind) {
      case "reset":
        return "reset";
      case "lostResponse":
        return "lostResponse";
      case "hold":
        return { hold: fault.until ?? new Pending() };
      case "pass":
        return undefined;
      case "status":
        return { status: fault.status ?? 500, headers: fault.headers ?? {}, body: fault.body };
    }
  }
}
