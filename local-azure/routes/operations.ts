import { ArmError } from "../http";
import type { Route } from "../http";
import type { ArmEnv } from "./arm-common";
import { operationRetryAfter, requireSubscription } from "./arm-common";

/** Async operation status (`Azure-AsyncOperation`), in the OperationStatusResult shape resource providers use. */
export function operationRoutes(env: ArmEnv): Route[] {
  return [
    {
      method: "GET",
      path: "/subscriptions/{subscriptionId}/providers/{providerNamespace}/locations/{location}/operations/{operationId}",
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        const op = env.store.pollOperation(ctx.params["operationId"] ?? "");
        if (!op || op.providerNamespace.toLowerCase() !== (ctx.params["providerNamespace"] ?? "").toLowerCase()) {
          throw new ArmError(404, "NotFound", `Operation '${ctx.params["operationId"]}' was not found.`);
        }
        const body: Record<string, unknown> = { name: op.id, status: op.status, startTime: op.startTime.toISOString() };
        if (op.endTime) body["endTime"] = op.endTime.toISOString();
        if (op.error) body["error"] = op.error;
        const headers = op.status === "InProgress" ? operationRetryAfter(env) : {};
        return { status: 200, headers, body };
      },
    },
  ];
}
