import type { Route } from "../http";
import { isWrite, type RequestLog, type RequestLogEntry } from "../request-log";

/** Where the local Azure serves its own request log: not an Azure API (no Azure path starts so). */
export const REQUEST_LOG_PATH = "/local-azure/requests";

/**
 * The request log as text, for a person running tasks by hand (`npm run local-azure`): one line per
 * request, oldest first — `write`, `read` or `token` (sign-in), method, status, host when it is not the local Azure's own
 * (a vault, an API server), path with its api-version — then a count that says plainly whether
 * anything was written. Only method, host, path and status: never a body or a header. `DELETE`
 * empties it, to watch one run.
 */
export function requestLogRoutes(log: RequestLog): Route[] {
  const shown = () => log.entries.filter((entry) => !entry.path.startsWith(REQUEST_LOG_PATH));
  return [
    {
      method: "GET",
      path: REQUEST_LOG_PATH,
      handler: () => ({ status: 200, body: describeRequests(shown()), contentType: "text/plain; charset=utf-8" }),
    },
    {
      method: "DELETE",
      path: REQUEST_LOG_PATH,
      handler: () => {
        log.clear();
        return { status: 204 };
      },
    },
  ];
}

/** Sign-in (Entra's token endpoint, the managed-identity endpoint, Azure DevOps' OIDC token) writes nothing in Azure. */
const SIGN_IN = /\/oauth2\/(v2\.0\/)?token$|\/metadata\/identity\/oauth2\/token$|\/oidctoken$|\/\.well-known\/|\/discovery\//i;

function kindOf(entry: RequestLogEntry): "write" | "read " | "token" {
  if (SIGN_IN.test(entry.path)) return "token";
  return isWrite(entry) ? "write" : "read ";
}

export function describeRequests(entries: readonly RequestLogEntry[]): string {
  const lines = entries.map((entry) => {
    const host = /^(127\.0\.0\.1|localhost)(:\d+)?$/i.test(entry.host) ? "" : entry.host;
    const query = entry.apiVersion ? `?api-version=${entry.apiVersion}` : "";
    return `${kindOf(entry)} ${entry.method.padEnd(6)} ${String(entry.status || "---")} ${host}${entry.path}${query}`;
  });
  const writes = entries.filter((entry) => kindOf(entry) === "write");
  const failed = writes.filter((entry) => entry.status === 0 || entry.status >= 400).length;
  lines.push(
    writes.length === 0
      ? `${entries.length} requests, nothing written.`
      : `${entries.length} requests, ${writes.length} of them writes${failed ? ` (${failed} refused or unanswered)` : ""}.`,
  );
  return `${lines.join("\n")}\n`;
}
