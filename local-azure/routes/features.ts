import { ArmError } from "../http";
import type { Route } from "../http";
import type { ArmEnv } from "./arm-common";
import { requireSubscription } from "./arm-common";

const BASE = "/subscriptions/{subscriptionId}/providers/Microsoft.Features/providers/{resourceProviderNamespace}/features";

/**
 * Preview-feature registration state (Microsoft.Features, api-version 2021-07-01), as `az feature show`
 * reads it: `{id, name: "<namespace>/<feature>", type: "Microsoft.Features/providers/features",
 * properties: {state}}`. A feature the subscription never registered answers NotRegistered. Tests set
 * states through the store; `register` moves a feature to Registering, as Azure does at first.
 */
export function featureRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const params = (ctx: Parameters<Route["handler"]>[0]) => {
    requireSubscription(env, ctx);
    const namespace = ctx.params["resourceProviderNamespace"] ?? "";
    const name = ctx.params["featureName"] ?? "";
    if (!/^[\w.-]+$/.test(name)) throw new ArmError(400, "InvalidFeatureName", `The feature name '${name}' is invalid.`);
    return { namespace, name };
  };
  return [
    {
      method: "GET",
      path: `${BASE}/{featureName}`,
      auth: "arm",
      handler: (ctx) => {
        const { namespace, name } = params(ctx);
        return { status: 200, body: store.feature(namespace, name) };
      },
    },
    {
      method: "POST",
      path: `${BASE}/{featureName}/register`,
      auth: "arm",
      handler: (ctx) => {
        const { namespace, name } = params(ctx);
        if (store.feature(namespace, name).properties?.["state"] !== "Registered") store.setFeatureState(namespace, name, "Registering");
        return { status: 200, body: store.feature(namespace, name) };
      },
    },
  ];
}
