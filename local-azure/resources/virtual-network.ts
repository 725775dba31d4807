import { randomBytes } from "node:crypto";
import { newGuid } from "../jwt";
import type { ArmResource } from "./arm-resource";
import type { ResourceStore } from "../store";

/**
 * Virtual networks, their subnets, public IP addresses and prefixes and NAT gateways, in the shapes
 * Microsoft.Network answers them (azure-rest-api-specs, specification/network/resource-manager/
 * Microsoft.Network/Network/stable/2025-05-01/virtualNetwork.json (Subnet, SubnetPropertiesFormat,
 * ServiceEndpointPropertiesFormat, VirtualNetwork), natGateway.json, publicIpPrefix.json, and
 * stable/2024-05-01/publicIpAddress.json). A subnet is kept as a child resource of its virtual
 * network; a virtual network's GET lists its subnets as they are stored.
 */

export const VIRTUAL_NETWORK_TYPE = "Microsoft.Network/virtualNetworks";
export const SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets";
export const PUBLIC_IP_TYPE = "Microsoft.Network/publicIPAddresses";
export const PUBLIC_IP_PREFIX_TYPE = "Microsoft.Network/publicIPPrefixes";
export const NAT_GATEWAY_TYPE = "Microsoft.Network/natGateways";

/** A network resource's etag: `W/"<guid>"`, as Microsoft.Network writes it (the spec examples). */
export function networkEtag(): string {
  return `W/"${newGuid()}"`;
}

export interface SubnetSpec {
  name: string;
  addressPrefix: string;
  /** Services with a service endpoint on the subnet, e.g. `Microsoft.KeyVault`. */
  serviceEndpoints?: string[];
  /** The NAT gateway the subnet sends its outbound traffic through. */
  natGatewayId?: string;
}

export function virtualNetworkId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${VIRTUAL_NETWORK_TYPE}/${name}`;
}

/** The resource group and name of a resource ID `/subscriptions/…/resourceGroups/{group}/providers/{ns}/{type}/{name}`. */
function partsOf(id: string): { resourceGroup: string; name: string } {
  const segments = id.split("/");
  return { resourceGroup: segments[4] ?? "", name: segments.at(-1) ?? "" };
}

/** The fields every regional network resource has, its resource group made when missing. */
function regionalResource(store: ResourceStore, id: string, type: string, location: string | undefined): ArmResource {
  const { resourceGroup, name } = partsOf(id);
  if (!store.getResourceGroup(resourceGroup)) store.addResourceGroup(resourceGroup, location);
  return {
    id,
    name,
    type,
    location: location ?? store.getResourceGroup(resourceGroup)?.location ?? "westeurope",
    tags: {},
    etag: networkEtag(),
  };
}

/** A virtual network with its subnets (the shape of the spec examples VirtualNetworkGet and SubnetGet). */
export function addVirtualNetwork(
  store: ResourceStore,
  p: { resourceGroup: string; name: string; location?: string; addressPrefixes: string[]; subnets: SubnetSpec[] },
): { vnet: ArmResource; subnets: ArmResource[] } {
  const location = p.location ?? store.getResourceGroup(p.resourceGroup)?.location ?? "westeurope";
  if (!store.getResourceGroup(p.resourceGroup)) store.addResourceGroup(p.resourceGroup, location);
  const id = virtualNetworkId(store.subscriptionId, p.resourceGroup, p.name);
  const vnet = store.put({
    id,
    name: p.name,
    type: VIRTUAL_NETWORK_TYPE,
    location,
    tags: {},
    etag: networkEtag(),
    properties: {
      provisioningState: "Succeeded",
      resourceGuid: newGuid(),
      addressSpace: { addressPrefixes: p.addressPrefixes },
      enableDdosProtection: false,
      privateEndpointVNetPolicies: "Disabled",
    },
  });
  const subnets = p.subnets.map((subnet) =>
    store.put({
      id: `${id}/subnets/${subnet.name}`,
      name: subnet.name,
      type: SUBNET_TYPE,
      etag: networkEtag(),
      properties: {
        provisioningState: "Succeeded",
        addressPrefix: subnet.addressPrefix,
        ...(subnet.natGatewayId ? { natGateway: { id: subnet.natGatewayId } } : {}),
        ...(subnet.serviceEndpoints?.length
          ? {
              serviceEndpoints: subnet.serviceEndpoints.map((service) => ({
                service,
                locations: [location],
                provisioningState: "Succeeded",
              })),
            }
          : {}),
        privateEndpointNetworkPolicies: "Disabled",
        privateLinkServiceNetworkPolicies: "Enabled",
      },
    }),
  );
  return { vnet, subnets };
}

/** The virtual network as GET answers it: with its subnets. */
export function virtualNetworkWithSubnets(store: ResourceStore, vnet: ArmResource): ArmResource {
  return { ...vnet, properties: { ...vnet.properties, subnets: store.list(vnet.id, SUBNET_TYPE) } };
}

/** A Standard, static public IPv4 address (the spec example PublicIpAddressGet's shape). */
export function addPublicIpAddress(store: ResourceStore, p: { id: string; ipAddress: string; location?: string }): ArmResource {
  return store.put({
    ...regionalResource(store, p.id, PUBLIC_IP_TYPE, p.location),
    sku: { name: "Standard", tier: "Regional" },
    properties: {
      provisioningState: "Succeeded",
      resourceGuid: newGuid(),
      ipAddress: p.ipAddress,
      publicIPAddressVersion: "IPv4",
      publicIPAllocationMethod: "Static",
      idleTimeoutInMinutes: 4,
    },
  });
}

/** A public IPv4 prefix; its `ipPrefix` is the allocated range. */
export function addPublicIpPrefix(store: ResourceStore, p: { id: string; ipPrefix: string; location?: string }): ArmResource {
  return store.put({
    ...regionalResource(store, p.id, PUBLIC_IP_PREFIX_TYPE, p.location),
    sku: { name: "Standard", tier: "Regional" },
    properties: {
      provisioningState: "Succeeded",
      resourceGuid: newGuid(),
      prefixLength: Number(p.ipPrefix.split("/")[1]),
      ipPrefix: p.ipPrefix,
      publicIPAddressVersion: "IPv4",
    },
  });
}

/** A NAT gateway with the public IPs and prefixes it sends outbound traffic from (natGateway.json). */
export function addNatGateway(
  store: ResourceStore,
  p: { id: string; publicIpAddressIds?: string[]; publicIpPrefixIds?: string[]; location?: string },
): ArmResource {
  return store.put({
    ...regionalResource(store, p.id, NAT_GATEWAY_TYPE, p.location),
    sku: { name: "Standard" },
    properties: {
      provisioningState: "Succeeded",
      resourceGuid: newGuid(),
      idleTimeoutInMinutes: 4,
      publicIpAddresses: (p.publicIpAddressIds ?? []).map((id) => ({ id })),
      publicIpPrefixes: (p.publicIpPrefixIds ?? []).map((id) => ({ id })),
    },
  });
}

/**
 * The public IPs a cluster's outbound traffic leaves from, as AKS creates them in the node resource
 * group: `networkProfile.loadBalancerProfile.effectiveOutboundIPs` (outbound type loadBalancer) and
 * `networkProfile.natGatewayProfile.effectiveOutboundIPs` (managedNATGateway) name them (2026-04-01
 * managedClusters.json; AKS docs egress-outboundtype.md: "A public IP address is provisioned for
 * cluster egress"). Each one named that is not in the store yet is added with an address of its own.
 */
export function addClusterOutboundIps(store: ResourceStore, cluster: ArmResource): void {
  const network = cluster.properties?.["networkProfile"] as
    | {
        loadBalancerProfile?: { effectiveOutboundIPs?: { id?: string }[] };
        natGatewayProfile?: { effectiveOutboundIPs?: { id?: string }[] };
      }
    | undefined;
  const ids = [...(network?.loadBalancerProfile?.effectiveOutboundIPs ?? []), ...(network?.natGatewayProfile?.effectiveOutboundIPs ?? [])]
    .map((ip) => ip.id)
    .filter((id): id is string => typeof id === "string" && new RegExp(`/providers/${PUBLIC_IP_TYPE}/`, "i").test(id));
  for (const id of ids) {
    if (store.get(id)) continue;
    const [a = 0, b = 0, c = 0] = randomBytes(3);
    // 20.0.0.0/8: addresses Azure hands out for public IPs; never a private (RFC 1918) range a vault would refuse.
    addPublicIpAddress(store, {
      id,
      ipAddress: `20.${a}.${b}.${Math.max(1, c % 255)}`,
      ...(cluster.location ? { location: cluster.location } : {}),
    });
  }
}
