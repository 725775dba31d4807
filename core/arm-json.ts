import type { AzureClients } from "./azure";
import { clusterClient } from "./cluster";

/**
 * A GET or PUT of one ARM resource this extension has no SDK for (a Log Analytics workspace, a
 * Defender for Cloud plan), as JSON, at a given api-version. It goes through the run's ARM client
 * pipeline (sign-in, retries, proxy, the per-try timeout), so it behaves like every SDK call. An
 * error is thrown the way core/errors.ts reads ARM errors (status, code, Azure's message).
 */
export async function armJson<T>(
  clients: AzureClients,
  request: { method: "GET" | "PUT"; path: string; apiVersion: string; body?: unknown },
): Promise<{ status: number; body: T }> {
  const resource = clusterClient(clients).pathUnchecked(request.path.replace(/^\/*/, "/"));
  const options = { queryParameters: { "api-version": request.apiVersion }, headers: { accept: "application/json" } };
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
