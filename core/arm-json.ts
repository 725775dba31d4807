import type { AzureClients } from "./azure";
import { clusterClient } from "./cluster";
import { OperationEndedError, TaskError } from "./errors";
import { backoffMs, WaitBudget } from "./wait-budget";

/**
 * A GET or PUT of one ARM resource this extension has no SDK for (a Log Analytics workspace, a
 * Defender for Cloud plan), as JSON, at a given api-version. It goes through the run's ARM client
 * pipeline (sign-in, retries, proxy, the per-try timeout), so it behaves like every SDK call. An
 * error is thrown the way core/errors.ts reads ARM errors (status, code, Azure's message).
 */
export async function armJson<T>(
  clients: AzureClients,
  request: ({ path: string; apiVersion: string } | { url: string }) & { method: "GET" | "PUT"; body?: unknown },
): Promise<{ status: number; body: T; headers: Record<string, string> }> {
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
  if (status >= 200 && status < 300) return { status, body: response.body as T, headers: response.headers as Record<string, string> };
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

/** How long a long-running write may take, in all waits, before the task gives up (the operation goes on in Azure). */
const OPERATION_TIMEOUT_MS = 10 * 60_000;

/**
 * A PUT of a long-running ARM resource without an SDK (a private endpoint, a private DNS zone), then
 * the wait for it, as ARM's asynchronous protocol has it
 * (https://github.com/Azure/azure-resource-manager-rpc, async-api-reference.md): with an
 * `Azure-AsyncOperation` header the status URL is polled until `Succeeded` (`Failed` and `Canceled`
 * end it with the operation's error); with a `Location` header alone, that URL until it stops answering
 * 202; with neither, the PUT's answer is final. `Retry-After` is honoured, else the pauses grow from
 * AksHardening.RetryDelaySeconds. The resource is read again once the operation succeeded. Status and
 * location URLs are followed only on the connection's ARM host.
 */
export async function armPutAndWait<T>(clients: AzureClients, p: { path: string; apiVersion: string; body: unknown }): Promise<T> {
  const put = await armJson<T>(clients, { method: "PUT", path: p.path, apiVersion: p.apiVersion, body: p.body });
  const header = (name: string) => Object.entries(put.headers).find(([key]) => key.toLowerCase() === name)?.[1];
  const statusUrl = header("azure-asyncoperation");
  const locationUrl = statusUrl ? undefined : header("location");
  if (!statusUrl && !locationUrl) return put.body;
  const arm = new URL(clients.connection.armUrl);
  const url = new URL((statusUrl ?? locationUrl)!);
  if (url.origin !== arm.origin) {
    throw new TaskError(
      `The operation on ${p.path} points to another host than the connection's Azure Resource Manager (${arm.origin}); not followed.`,
    );
  }
  const budget = new WaitBudget(OPERATION_TIMEOUT_MS);
  for (let attempt = 0; ; attempt++) {
    const poll = await armJson<{ status?: string; error?: { code?: string; message?: string } }>(clients, {
      method: "GET",
      url: url.toString(),
    });
    if (statusUrl) {
      const state = poll.body.status?.toLowerCase();
      if (state === "succeeded") break;
      if (state === "failed" || state === "canceled") {
        throw new OperationEndedError(
          state === "failed" ? "Failed" : "Canceled",
          poll.body.error?.code,
          poll.body.error?.message ?? `The operation ended ${poll.body.status}.`,
        );
      }
    } else if (poll.status !== 202) {
      break;
    }
    const retryAfter = Number(Object.entries(poll.headers).find(([key]) => key.toLowerCase() === "retry-after")?.[1]);
    const waitMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoffMs(attempt, 2000, 15_000);
    if (!budget.allows(waitMs)) {
      throw new TaskError(
        `The write of ${p.path} was still running after ${OPERATION_TIMEOUT_MS / 60_000} minutes; it goes on in Azure. Re-run the task later: it finds what was done.`,
      );
    }
    await budget.wait(waitMs);
  }
  return (await armJson<T>(clients, { method: "GET", path: p.path, apiVersion: p.apiVersion })).body;
}
