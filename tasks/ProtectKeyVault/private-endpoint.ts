import type { AzureClients } from "../../core/azure";
import { armGetOptional, armJson, armList, armPutAndWait } from "../../core/arm-json";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import type { PlannedWrite } from "../../core/permissions";
import { NETWORK_API_VERSION } from "./cluster-egress";
import type { VaultTarget } from "./plan";

/**
 * A private endpoint for the vault (group `vault`) in the subnet the user names, its name resolved by
 * the `privatelink.vaultcore.*` private DNS zone ("Azure Private Endpoint private DNS zone values",
 * learn.microsoft.com/azure/private-link/private-endpoint-dns: Key Vault `vault` →
 * privatelink.vaultcore.azure.net, .usgovcloudapi.net, .azure.cn), the zone linked to the subnet's
 * virtual network, and the endpoint's DNS zone group (which writes the vault's A record into the zone).
 * An existing zone of that name in the subscription is reused; otherwise one is created in the vault's
 * resource group. Private endpoints and their zone groups: Microsoft.Network 2025-05-01
 * (privateEndpoint.json); zones and links: 2024-06-01 (privatedns.json).
 */
export const PRIVATE_DNS_API_VERSION = "2024-06-01";
export const ZONE_GROUP_NAME = "default";

interface Named {
  id: string;
  name: string;
  properties?: { provisioningState?: string };
}
interface Endpoint extends Named {
  location?: string;
  properties?: {
    provisioningState?: string;
    subnet?: { id?: string };
    privateLinkServiceConnections?: ConnectionState[];
    manualPrivateLinkServiceConnections?: ConnectionState[];
  };
}
type ConnectionState = { properties?: { privateLinkServiceId?: string; privateLinkServiceConnectionState?: { status?: string } } };
interface ZoneGroup extends Named {
  properties?: { provisioningState?: string; privateDnsZoneConfigs?: { properties?: { privateDnsZoneId?: string } }[] };
}
interface Link extends Named {
  properties?: { provisioningState?: string; virtualNetwork?: { id?: string } };
}

/** What exists, read before any write. */
export interface PrivateEndpointState {
  subnetId: string;
  vnet: Named & { location: string };
  endpoint?: Endpoint;
  zoneName: string;
  zone?: Named;
  /** Links of the zone to virtual networks (when the zone exists). */
  links: Link[];
  /** Zone groups of the endpoint (when it exists). */
  zoneGroups: ZoneGroup[];
}

export interface PrivateEndpointPlan {
  readonly empty: boolean;
  endpointName: string;
  endpointId: string;
  createEndpoint: boolean;
  /** The connection's state as read (an existing endpoint) — Approved, Pending, Rejected, Disconnected. */
  connectionStatus?: string;
  zoneId: string;
  createZone: boolean;
  /** The zone was found in the subscription (reused), not made by this task. */
  zoneFound: boolean;
  linkName: string;
  createLink: boolean;
  createZoneGroup: boolean;
  subnetId: string;
  vnetId: string;
  location: string;
}

/** The private DNS zone Key Vault's private endpoints resolve through, for the vault's cloud (from its vaultUri). */
export function privateLinkZoneName(vaultUri: string): string {
  const host = new URL(vaultUri).hostname.toLowerCase();
  const suffix = host.slice(host.indexOf(".") + 1); // vault.azure.net
  return suffix.startsWith("vault.") ? `privatelink.vaultcore.${suffix.slice("vault.".length)}` : "privatelink.vaultcore.azure.net";
}

export async function readPrivateEndpointState(
  clients: AzureClients,
  target: VaultTarget,
  subnetId: string,
  vaultUri: string,
): Promise<PrivateEndpointState> {
  const vnetId = subnetId.replace(/\/subnets\/[^/]+$/i, "");
  const endpointPath = endpointPathOf(clients, target);
  const zoneName = privateLinkZoneName(vaultUri);
  const [, vnet, endpoint, zones] = await Promise.all([
    get(clients, subnetId, NETWORK_API_VERSION, "privateEndpointSubnetId: read the subnet"),
    get<Named & { location: string }>(clients, vnetId, NETWORK_API_VERSION, "read the subnet's virtual network"),
    armGetOptional<Endpoint>(clients, endpointPath, NETWORK_API_VERSION).catch((error: unknown) => {
      throw new TaskError(
        describeFailure(error, {
          action: `read the private endpoint ${endpointPath}`,
          permission: "Microsoft.Network/privateEndpoints/read",
        }),
      );
    }),
    armList<Named>(
      clients,
      `/subscriptions/${clients.connection.subscriptionId}/providers/Microsoft.Network/privateDnsZones`,
      PRIVATE_DNS_API_VERSION,
    ).catch((error: unknown) => {
      throw new TaskError(
        describeFailure(error, {
          action: "list the subscription's private DNS zones",
          permission: "Microsoft.Network/privateDnsZones/read",
        }),
      );
    }),
  ]);
  const named = zones.filter((z) => z.name.toLowerCase() === zoneName);
  // One in the vault's resource group first, then any other of the subscription.
  const zone = named.find((z) => z.id.toLowerCase().includes(`/resourcegroups/${target.resourceGroupName.toLowerCase()}/`)) ?? named[0];
  const [links, zoneGroups] = await Promise.all([
    zone ? armList<Link>(clients, `${zone.id}/virtualNetworkLinks`, PRIVATE_DNS_API_VERSION) : [],
    endpoint ? armList<ZoneGroup>(clients, `${endpoint.id}/privateDnsZoneGroups`, NETWORK_API_VERSION) : [],
  ]);
  return { subnetId, vnet, ...(endpoint ? { endpoint } : {}), zoneName, ...(zone ? { zone } : {}), links, zoneGroups };
}

/**
 * A resource whose last write ended Failed or Canceled exists but is not in place: a Failed endpoint has
 * no connection on the vault, a Failed zone group wrote no record. Written again, like a missing one
 * (a PUT of the same resource is how ARM retries a failed write).
 */
function notInPlace(resource: Named | undefined): boolean {
  const state = resource?.properties?.provisioningState?.toLowerCase();
  return resource === undefined || state === "failed" || state === "canceled";
}

/** Pure: what is missing (or did not come up) of endpoint, zone, link and zone group. */
export function planPrivateEndpoint(target: VaultTarget, state: PrivateEndpointState, subscriptionId: string): PrivateEndpointPlan {
  const endpointName = endpointNameOf(target);
  const endpointId = `/subscriptions/${subscriptionId}/resourceGroups/${target.resourceGroupName}/providers/Microsoft.Network/privateEndpoints/${endpointName}`;
  if (state.endpoint && state.endpoint.properties?.subnet?.id?.toLowerCase() !== state.subnetId.toLowerCase()) {
    throw new TaskError(
      `privateEndpointSubnetId: the private endpoint '${endpointName}' of the vault already exists in another subnet (${state.endpoint.properties?.subnet?.id ?? "unknown"}); a private endpoint cannot move. Nothing was changed. Give that subnet, or delete the endpoint first.`,
    );
  }
  const connection = [
    ...(state.endpoint?.properties?.privateLinkServiceConnections ?? []),
    ...(state.endpoint?.properties?.manualPrivateLinkServiceConnections ?? []),
  ][0];
  const zoneId =
    state.zone?.id ??
    `/subscriptions/${subscriptionId}/resourceGroups/${target.resourceGroupName}/providers/Microsoft.Network/privateDnsZones/${state.zoneName}`;
  const linked = state.links.some((l) => !notInPlace(l) && l.properties?.virtualNetwork?.id?.toLowerCase() === state.vnet.id.toLowerCase());
  const grouped = state.zoneGroups.some(
    (g) =>
      !notInPlace(g) &&
      (g.properties?.privateDnsZoneConfigs ?? []).some((c) => c.properties?.privateDnsZoneId?.toLowerCase() === zoneId.toLowerCase()),
  );
  const createEndpoint = notInPlace(state.endpoint);
  const plan = {
    endpointName,
    endpointId: state.endpoint?.id ?? endpointId,
    createEndpoint,
    // A connection of an endpoint that did not come up says nothing: the write's answer gives the status.
    ...(!createEndpoint && connection?.properties?.privateLinkServiceConnectionState?.status
      ? { connectionStatus: connection.properties.privateLinkServiceConnectionState.status }
      : {}),
    zoneId,
    createZone: !state.zone,
    zoneFound: !!state.zone,
    linkName: `link-${state.vnet.name}`.slice(0, 80),
    createLink: !linked,
    createZoneGroup: !grouped,
    subnetId: state.subnetId,
    vnetId: state.vnet.id,
    location: state.vnet.location,
  };
  return { ...plan, empty: !plan.createEndpoint && !plan.createZone && !plan.createLink && !plan.createZoneGroup };
}

/** The writes of the plan, for the permission check before the first one. */
export function privateEndpointWrites(target: VaultTarget, plan: PrivateEndpointPlan): PlannedWrite[] {
  const group = target.id.replace(/\/providers\/.*$/i, "");
  const zoneGroup = plan.zoneId.replace(/\/providers\/.*$/i, "");
  const vnetGroup = plan.vnetId.replace(/\/providers\/.*$/i, "");
  return [
    ...(plan.createEndpoint
      ? [
          {
            action: "Microsoft.Network/privateEndpoints/write",
            scope: group,
            purpose: `create the private endpoint '${plan.endpointName}'`,
          },
          // Linked authorization: the endpoint joins the subnet, which is often another team's resource
          // group (learn.microsoft.com/azure/private-link/rbac-permissions; Azure refuses the PUT with 403
          // LinkedAuthorizationFailed otherwise). A role given on the subnet alone shows in its own list.
          {
            action: "Microsoft.Network/virtualNetworks/subnets/join/action",
            scope: plan.subnetId,
            inheritsFrom: vnetGroup,
            purpose: "place the private endpoint in the subnet",
          },
          // Auto-approval of the connection (private-endpoint-overview.md, approval workflow).
          {
            action: "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action",
            scope: target.id,
            purpose: "approve the private endpoint's connection to the vault",
          },
        ]
      : []),
    ...(plan.createZone
      ? [{ action: "Microsoft.Network/privateDnsZones/write", scope: zoneGroup, purpose: "create the privatelink.vaultcore zone" }]
      : []),
    ...(plan.createLink
      ? [
          {
            action: "Microsoft.Network/privateDnsZones/virtualNetworkLinks/write",
            scope: zoneGroup,
            purpose: "link the zone to the subnet's virtual network",
          },
        ]
      : []),
    ...(plan.createZoneGroup
      ? [
          {
            action: "Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write",
            scope: group,
            purpose: "give the endpoint its DNS zone group",
          },
          // Linked authorization on the zone, often a hub team's (Azure/Azure-Landing-Zones#2942, #3625).
          {
            action: "Microsoft.Network/privateDnsZones/join/action",
            scope: plan.zoneId,
            inheritsFrom: zoneGroup,
            purpose: "write the vault's record into the privatelink.vaultcore zone",
          },
        ]
      : []),
  ];
}

/** Zone and endpoint first (independent), then the link and the zone group. Returns the endpoint's connection status. */
export async function applyPrivateEndpoint(
  clients: AzureClients,
  target: VaultTarget,
  plan: PrivateEndpointPlan,
  subnetId: string,
): Promise<string | undefined> {
  const [, endpoint] = await Promise.all([
    plan.createZone ? put(clients, plan.zoneId, PRIVATE_DNS_API_VERSION, { location: "global" }, "create the private DNS zone") : undefined,
    plan.createEndpoint
      ? put<Endpoint>(
          clients,
          plan.endpointId,
          NETWORK_API_VERSION,
          {
            location: plan.location,
            properties: {
              subnet: { id: subnetId },
              privateLinkServiceConnections: [
                { name: plan.endpointName, properties: { privateLinkServiceId: target.id, groupIds: ["vault"] } },
              ],
            },
          },
          "create the private endpoint",
        )
      : undefined,
  ]);
  await Promise.all([
    plan.createLink
      ? put(
          clients,
          `${plan.zoneId}/virtualNetworkLinks/${plan.linkName}`,
          PRIVATE_DNS_API_VERSION,
          { location: "global", properties: { virtualNetwork: { id: plan.vnetId }, registrationEnabled: false } },
          "link the private DNS zone to the subnet's virtual network",
        )
      : undefined,
    plan.createZoneGroup
      ? put(
          clients,
          `${plan.endpointId}/privateDnsZoneGroups/${ZONE_GROUP_NAME}`,
          NETWORK_API_VERSION,
          {
            properties: {
              privateDnsZoneConfigs: [
                { name: plan.zoneId.split("/").pop()!.replace(/\./g, "-"), properties: { privateDnsZoneId: plan.zoneId } },
              ],
            },
          },
          "give the private endpoint its DNS zone group",
        )
      : undefined,
  ]);
  const connection = [
    ...(endpoint?.properties?.privateLinkServiceConnections ?? []),
    ...(endpoint?.properties?.manualPrivateLinkServiceConnections ?? []),
  ][0];
  return connection?.properties?.privateLinkServiceConnectionState?.status ?? plan.connectionStatus;
}

function endpointNameOf(target: VaultTarget): string {
  return `pe-${target.name}`;
}

function endpointPathOf(clients: AzureClients, target: VaultTarget): string {
  return `/subscriptions/${clients.connection.subscriptionId}/resourceGroups/${target.resourceGroupName}/providers/Microsoft.Network/privateEndpoints/${endpointNameOf(target)}`;
}

async function get<T>(clients: AzureClients, id: string, apiVersion: string, action: string): Promise<T> {
  try {
    return (await armJson<T>(clients, { method: "GET", path: id, apiVersion })).body;
  } catch (error) {
    throw new TaskError(describeFailure(error, { action: `${action} ${id}` }));
  }
}

async function put<T>(clients: AzureClients, path: string, apiVersion: string, body: unknown, action: string): Promise<T> {
  try {
    return await armPutAndWait<T>(clients, { path, apiVersion, body });
  } catch (error) {
    const { code, message } = azureErrorDetails(error);
    if (/overlapping namespaces/i.test(message)) {
      // A virtual network resolves one zone of a name: a hub's zone (often in another subscription) already serves it.
      throw new TaskError(
        `privateEndpointSubnetId: the subnet's virtual network is already linked to another privatelink.vaultcore zone (a central DNS zone, perhaps in another subscription), and a virtual network can be linked to one zone of a name only. The endpoint exists; add the vault's A record to that zone (or a DNS zone group naming it), or remove the other link. Azure said: ${message}`,
      );
    }
    throw new TaskError(describeFailure(error, { action: `${action} (${path})` }), { cause: Object.assign(error as object, { code }) });
  }
}
