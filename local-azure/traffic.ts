import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Listener } from "./http";

/**
 * One request and the answer it got, byte for byte as they crossed the wire (bodies as text), so the
 * traffic can be checked against Azure's REST specs afterwards (test/contracts). Unlike the request
 * log, recorded traffic is never cleared between runs and keeps whole bodies: it stays in the test
 * process and is never printed.
 */
export interface RecordedExchange {
  listener: Listener;
  method: string;
  /** `https://host[:port]/path?query`, the path as the client sent it (still percent-encoded). */
  url: string;
  /** Host header without the port, lower-cased. */
  host: string;
  /** The local Azure route template that answered, when one matched (`/subscriptions/{subscriptionId}/...`). */
  route?: string;
  request: { headers: Record<string, string>; body?: string };
  /** Absent when no answer left: the connection was reset or held until the client gave up. */
  response?: { status: number; headers: Record<string, string>; body?: string };
}

/** Header maps as plain name → value, names lower-cased, repeated values joined as HTTP would. */
export function flatHeaders(headers: IncomingHttpHeaders | OutgoingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return flat;
}
