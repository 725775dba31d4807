import { newGuid } from "../jwt";
import { ArmError } from "../http";
import type { ArmResource } from "./arm-resource";
import type { ResourceStore } from "../store";

/**
 * Private DNS zones and their virtual network links (Microsoft.Network, api-version 2024-06-01:
 * azure-rest-api-specs specification/privatedns/resource-manager/Microsoft.Network/PrivateDns/stable/
 * 2024-06-01/privatedns.json, PrivateZone, PrivateZoneProperties, VirtualNetworkLink,
 * VirtualNetworkLinkProperties), and the A records a private endpoint's DNS zone group writes into a zone.
 */

export const PRIVATE_DNS_ZONE_TYPE = "Microsoft.Network/privateDnsZones";
export const VIRTUAL_NETWORK_LINK_TYPE = "Microsoft.Network/privateDnsZones/virtualNetworkLinks";
export const A_RECORD_SET_TYPE = "Microsoft.Network/privateDnsZones/A";

/**
 * A zone as stored. Private DNS zones are global ("location": "global" in every spec example); its
 * counts are computed when it is answered (`privateDnsZoneAnswer`).
 */
export function privateDnsZone(id: string, name: string): ArmResource {
  return {
    id,
    name,
    type: PRIVATE_DNS_ZONE_TYPE,
    location: "global",
    tags: {},
    etag: newGuid(),
    properties: { provisioningState: "Succeeded", internalId: Buffer.from(newGuid()).toString("base64") },
  };
}

/**
 * The zone as GET answers it, with its limits and counts as the session record of azure-libraries-for-net
 * (Tests/Fluent.Tests/SessionRecords/Fluent.Tests.PrivateDns.VirtualNetworkLink) shows them: 25,000 record
 * sets, 1,000 links, 100 with registration; an empty zone counts one record set (its SOA).
 */
export function privateDnsZoneAnswer(store: ResourceStore, zone: ArmResource): ArmResource {
  const links = store.list(zone.id, VIRTUAL_NETWORK_LINK_TYPE);
  return {
    ...zone,
    properties: {
      maxNumberOfRecordSets: 25000,
      maxNumberOfVirtualNetworkLinks: 1000,
      maxNumberOfVirtualNetworkLinksWithRegistration: 100,
      numberOfRecordSets: 1 + store.list(zone.id, A_RECORD_SET_TYPE).length,
      numberOfVirtualNetworkLinks: links.length,
      numberOfVirtualNetworkLinksWithRegistration: links.filter((l) => l.properties?.["registrationEnabled"] === true).length,
      ...zone.properties,
    },
  };
}

/** Adds a zone someone created earlier (the portal, a platform team). */
export function addPrivateDnsZone(store: ResourceStore, p: { resourceGroup: string; name: string }): ArmResource {
  if (!store.getResourceGroup(p.resourceGroup)) store.addResourceGroup(p.resourceGroup);
  return store.put(privateDnsZone(`${store.resourceGroupId(p.resourceGroup)}/providers/${PRIVATE_DNS_ZONE_TYPE}/${p.name}`, p.name));
}

/**
 * A link of a zone to a virtual network, as stored once its operation completed. A virtual network can be
 * linked to one zone of a name only: a second zone of the same name (or the same zone twice) is refused
 * with 400 BadRequest "A virtual network cannot be linked to multiple zones with overlapping namespaces"
 * (the answer quoted in MicrosoftDocs/azure-aks-docs#212; "You can create only one link between a private
 * DNS zone and a virtual network", private-dns-virtual-network-links.md).
 */
export function composeVirtualNetworkLink(
  store: ResourceStore,
  p: { zone: ArmResource; id: string; name: string; requested: Record<string, unknown> },
): ArmResource {
  const properties = (p.requested["properties"] ?? {}) as { virtualNetwork?: { id?: unknown }; registrationEnabled?: unknown };
  const vnetId = typeof properties.virtualNetwork?.id === "string" ? properties.virtualNetwork.id : "";
  if (!vnetId) throw new ArmError(400, "BadRequest", "The virtual network link needs properties.virtualNetwork.id.");
  const sameName = store
    .listByType(VIRTUAL_NETWORK_LINK_TYPE)
    .filter((link) => link.id.toLowerCase() !== p.id.toLowerCase())
    .filter(
      (link) => String((link.properties?.["virtualNetwork"] as { id?: string } | undefined)?.id).toLowerCase() === vnetId.toLowerCase(),
    )
    .find((link) => link.id.split("/")[8]?.toLowerCase() === p.zone.name.toLowerCase());
  if (sameName) {
    throw new ArmError(
      400,
      "BadRequest",
      `A virtual network cannot be linked to multiple zones with overlapping namespaces. You tried to link virtual network with '${p.zone.name}' and '${p.zone.name}' zones.`,
    );
  }
  return {
    id: p.id,
    name: p.name,
    type: VIRTUAL_NETWORK_LINK_TYPE,
    location: "global",
    tags: {},
    etag: newGuid(),
    properties: {
      virtualNetwork: { id: vnetId },
      registrationEnabled: properties.registrationEnabled === true,
      resolutionPolicy: "Default",
      virtualNetworkLinkState: "Completed",
      provisioningState: "Succeeded",
    },
  };
}

/** The A record a private endpoint's zone group writes: `<name>` → the endpoint's private address. */
export function putARecord(store: ResourceStore, zone: ArmResource, name: string, ipv4Address: string): ArmResource {
  return store.put({
    id: `${zone.id}/A/${name}`,
    name,
    type: A_RECORD_SET_TYPE,
    etag: newGuid(),
    properties: { ttl: 10, fqdn: `${name}.${zone.name}.`, isAutoRegistered: false, aRecords: [{ ipv4Address }] },
  });
}
