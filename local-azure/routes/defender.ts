import { ArmError } from "../http";
import type { Route } from "../http";
import { composePricing, freePricing, pricingId, WORKSPACE_TYPE } from "../resources/defender";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireResourceGroup, requireSubscription } from "./arm-common";

/**
 * What Defender for Containers reads and writes besides the cluster:
 * - Log Analytics workspaces (Workspaces_Get, Microsoft.OperationalInsights stable 2025-07-01): GET
 *   answers 404 ResourceNotFound for a workspace that does not exist.
 * - The subscription's Defender for Cloud plans (Pricings_Get / Pricings_Update, Microsoft.Security
 *   stable 2024-01-01, path `/{scopeId}/providers/Microsoft.Security/pricings/{pricingName}` with the
 *   subscription as scope): a plan never turned on answers the Free tier; PUT answers 200 with the plan.
 */
export function defenderRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  return [
    {
      method: "GET",
      path: `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/${WORKSPACE_TYPE}/{workspaceName}`,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        const name = ctx.params["workspaceName"] ?? "";
        const found = store.get(`${group.id}/providers/${WORKSPACE_TYPE}/${name}`);
        if (!found) {
          throw new ArmError(
            404,
            "ResourceNotFound",
            `The Resource '${WORKSPACE_TYPE}/${name}' under resource group '${group.name}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
          );
        }
        return { status: 200, body: found };
      },
    },
    {
      method: "GET",
      path: "/subscriptions/{subscriptionId}/providers/Microsoft.Security/pricings/{pricingName}",
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        const name = ctx.params["pricingName"] ?? "";
        return { status: 200, body: store.get(pricingId(store.subscriptionId, name)) ?? freePricing(store.subscriptionId, name) };
      },
    },
    {
      method: "PUT",
      path: "/subscriptions/{subscriptionId}/providers/Microsoft.Security/pricings/{pricingName}",
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        const name = ctx.params["pricingName"] ?? "";
        const current = store.get(pricingId(store.subscriptionId, name)) ?? freePricing(store.subscriptionId, name);
        return { status: 200, body: store.put(composePricing(current, requireJsonObject(ctx), store.now())) };
      },
    },
  ];
}
