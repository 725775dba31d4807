import type { RequestContext, Route } from "../http";
import type { ArmResource } from "../store";
import {
  composeDnsZoneGroup,
  composePrivateEndpoint,
  DNS_ZONE_GROUP_TYPE,
  PRIVATE_ENDPOINT_TYPE,
  recordVaultConnection,
} from "../resources/private-endpoint";
import {
  NAT_GATEWAY_TYPE,
  PUBLIC_IP_PREFIX_TYPE,
  PUBLIC_IP_TYPE,
  SUBNET_TYPE,
  VIRTUAL_NETWORK_TYPE,
  virtualNetworkWithSubnets,
} from "../resources/virtual-network";
import type { ArmEnv } from "./arm-common";
import { asyncOperationHeaders, requireJsonObject, requireResourceGroup, resourceNotFound } from "./arm-common";

const NAMESPACE = "Microsoft.Network";
const GROUP = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network";

/**
 * Microsoft.Network, what the tasks read and write of it: virtual networks and subnets
 * (VirtualNetworks_Get, Subnets_Get), public IP addresses and prefixes and NAT gateways (their _Get),
 * private endpoints (PrivateEndpoints_Get, _CreateOrUpdate) and their DNS zone groups
 * (PrivateDnsZoneGroups_List, _Get, _CreateOrUpdate). Writes are long-running: 201 (or 200) with the resource
 * as accepted and `Azure-AsyncOperation` (`…/providers/Microsoft.Network/locations/{location}/operations/{id}`,
 * as the azure-libraries-for-net session records show it), the final state readable once the operation
 * succeeded (spec: `final-state-via: azure-async-operation`).
 */
export function networkRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const read = (type: string, nameParam: string, answer: (r: ArmResource) => ArmResource = (r) => r): Route => ({
    method: "GET",
    path: `${GROUP}/${type.split("/")[1]}/{${nameParam}}`,
    auth: "arm",
    handler: (ctx) => ({ status: 200, body: answer(requireNetworkResource(env, ctx, type, ctx.params[nameParam] ?? "")) }),
  });
  const requireEndpoint = (ctx: RequestContext) =>
    requireNetworkResource(env, ctx, PRIVATE_ENDPOINT_TYPE, ctx.params["privateEndpointName"] ?? "");
  return [
    read(VIRTUAL_NETWORK_TYPE, "virtualNetworkName", (vnet) => virtualNetworkWithSubnets(store, vnet)),
    {
      method: "GET",
      path: `${GROUP}/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}`,
      auth: "arm",
      handler: (ctx) => {
        const vnet = requireNetworkResource(env, ctx, VIRTUAL_NETWORK_TYPE, ctx.params["virtualNetworkName"] ?? "");
        const subnet = store.get(`${vnet.id}/subnets/${ctx.params["subnetName"]}`);
        if (!subnet || subnet.type !== SUBNET_TYPE) {
          throw resourceNotFound(SUBNET_TYPE, `${vnet.name}/${ctx.params["subnetName"]}`, ctx.params["resourceGroupName"] ?? "");
        }
        return { status: 200, body: subnet };
      },
    },
    read(PUBLIC_IP_TYPE, "publicIpAddressName"),
    read(PUBLIC_IP_PREFIX_TYPE, "publicIpPrefixName"),
    read(NAT_GATEWAY_TYPE, "natGatewayName"),
    read(PRIVATE_ENDPOINT_TYPE, "privateEndpointName"),
    {
      method: "PUT",
      path: `${GROUP}/privateEndpoints/{privateEndpointName}`,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        const name = ctx.params["privateEndpointName"] ?? "";
        const id = `${group.id}/providers/${PRIVATE_ENDPOINT_TYPE}/${name}`;
        const current = store.get(id);
        const { endpoint, vaultId, status } = composePrivateEndpoint(store, {
          id,
          name,
          requested: requireJsonObject(ctx),
          current,
          callerId: ctx.caller?.objectId ?? "",
        });
        store.put(endpoint);
        const op = store.beginOperation({
          resourceId: id,
          providerNamespace: NAMESPACE,
          location: endpoint.location ?? "",
          description: "update private endpoint",
          onSucceeded: () => recordVaultConnection(store, { vaultId, endpointId: id, name, status }),
        });
        return {
          status: current ? 200 : 201,
          headers: asyncOperationHeaders(env, ctx, { providerNamespace: NAMESPACE, location: endpoint.location ?? "", operationId: op.id }),
          body: store.get(id),
        };
      },
    },
    {
      method: "GET",
      path: `${GROUP}/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups`,
      auth: "arm",
      handler: (ctx) => ({ status: 200, body: { value: store.list(requireEndpoint(ctx).id, DNS_ZONE_GROUP_TYPE).map(zoneGroupAnswer) } }),
    },
    {
      method: "GET",
      path: `${GROUP}/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{privateDnsZoneGroupName}`,
      auth: "arm",
      handler: (ctx) => {
        const endpoint = requireEndpoint(ctx);
        const name = ctx.params["privateDnsZoneGroupName"] ?? "";
        const group = store.get(`${endpoint.id}/privateDnsZoneGroups/${name}`);
        if (!group || group.type !== DNS_ZONE_GROUP_TYPE)
          throw resourceNotFound(DNS_ZONE_GROUP_TYPE, `${endpoint.name}/${name}`, ctx.params["resourceGroupName"] ?? "");
        return { status: 200, body: zoneGroupAnswer(group) };
      },
    },
    {
      method: "PUT",
      path: `${GROUP}/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{privateDnsZoneGroupName}`,
      auth: "arm",
      handler: (ctx) => {
        const endpoint = requireEndpoint(ctx);
        const name = ctx.params["privateDnsZoneGroupName"] ?? "";
        const id = `${endpoint.id}/privateDnsZoneGroups/${name}`;
        const current = store.get(id);
        const { group, records } = composeDnsZoneGroup(store, {
          endpoint,
          id,
          name,
          requested: requireJsonObject(ctx),
          callerId: ctx.caller?.objectId ?? "",
        });
        store.put(group);
        const op = store.beginOperation({
          resourceId: id,
          providerNamespace: NAMESPACE,
          location: endpoint.location ?? "",
          description: "update private dns zone group",
          onSucceeded: records,
        });
        return {
          status: current ? 200 : 201,
          headers: asyncOperationHeaders(env, ctx, { providerNamespace: NAMESPACE, location: endpoint.location ?? "", operationId: op.id }),
          body: zoneGroupAnswer(store.get(id)!),
        };
      },
    },
  ];
}

/**
 * A DNS zone group as Network answers it: name, id, etag and properties, no `type` (PrivateDnsZoneGroup,
 * 2025-05-01 virtualNetwork.json, has none); the store keeps the type to find it.
 */
function zoneGroupAnswer(group: ArmResource): Omit<ArmResource, "type"> {
  const { type: _type, ...answer } = group;
  return answer;
}

/** The resource of a Microsoft.Network type the path names, or ARM's ResourceNotFound. */
function requireNetworkResource(env: ArmEnv, ctx: RequestContext, type: string, name: string): ArmResource {
  const group = requireResourceGroup(env, ctx);
  const resource = env.store.get(`${group.id}/providers/${type}/${name}`);
  if (!resource || resource.type !== type) throw resourceNotFound(type, name, group.name);
  return resource;
}
