import type { Route } from "../http";
import { ArmError } from "../http";
import { isPlainObject } from "../resources/merge";
import {
  composeVirtualNetworkLink,
  PRIVATE_DNS_ZONE_TYPE,
  privateDnsZone,
  privateDnsZoneAnswer,
  VIRTUAL_NETWORK_LINK_TYPE,
} from "../resources/private-dns";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireResourceGroup, requireSubscription, resourceNotFound } from "./arm-common";

const GROUP = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/privateDnsZones";

/**
 * Private DNS zones and their virtual network links (Microsoft.Network 2024-06-01, azure-rest-api-specs
 * specification/privatedns/resource-manager/Microsoft.Network/PrivateDns/stable/2024-06-01/privatedns.json):
 * PrivateZones_List (the subscription's zones), _Get, _CreateOrUpdate, VirtualNetworkLinks_List,
 * _CreateOrUpdate. Both writes are long-running in the spec (200, 201 or 202, final state via
 * `location`); the local Azure completes them in the PUT and answers 201 (created) or 200 with the
 * resource, one of the answers the spec documents, so a client that follows a `Location` when there is
 * one reads the same state here. Zones are global: a PUT names `location: global`.
 */
export function privateDnsRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const requireZone = (ctx: Parameters<Route["handler"]>[0]) => {
    const group = requireResourceGroup(env, ctx);
    const name = ctx.params["privateZoneName"] ?? "";
    const zone = store.get(`${group.id}/providers/${PRIVATE_DNS_ZONE_TYPE}/${name}`);
    if (!zone || zone.type !== PRIVATE_DNS_ZONE_TYPE) throw resourceNotFound(PRIVATE_DNS_ZONE_TYPE, name, group.name);
    return zone;
  };
  return [
    {
      method: "GET",
      path: "/subscriptions/{subscriptionId}/providers/Microsoft.Network/privateDnsZones",
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        return { status: 200, body: { value: store.listByType(PRIVATE_DNS_ZONE_TYPE).map((zone) => privateDnsZoneAnswer(store, zone)) } };
      },
    },
    {
      method: "GET",
      path: `${GROUP}/{privateZoneName}`,
      auth: "arm",
      handler: (ctx) => ({ status: 200, body: privateDnsZoneAnswer(store, requireZone(ctx)) }),
    },
    {
      method: "PUT",
      path: `${GROUP}/{privateZoneName}`,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        const name = ctx.params["privateZoneName"] ?? "";
        const body = requireJsonObject(ctx);
        if (String(body["location"] ?? "").toLowerCase() !== "global") {
          throw new ArmError(400, "LocationNotAvailableForResourceType", "Private DNS zones are global: the location must be 'global'.");
        }
        const id = `${group.id}/providers/${PRIVATE_DNS_ZONE_TYPE}/${name}`;
        const current = store.get(id);
        const zone = store.put({
          ...(current ?? privateDnsZone(id, name)),
          tags: isPlainObject(body["tags"]) ? structuredClone(body["tags"]) : (current?.tags ?? {}),
        });
        return { status: current ? 200 : 201, body: privateDnsZoneAnswer(store, zone) };
      },
    },
    {
      method: "GET",
      path: `${GROUP}/{privateZoneName}/virtualNetworkLinks`,
      auth: "arm",
      handler: (ctx) => ({ status: 200, body: { value: store.list(requireZone(ctx).id, VIRTUAL_NETWORK_LINK_TYPE) } }),
    },
    {
      method: "PUT",
      path: `${GROUP}/{privateZoneName}/virtualNetworkLinks/{virtualNetworkLinkName}`,
      auth: "arm",
      handler: (ctx) => {
        const zone = requireZone(ctx);
        const name = ctx.params["virtualNetworkLinkName"] ?? "";
        const id = `${zone.id}/virtualNetworkLinks/${name}`;
        const current = store.get(id);
        const link = store.put(composeVirtualNetworkLink(store, { zone, id, name, requested: requireJsonObject(ctx) }));
        return { status: current ? 200 : 201, body: link };
      },
    },
  ];
}
