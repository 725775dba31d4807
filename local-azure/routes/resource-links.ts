import { ArmError, queryValue } from "../http";
import type { RequestContext, Route } from "../http";
import {
  checkLinkName,
  linkAnswer,
  MAX_LINKS_PER_SOURCE,
  RESOURCE_LINK_TYPE,
  resourceLink,
  resourceLinkId,
} from "../resources/resource-link";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject } from "./arm-common";
import { isPlainObject } from "../resources/merge";

/**
 * Resource links at any resource (ResourceLinks_CreateOrUpdate 201/200, _Get, _Delete 200/204,
 * _ListAtSourceScope with `$filter=atScope()`: links at the scope only, else at and below it).
 */
export function resourceLinkRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const path = `{*scope}/providers/${RESOURCE_LINK_TYPE}`;
  const source = (ctx: RequestContext) => {
    const scope = (ctx.params["scope"] ?? "").replace(/\/+$/, "");
    const sub = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
    if (!sub || sub.toLowerCase() !== store.subscriptionId.toLowerCase())
      throw new ArmError(404, "SubscriptionNotFound", `The subscription '${sub ?? ""}' could not be found.`);
    const resource = store.get(scope);
    if (!resource) throw new ArmError(404, "ResourceNotFound", `The resource '${scope}' was not found.`);
    return resource;
  };
  return [
    {
      method: "PUT",
      path: `${path}/{linkName}`,
      auth: "arm",
      handler: (ctx) => {
        const from = source(ctx);
        const name = ctx.params["linkName"] ?? "";
        checkLinkName(name);
        const body = requireJsonObject(ctx);
        const properties = isPlainObject(body["properties"]) ? body["properties"] : {};
        const targetId = properties["targetId"];
        if (typeof targetId !== "string" || !targetId) throw new ArmError(400, "BadRequest", "The link's properties.targetId is required.");
        if (!store.get(targetId))
          throw new ArmError(400, "BadRequest", `The link's target '${targetId}' does not exist in this subscription.`);
        const existing = store.get(resourceLinkId(from.id, name));
        if (!existing && store.list(`${from.id}/providers/${RESOURCE_LINK_TYPE}`, RESOURCE_LINK_TYPE).length >= MAX_LINKS_PER_SOURCE)
          throw new ArmError(
            400,
            "BadRequest",
            `The resource '${from.id}' already has ${MAX_LINKS_PER_SOURCE} links, the most a resource can have.`,
          );
        const notes = properties["notes"];
        const link = store.put(resourceLink({ sourceId: from.id, name, targetId, ...(typeof notes === "string" ? { notes } : {}) }));
        return { status: existing ? 200 : 201, body: linkAnswer(link) };
      },
    },
    {
      method: "GET",
      path: `${path}/{linkName}`,
      auth: "arm",
      handler: (ctx) => {
        const from = source(ctx);
        const link = store.get(resourceLinkId(from.id, ctx.params["linkName"] ?? ""));
        if (!link) throw new ArmError(404, "NotFound", `The resource link '${ctx.params["linkName"]}' was not found.`);
        return { status: 200, body: linkAnswer(link) };
      },
    },
    {
      method: "DELETE",
      path: `${path}/{linkName}`,
      auth: "arm",
      handler: (ctx) => {
        const from = source(ctx);
        return { status: store.delete(resourceLinkId(from.id, ctx.params["linkName"] ?? "")) ? 200 : 204 };
      },
    },
    {
      method: "GET",
      path,
      auth: "arm",
      handler: (ctx) => {
        const from = source(ctx);
        const atScope = (queryValue(ctx, "$filter") ?? "").replace(/\s+/g, "").toLowerCase() === "atscope()";
        const prefix = from.id.toLowerCase();
        const value = store.listByType(RESOURCE_LINK_TYPE).filter((link) => {
          const sourceId = String(link.properties?.["sourceId"] ?? "").toLowerCase();
          return atScope ? sourceId === prefix : sourceId === prefix || sourceId.startsWith(`${prefix}/`);
        });
        return { status: 200, body: { value: value.map(linkAnswer) } };
      },
    },
  ];
}
