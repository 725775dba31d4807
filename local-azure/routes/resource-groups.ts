import { ArmError } from "../http";
import type { Route } from "../http";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireSubscription } from "./arm-common";

const PATH = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}";

export function resourceGroupRoutes(env: ArmEnv): Route[] {
  return [
    {
      method: "GET",
      path: PATH,
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        const name = ctx.params["resourceGroupName"] ?? "";
        const group = env.store.getResourceGroup(name);
        if (!group) throw new ArmError(404, "ResourceGroupNotFound", `Resource group '${name}' could not be found.`);
        return { status: 200, body: group };
      },
    },
    {
      method: "PUT",
      path: PATH,
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        const name = ctx.params["resourceGroupName"] ?? "";
        const body = requireJsonObject(ctx);
        const location = body["location"];
        if (typeof location !== "string" || location.length === 0) {
          throw new ArmError(400, "LocationRequired", "The location property is required for this definition.");
        }
        const existing = env.store.getResourceGroup(name);
        if (existing && existing.location?.toLowerCase() !== location.toLowerCase()) {
          throw new ArmError(
            409,
            "InvalidResourceGroupLocation",
            `Invalid resource group location '${location}'. The Resource group already exists in location '${existing.location}'.`,
          );
        }
        const group = env.store.addResourceGroup(existing?.name ?? name, location);
        const tags = body["tags"];
        const stored = env.store.put({ ...group, ...(tags && typeof tags === "object" ? { tags } : {}) });
        return { status: existing ? 200 : 201, body: stored };
      },
    },
  ];
}
