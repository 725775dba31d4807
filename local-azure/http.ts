import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { preciseNow, type RequestLog, type RequestLogEntry } from "./request-log";
import { newGuid } from "./jwt";
import type { Pending } from "./pending";
import { flatHeaders, type RecordedExchange } from "./traffic";

/** What a handler returns: objects are sent as JSON, strings as text/plain. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  contentType?: string;
}

export interface RequestContext {
  method: string;
  host: string; // Host header without the port, lower-cased
  path: string; // decoded path without the query
  query: Record<string, string>; // keys as sent
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  params: Record<string, string>; // from the route template
  listener: Listener;
  /** The TCP connection the request came over (an agent's egress address is per connection: local-azure/egress.ts). */
  connection: object;
  log: RequestLogEntry;
  /** Set by the ARM bearer-token check. */
  caller?: Caller;
}

export interface Caller {
  objectId: string;
  appId: string;
  tenantId: string;
}

export type Listener = "https" | "imds";

export interface Route {
  method: string;
  /** `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}`; literals match case-insensitively, as ARM does. */
  path: string;
  listener?: Listener; // default https
  /** Which hosts the route answers on; default: loopback names only (ARM, Entra, ADO). Key Vault data plane will use vault hosts. */
  host?: RegExp;
  /** 'arm' = ARM bearer token required. */
  auth?: "arm" | "none";
  /** What the request log keeps of the body; default: parsed JSON body when the request has one. Never return secrets. */
  logBody?: (ctx: RequestContext) => unknown;
  handler: (ctx: RequestContext) => Reply | Promise<Reply>;
}

/** Thrown by handlers and helpers; rendered in ARM's error shape. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const armErrorBody = (code: string, message: string) => ({ error: { code, message } });

export function queryValue(ctx: RequestContext, name: string): string | undefined {
  const key = Object.keys(ctx.query).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : ctx.query[key];
}

export function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function jsonBody(ctx: RequestContext): unknown {
  if (ctx.rawBody.length === 0) return undefined;
  try {
    return JSON.parse(ctx.rawBody.toString("utf8"));
  } catch {
    throw new ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
  }
}

export function formBody(ctx: RequestContext): URLSearchParams {
  return new URLSearchParams(ctx.rawBody.toString("utf8"));
}

const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\])$/i;
/** The public cloud's ARM and Entra hosts, answered too when the local Azure poses as them (`publicCloudHosts`). */
const LOOPBACK_OR_PUBLIC_CLOUD = /^(127\.0\.0\.1|localhost|\[::1\]|management\.azure\.com|login\.microsoftonline\.com)$/i;

interface CompiledRoute {
  route: Route;
  segments: string[];
}

function splitPath(path: string): string[] {
  return path.split("/").filter((s) => s.length > 0);
}

/** The one route table of the local Azure. */
export class Router {
  private readonly compiled: CompiledRoute[] = [];
  /** Hosts a route without its own `host` answers on. */
  private readonly defaultHosts: RegExp;

  constructor(options: { publicCloudHosts?: boolean } = {}) {
    this.defaultHosts = options.publicCloudHosts ? LOOPBACK_OR_PUBLIC_CLOUD : LOOPBACK;
  }

  add(routes: Route[]): void {
    for (const route of routes) this.compiled.push({ route, segments: splitPath(route.path) });
  }

  /** Returns the route and path parameters, or which methods the path would accept. */
  match(
    listener: Listener,
    host: string,
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { allowed: string[] } {
    const actual = splitPath(path);
    const allowed: string[] = [];
    for (const { route, segments } of this.compiled) {
      if ((route.listener ?? "https") !== listener) continue;
      if (!(route.host ?? this.defaultHosts).test(host)) continue;
      const params = matchSegments(segments, actual);
      if (!params) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      return { route, params };
    }
    return { allowed };
  }
}

function matchSegments(template: string[], actual: string[]): Record<string, string> | undefined {
  // `{*scope}` matches one or more segments: an ARM scope (subscription, resource group or any
  // resource) under which extension resources such as role assignments live.
  const star = template.findIndex((t) => t.startsWith("{*") && t.endsWith("}"));
  if (star >= 0) {
    const tail = template.length - star - 1;
    if (actual.length < template.length) return undefined;
    const head = matchSegments(template.slice(0, star), actual.slice(0, star));
    const rest = matchSegments(template.slice(star + 1), actual.slice(actual.length - tail));
    if (!head || !rest) return undefined;
    return { ...head, ...rest, [template[star]!.slice(2, -1)]: `/${actual.slice(star, actual.length - tail).join("/")}` };
  }
  if (template.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    const a = actual[i] as string;
    if (t.startsWith("{") && t.endsWith("}")) params[t.slice(1, -1)] = a;
    else if (t.toLowerCase() !== a.toLowerCase()) return undefined;
  }
  return params;
}

/**
 * What may happen to a request before it is handled: a reply sent instead, `reset` (drop the
 * connection), `lostResponse` (handle it, then drop the connection instead of answering), `hold`
 * (handle it once the Pending ends, unless the client has given up by then), or undefined (handle it).
 */
export type Interception = Reply | "reset" | "lostResponse" | { hold: Pending } | undefined;

/** The fault injector, as the dispatcher sees it. */
export interface RequestInterceptor {
  intercept(ctx: RequestContext): Interception | Promise<Interception>;
}

export interface DispatchDeps {
  router: Router;
  faults: RequestInterceptor;
  log: RequestLog;
  /** Validates the ARM bearer token; throws a Reply-bearing error when it is missing or invalid. */
  authenticateArm: (ctx: RequestContext) => Caller | Reply;
  /** Milliseconds every answer is held back (the benchmark's stand-in for a network round trip); 0 in tests. */
  latencyMs?: number;
  /** Where every exchange is recorded whole, when the local Azure records traffic (tests check it against the REST specs). */
  traffic?: RecordedExchange[];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Sends the answer after the injected latency, noting when it left in the request log. */
async function answer(
  res: ServerResponse,
  reply: Reply,
  baseHeaders: Record<string, string>,
  log: RequestLogEntry,
  latencyMs = 0,
  recorded?: RecordedExchange,
): Promise<void> {
  if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
  log.answeredAt = preciseNow();
  const sent = send(res, reply, baseHeaders);
  if (recorded) recorded.response = { status: reply.status, ...sent };
}

/** Writes the answer; returns the headers and body as sent. */
function send(res: ServerResponse, reply: Reply, baseHeaders: Record<string, string>): { headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = { ...baseHeaders, ...reply.headers };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    if (typeof reply.body === "string") {
      payload = reply.body;
      headers["content-type"] = reply.contentType ?? "text/plain; charset=utf-8";
    } else {
      payload = JSON.stringify(reply.body);
      headers["content-type"] = reply.contentType ?? "application/json; charset=utf-8";
    }
  }
  headers["content-length"] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
  return payload === undefined ? { headers: flatHeaders(headers) } : { headers: flatHeaders(headers), body: payload };
}

/** Connections not yet past their first request, with when they were opened (for the request log's `sentAt`). */
const openedConnections = new WeakMap<object, number>();

/** Called on a server's `connection` event: the first request on the connection was begun when it opened. */
export function connectionOpened(socket: object): void {
  openedConnections.set(socket, preciseNow());
}

/** When the request's connection opened, for the first request on it only. */
function takeConnectionOpenedAt(req: IncomingMessage): number | undefined {
  // An HTTPS request's socket is the TLS socket; the connection event saw the TCP socket under it.
  const socket = (req.socket as { _parent?: object })._parent ?? req.socket;
  const at = openedConnections.get(socket);
  openedConnections.delete(socket);
  return at;
}

/** Handles one request: log → fault injection → route → ARM auth → handler → response. */
export async function dispatch(listener: Listener, req: IncomingMessage, res: ServerResponse, deps: DispatchDeps): Promise<void> {
  // A request target is always a path here; `//subscriptions/...` (what SDKs send for a scope that
  // starts with '/') must not be read as a protocol-relative URL. ARM collapses the double slash.
  const url = new URL((req.url ?? "/").replace(/^\/+/, "/"), "http://placeholder");
  const hostHeader = (req.headers.host ?? "").toLowerCase();
  const host = hostHeader.startsWith("[") ? hostHeader.slice(0, hostHeader.indexOf("]") + 1) : (hostHeader.split(":")[0] ?? "");
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const method = (req.method ?? "GET").toUpperCase();
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname;
  }
  const connectionOpenedAt = takeConnectionOpenedAt(req);
  const rawBody = await readBody(req);
  const log = deps.log.start({ method, host: hostHeader, path, query, headers: req.headers, connectionOpenedAt });
  const connection = (req.socket as { _parent?: object })._parent ?? req.socket;
  const ctx: RequestContext = { method, host, path, query, headers: req.headers, rawBody, params: {}, listener, connection, log };
  const correlationId = header(ctx, "x-ms-correlation-request-id") ?? newGuid();
  const requestId = newGuid();
  const baseHeaders = { "x-ms-request-id": requestId, "x-ms-correlation-request-id": correlationId };

  const matched = deps.router.match(listener, host, method, path);
  const route = "route" in matched ? matched.route : undefined;
  log.body = route?.logBody ? safe(() => route.logBody?.(ctx)) : defaultLogBody(ctx);
  const recorded = deps.traffic ? record(deps.traffic, listener, req, { method, host, hostHeader, rawBody, route }) : undefined;

  const fault = await deps.faults.intercept(ctx);
  if (fault === "reset") {
    log.status = 0;
    req.socket.destroy();
    return;
  }
  if (typeof fault === "object" && "hold" in fault) {
    if (!(await heldUntilEnded(fault.hold, res))) {
      log.status = 0; // the client gave up waiting: nothing is handled, as when a server never answers
      return;
    }
  } else if (fault && fault !== "lostResponse") {
    log.status = fault.status;
    await answer(res, fault, baseHeaders, log, deps.latencyMs, recorded);
    return;
  }

  let reply: Reply;
  try {
    if (!("route" in matched)) {
      reply =
        matched.allowed.length > 0
          ? {
              status: 405,
              headers: { allow: matched.allowed.join(", ") },
              body: armErrorBody("MethodNotAllowed", `The requested resource does not support http method '${method}'.`),
            }
          : { status: 404, body: armErrorBody("NotFound", `The local Azure has no route for ${method} ${path}.`) };
    } else {
      ctx.params = matched.params;
      const authenticated = matched.route.auth === "arm" ? deps.authenticateArm(ctx) : undefined;
      if (authenticated && "status" in authenticated) reply = authenticated;
      else {
        if (authenticated) ctx.caller = authenticated;
        reply = await matched.route.handler(ctx);
      }
    }
  } catch (err) {
    if (err instanceof ArmError) reply = { status: err.status, headers: err.headers, body: armErrorBody(err.code, err.message) };
    else {
      console.error("[local-azure] handler failed", err);
      reply = { status: 500, body: armErrorBody("InternalServerError", "The local Azure failed to handle the request; see its stderr.") };
    }
  }
  if (fault === "lostResponse") {
    // The change is made; the client never hears so (status 0 in the log, as for a reset).
    log.status = 0;
    req.socket.destroy();
    return;
  }
  log.status = reply.status;
  await answer(res, reply, baseHeaders, log, deps.latencyMs, recorded);
}

/** Starts the exchange's record with the request as it arrived; `answer` adds the response. */
function record(
  traffic: RecordedExchange[],
  listener: Listener,
  req: IncomingMessage,
  p: { method: string; host: string; hostHeader: string; rawBody: Buffer; route: Route | undefined },
): RecordedExchange {
  const exchange: RecordedExchange = {
    listener,
    method: p.method,
    url: `${listener === "https" ? "https" : "http"}://${p.hostHeader}${req.url ?? "/"}`,
    host: p.host,
    request: { headers: flatHeaders(req.headers) },
  };
  if (p.route) exchange.route = p.route.path;
  if (p.rawBody.length > 0) exchange.request.body = p.rawBody.toString("utf8");
  traffic.push(exchange);
  return exchange;
}

/** True once the Pending ends; false when the connection closes first. */
function heldUntilEnded(pending: Pending, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const closed = () => resolve(false);
    res.once("close", closed);
    pending.onEnd(() => {
      res.off("close", closed);
      resolve(!res.destroyed);
    });
  });
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function defaultLogBody(ctx: RequestContext): unknown {
  if (ctx.rawBody.length === 0) return undefined;
  const type = String(ctx.headers["content-type"] ?? "");
  if (!type.includes("json")) return undefined;
  return safe(() => JSON.parse(ctx.rawBody.toString("utf8")) as unknown);
}
