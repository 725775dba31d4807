import type { AzureClients } from "./azure";
import { clusterClient } from "./cluster";
import { TaskError } from "./errors";

/**
 * A GET or PUT of one ARM resource this extension has no SDK for (a Log Analytics workspace, a
 * Defender for Cloud plan), as JSON, at a given api-version. It goes through the run's ARM client
 * pipeline (sign-in, retries, proxy, the per-try timeout), so it behaves like every SDK call. An
 * error is thrown the way core/errors.ts reads ARM errors (status, code, Azure's message).
 */
export async function armJson<T>(
  clients: AzureClients,
  request: ({ path: string; apiVersion: string } | { url: string }) & { method: "GET" | "PUT"; body?: unknown },
): Promise<{ status: number; body: T }> {
  // An absolute URL (a list's nextLink) is sent as it is, its query included.
  const resource = clusterClient(clients).pathUnchecked("url" in request ? request.url : request.path.replace(/^\/*/, "/"));
  const options = {
    ...("apiVersion" in request ? { queryParameters: { "api-version": request.apiVersion } } : {}),
    headers: { accept: "application/json" },
  };
  const response =
    request.method === "GET"
      ? await resource.get(options)
      : await resource.put({ ...options, contentType: "application/json", body: request.body });
  const status = Number(response.status);
  if (status >= 200 && status < 300) return { status, body: response.body as T };
  const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  throw Object.assign(new Error(error?.message ?? `HTTP ${status}`), { statusCode: status, code: error?.code });
}

/** The resource, or undefined when ARM answers 404. */
export async function armGetOptional<T>(clients: AzureClients, path: string, apiVersion: string): Promise<T | undefined> {
  try {
    return (await armJson<T>(clients, { method: "GET", path, apiVersion })).body;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * Every item of an ARM list (`{ value: [...], nextLink }`), page after page. The first page is asked
 * at `path` with the api-version; each next page at the `nextLink` Azure answered, which carries its
 * own query. The link comes from Azure's answer: the connection's token only ever goes to the
 * connection's ARM host, so a link to another host is not followed.
 */
export async function armList<T>(clients: AzureClients, path: string, apiVersion: string): Promise<T[]> {
  const arm = new URL(clients.connection.armUrl);
  const items: T[] = [];
  let page = (await armJson<{ value?: T[]; nextLink?: string }>(clients, { method: "GET", path, apiVersion })).body;
  for (;;) {
    items.push(...(page.value ?? []));
    if (!page.nextLink) return items;
    const next = new URL(page.nextLink);
    if (next.origin !== arm.origin) {
      throw new TaskError(
        `The next page of ${path} points to another host than the connection's Azure Resource Manager (${arm.origin}); not followed.`,
      );
    }
    page = (await armJson<{ value?: T[]; nextLink?: string }>(clients, { method: "GET", url: next.toString() })).body;
  }
}
