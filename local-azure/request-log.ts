import type { IncomingHttpHeaders } from "node:http";

export interface RequestLogEntry {
  method: string;
  host: string; // Host header as sent (name:port)
  path: string; // without the query
  query: Record<string, string>;
  apiVersion?: string;
  /** HTTP status answered; 0 when the connection was reset by a fault. */
  status: number;
  ifMatch?: string;
  /** Parsed JSON for ARM; for token requests only grant_type/client_id/scope; never secrets. */
  body?: unknown;
  time: Date;
  /** When the request arrived and when its answer left, in epoch milliseconds with sub-millisecond precision. */
  receivedAt: number;
  answeredAt?: number;
  /**
   * When the client set out to send it: the opening of its connection for the first request on a
   * connection (the TLS handshake is part of that round trip), else its arrival.
   */
  sentAt: number;
}

/** Epoch milliseconds with sub-millisecond precision (Date.now() cannot order requests made within one millisecond). */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/** Every request, in arrival order. */
export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  start(p: {
    method: string;
    host: string;
    path: string;
    query: Record<string, string>;
    headers: IncomingHttpHeaders;
    connectionOpenedAt?: number | undefined;
  }): RequestLogEntry {
    const ifMatch = p.headers["if-match"];
    const entry: RequestLogEntry = {
      method: p.method,
      host: p.host,
      path: p.path,
      query: p.query,
      status: 0,
      time: new Date(),
      receivedAt: preciseNow(),
      sentAt: 0,
    };
    entry.sentAt = p.connectionOpenedAt ?? entry.receivedAt;
    const apiVersion = p.query["api-version"];
    if (apiVersion !== undefined) entry.apiVersion = apiVersion;
    if (typeof ifMatch === "string") entry.ifMatch = ifMatch;
    this.entries.push(entry);
    return entry;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

/** ARM actions sent as POST that only read (queries, a credential list), by path. */
export const READ_ACTIONS = [
  /\/providers\/Microsoft\.PolicyInsights\/(policyStates|policyEvents)\/[^/]+\/(queryResults|summarize)$/i,
  /\/providers\/Microsoft\.ContainerService\/managedClusters\/[^/]+\/listClusterUserCredential$/i,
];

/** A request that changes something: PUT, PATCH, DELETE, or a POST that is not a read action. */
export function isWrite(entry: Pick<RequestLogEntry, "method" | "path">): boolean {
  return (
    ["PUT", "PATCH", "DELETE", "POST"].includes(entry.method) && !(entry.method === "POST" && READ_ACTIONS.some((a) => a.test(entry.path)))
  );
}
