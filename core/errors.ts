import { isRestError } from "@azure/core-rest-pipeline";

/**
 * A task input that cannot be used as given. Thrown while parsing, before any Azure call, so the
 * message can name the input and say how to fix it.
 */
export class InputError extends Error {
  constructor(
    readonly input: string,
    detail: string,
  ) {
    super(`${input}: ${shortenLongValues(detail)}`);
    this.name = "InputError";
  }
}

/** Longer unbroken runs in a message are pasted values, not words. */
const LONG_VALUE = /\S{121,}/g;

/**
 * Messages quote what the user typed; a pasted 100 KB value would make the error line unreadable
 * (and the agent's log with it). Such a value is shown by its start and its length.
 */
export function shortenLongValues(text: string): string {
  return text.replace(LONG_VALUE, (token) => {
    const opening = /^['"([]*/.exec(token)?.[0] ?? "";
    const closing = /['")\].,;:]*$/.exec(token)?.[0] ?? "";
    const value = token.slice(opening.length, token.length - closing.length);
    return `${opening}${value.slice(0, 60)}…${closing} (${value.length} characters)`;
  });
}

/** At most a few problems are listed; the rest are counted. One fix-and-re-run still shows the next ones. */
export function listProblems(problems: readonly string[], max = 5): string {
  const shown = problems.slice(0, max).join(" ");
  return problems.length > max ? `${shown} … and ${problems.length - max} more.` : shown;
}

/**
 * A condition found in Azure that makes the requested change impossible or unsafe (a private
 * cluster, a cluster that stays busy). Its message is already the sentence the user should read.
 */
export class TaskError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TaskError";
  }
}

/**
 * A long-running operation Azure accepted and then ended `Failed` or `Canceled` (its status URL says so,
 * with the operation's error): no request was refused, so it has no HTTP status of its own.
 */
export class OperationEndedError extends Error {
  constructor(
    readonly status: "Failed" | "Canceled",
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "OperationEndedError";
  }
}

/** What the task was doing when Azure answered with an error, so the sentence can name it. */
export interface ErrorContext {
  /** e.g. "read managed cluster 'aks-prod' in resource group 'rg-prod'" */
  action: string;
  /** The permission the service connection needs for this action, e.g. "Microsoft.ContainerService/managedClusters/write". */
  permission?: string;
}

/** The `code` and `message` ARM returns in `{"error": {...}}`, whichever way the client surfaced them. */
export function azureErrorDetails(error: unknown): { status?: number; code?: string; message: string } {
  if (isRestError(error)) {
    const body = (error.response?.bodyAsText ?? "") as string;
    let code = error.code;
    let message = error.message;
    try {
      // ARM wraps the error in `error`; AKS sends some at the top level (e.g. its 409 EtagMismatch).
      const parsed = JSON.parse(body) as { code?: string; message?: string; error?: { code?: string; message?: string } };
      const details = parsed.error ?? parsed;
      if (typeof details.code === "string" && details.code) code = details.code;
      if (typeof details.message === "string" && details.message) message = details.message;
    } catch {
      // Not JSON: keep what the client parsed.
    }
    return { status: error.statusCode, code, message };
  }
  if (error instanceof Error) {
    const withCode = error as Error & { code?: string; statusCode?: number };
    return { status: withCode.statusCode, code: withCode.code, message: error.message };
  }
  return { message: String(error) };
}

/**
 * Turns whatever a task threw into the one line the pipeline shows. Known ARM codes become
 * sentences that say what to do; anything else keeps Azure's own message.
 */
export function describeFailure(error: unknown, context?: ErrorContext): string {
  if (error instanceof InputError || error instanceof TaskError) return error.message;
  if (isSignInFailure(error)) return describeSignInFailure(error as Error);
  const { status, code, message } = azureErrorDetails(error);
  if (error instanceof OperationEndedError) {
    const what = context ? `the operation to ${context.action}` : "the operation";
    return error.status === "Canceled"
      ? `Azure canceled ${what} before it finished; re-run the task to complete it (it keeps what was done).`
      : `Azure could not complete ${what}: ${code ? `${code}: ` : ""}${firstLine(message).replace(/\.+$/, "")}. Check the resource's activity log, fix the cause and re-run the task (it keeps what was done).`;
  }
  const doing = context ? `Could not ${context.action}` : "Azure refused the request";
  switch (code) {
    case "AuthorizationFailed":
    case "LinkedAuthorizationFailed":
      return `${doing}: the service connection's identity is not allowed to${context?.permission ? ` (it needs '${context.permission}')` : ""}. Grant it a role that includes this permission on the resource, then re-run. Azure said: ${message}`;
    case "ResourceNotFound":
    case "ResourceGroupNotFound":
    case "NotFound":
      return `${doing}: it does not exist in the service connection's subscription. Check the resource group and name. Azure said: ${message}`;
    case "InvalidAuthenticationToken":
    case "InvalidAuthenticationTokenAudience":
    case "ExpiredAuthenticationToken":
      return `${doing}: Azure did not accept the service connection's token. Check that the connection targets the right cloud and tenant. Azure said: ${message}`;
    case "SubscriptionNotFound":
      return `${doing}: the subscription in the service connection was not found. Check the connection's subscription. Azure said: ${message}`;
    default:
      break;
  }
  if (status === undefined && code === "ETIMEDOUT") {
    return `${doing}: Azure did not answer in time, also when tried again (${firstLine(message)}). Check the agent's network and proxy; if Azure is only slow, raise the pipeline variable AksHardening.RequestTimeoutSeconds.`;
  }
  if (status === undefined && isNetworkError(error)) {
    return `${doing}: the connection to Azure failed (${code ?? "network error"}: ${firstLine(message)}). If the agent needs a proxy, configure it on the agent.`;
  }
  const codePart = code ? `${code}: ` : "";
  const statusPart = status ? ` (HTTP ${status})` : "";
  return `${doing}${statusPart}: ${codePart}${firstLine(message)}`;
}

/**
 * Which part of signing in failed decides what the user should check: the Azure DevOps OIDC token
 * (workload identity federation), Entra being unavailable (transient, on Azure's side), or Entra
 * refusing the connection's credentials. Only codes and service messages are quoted, never a token.
 */
function describeSignInFailure(error: Error & { statusCode?: number }): string {
  const message = error.message;
  const prefix = "Could not sign in with the service connection:";
  if (/AzurePipelinesCredential/.test(message) && /oidc/i.test(message)) {
    const status = error.statusCode ?? /Status code: (\d+)/.exec(message)?.[1];
    // Azure DevOps' own message, from the response body the credential quotes (JSON-escaped or not, by release).
    const devOps = /\\?"message\\?":\s*\\?"([^"\\]*)/.exec(message)?.[1];
    return `${prefix} Azure DevOps did not issue the job's OIDC token for workload identity federation (${status ? `HTTP ${status}` : "no token"}${devOps ? `: ${devOps}` : ""}). Check that this pipeline is authorized to use the service connection and that the job's access token (System.AccessToken) is available to tasks; if Azure DevOps reports an incident, re-run later.`;
  }
  const entra = sentence(/AADSTS\d+:[^\n]*/.exec(message)?.[0]?.split(" - ")[0] ?? firstLine(message));
  if (/temporarily_unavailable|server_error|AADSTS(90033|50196|90036)\b/.test(message)) {
    return `${prefix} Microsoft Entra ID did not issue a token (${entra}) This is usually temporary on Azure's side: re-run the job; if it persists, check the connection's cloud (its authority URL) and the agent's network and proxy.`;
  }
  if (/AADSTS7002(11|12|13|14)\b/.test(message)) {
    return `${prefix} ${entra} Check the federated credential (issuer, subject, audience) on the service connection's app registration or managed identity; Project settings > Service connections shows the issuer and subject it must trust.`;
  }
  return `${prefix} ${entra} Check the service connection's credentials, tenant and cloud in Project settings > Service connections.`;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * Credential failures surface as @azure/identity errors, or as MSAL's own errors (named e.g.
 * ServerError) carrying Entra's AADSTS code, depending on the credential.
 */
function isSignInFailure(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? "";
  if (["AuthenticationError", "CredentialUnavailableError", "AggregateAuthenticationError", "AuthenticationRequiredError"].includes(name))
    return true;
  const message = error instanceof Error ? error.message : "";
  return !isRestError(error) && /AADSTS\d+|invalid_client|unauthorized_client|invalid_grant/.test(message);
}

function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code ?? "";
  return /^(ECONNRESET|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EPIPE|ESOCKETTIMEDOUT|REQUEST_SEND_ERROR|UND_ERR)/.test(code);
}

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .find((line) => line.trim().length > 0)
      ?.trim() ?? text
  );
}
