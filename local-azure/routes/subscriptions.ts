import type { Route } from "../http";
import type { ArmEnv } from "./arm-common";
import { requireSubscription } from "./arm-common";

const TENANT_DISPLAY_NAME = "Local tenant";
const SUBSCRIPTION_DISPLAY_NAME = "Local subscription";

/**
 * The subscriptions and tenants lists a sign-in reads (`az login` lists both to build its profile), after
 * the Microsoft.Resources subscriptions spec (2022-12-01): Subscriptions_List, Subscriptions_Get
 * (definition `Subscription`) and Tenants_List (example GetTenants). The local directory has one tenant
 * and one subscription, and every caller the ARM check admits belongs to that tenant.
 */
export function subscriptionRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const subscription = () => ({
    id: `/subscriptions/${store.subscriptionId}`,
    authorizationSource: "RoleBased",
    managedByTenants: [],
    subscriptionId: store.subscriptionId,
    tenantId: store.tenantId,
    displayName: SUBSCRIPTION_DISPLAY_NAME,
    state: "Enabled",
    subscriptionPolicies: { locationPlacementId: "Public_2014-09-01", quotaId: "PayAsYouGo_2014-09-01", spendingLimit: "Off" },
  });
  return [
    { method: "GET", path: "/subscriptions", auth: "arm", handler: () => ({ status: 200, body: { value: [subscription()] } }) },
    {
      method: "GET",
      path: "/subscriptions/{subscriptionId}",
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        return { status: 200, body: subscription() };
      },
    },
    {
      method: "GET",
      path: "/tenants",
      auth: "arm",
      handler: () => ({
        status: 200,
        body: {
          value: [
            {
              id: `/tenants/${store.tenantId}`,
              tenantId: store.tenantId,
              tenantCategory: "Home",
              displayName: TENANT_DISPLAY_NAME,
              defaultDomain: "local.onmicrosoft.com",
              domains: ["local.onmicrosoft.com"],
              tenantType: "AAD",
            },
          ],
        },
      }),
    },
  ];
}
