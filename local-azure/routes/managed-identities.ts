import type { Route } from "../http";
import type { ArmEnv } from "./arm-common";
import { requireResourceGroup, requireSubscription, resourceNotFound } from "./arm-common";

const TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities";
const BASE = `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/${TYPE}`;

/** User-assigned managed identities (api-version 2024-11-30): read, list by resource group and by subscription. Tests create them through the store. */
export function managedIdentityRoutes(env: ArmEnv): Route[] {
  return [
    {
      method: "GET",
      path: `${BASE}/{resourceName}`,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        const name = ctx.params["resourceName"] ?? "";
        const identity = env.store.get(`${group.id}/providers/${TYPE}/${name}`);
        if (!identity) throw resourceNotFound(TYPE, name, group.name);
        return { status: 200, body: identity };
      },
    },
    {
      method: "GET",
      path: BASE,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        return { status: 200, body: { value: env.store.list(`${group.id}/providers/${TYPE}`, TYPE) } };
      },
    },
    {
      method: "GET",
      path: `/subscriptions/{subscriptionId}/providers/${TYPE}`,
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        return { status: 200, body: { value: env.store.listByType(TYPE) } };
      },
    },
  ];
}
