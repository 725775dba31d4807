import { ArmError, header, jsonBody } from "../http";
import type { RequestContext } from "../http";
import { isPlainObject } from "../resources/merge";
import type { ArmResource, ResourceStore } from "../store";

export interface ArmEnv {
  url: string;
  store: ResourceStore;
  retryAfterSeconds: number;
}

/** ARM answers for any subscription id in the path; only the local one exists. */
export function requireSubscription(env: ArmEnv, ctx: RequestContext): void {
  const sub = ctx.params["subscriptionId"] ?? "";
  if (sub.toLowerCase() !== env.store.subscriptionId.toLowerCase()) {
    throw new ArmError(404, "SubscriptionNotFound", `The subscription '${sub}' could not be found.`);
  }
}

export function requireResourceGroup(env: ArmEnv, ctx: RequestContext): ArmResource {
  requireSubscription(env, ctx);
  const name = ctx.params["resourceGroupName"] ?? "";
  const group = env.store.getResourceGroup(name);
  if (!group) throw new ArmError(404, "ResourceGroupNotFound", `Resource group '${name}' could not be found.`);
  return group;
}

export function resourceNotFound(type: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    "ResourceNotFound",
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

export function requireJsonObject(ctx: RequestContext): Record<string, unknown> {
  const body = jsonBody(ctx);
  if (!isPlainObject(body))
    throw new ArmError(
      400,
      "InvalidRequestContent",
      "The request content was invalid and could not be deserialized: the body must be a JSON object.",
    );
  return body;
}

const stripEtag = (v: string) =>
  v
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");

/** If-Match / If-None-Match as ARM resource providers apply them; a stale If-Match is 412 PreconditionFailed. */
export function checkPreconditions(ctx: RequestContext, current: ArmResource | undefined, etagField = "eTag"): void {
  const ifMatch = header(ctx, "if-match");
  const ifNoneMatch = header(ctx, "if-none-match");
  const currentEtag = current === undefined ? undefined : (current[etagField] as string | undefined);
  if (ifMatch !== undefined) {
    const wanted = ifMatch.split(",").map(stripEtag);
    const ok = current !== undefined && (wanted.includes("*") || (currentEtag !== undefined && wanted.includes(currentEtag)));
    if (!ok) {
      throw new ArmError(
        412,
        "PreconditionFailed",
        current === undefined
          ? `The resource does not exist, so the If-Match precondition '${ifMatch}' cannot be met.`
          : `Operation failed because the If-Match value '${ifMatch}' does not match the current eTag '${currentEtag ?? ""}' of the resource. Get the resource again and retry with its current eTag.`,
      );
    }
  }
  if (
    ifNoneMatch !== undefined &&
    current !== undefined &&
    ifNoneMatch
      .split(",")
      .map(stripEtag)
      .some((v) => v === "*" || v === currentEtag)
  ) {
    throw new ArmError(412, "PreconditionFailed", `The resource already exists and If-None-Match is '${ifNoneMatch}'.`);
  }
}

/** Headers a long-running PUT/DELETE answers with. */
export function asyncOperationHeaders(
  env: ArmEnv,
  ctx: RequestContext,
  p: { providerNamespace: string; location: string; operationId: string },
): Record<string, string> {
  const apiVersion = ctx.query["api-version"] ?? "";
  const location = p.location.toLowerCase().replace(/\s+/g, "");
  return {
    "azure-asyncoperation": `${env.url}/subscriptions/${env.store.subscriptionId}/providers/${p.providerNamespace}/locations/${location}/operations/${p.operationId}?api-version=${encodeURIComponent(apiVersion)}`,
    ...operationRetryAfter(env),
  };
}

/** The Retry-After of an operation still running; none when the local Azure is set to send none (retryAfterSeconds 0). */
export function operationRetryAfter(env: ArmEnv): Record<string, string> {
  return env.retryAfterSeconds > 0 ? { "retry-after": String(env.retryAfterSeconds) } : {};
}
