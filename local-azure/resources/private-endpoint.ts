import { parseCidr } from "cidr-tools";
import { ArmError } from "../http";
import { newGuid } from "../jwt";
import type { ArmResource } from "./arm-resource";
import type { ResourceStore } from "../store";
import { KEY_VAULT_TYPE, privateEndpointConnectionItem } from "./key-vault";
import { isPlainObject } from "./merge";
import { PRIVATE_DNS_ZONE_TYPE, putARecord } from "./private-dns";
import { holdsAction, permissionsAt } from "./role-definitions";
import { networkEtag, SUBNET_TYPE, VIRTUAL_NETWORK_TYPE } from "./virtual-network";

/**
 * Private endpoints to key vaults and their DNS zone groups (Microsoft.Network 2025-05-01,
 * azure-rest-api-specs specification/network/resource-manager/Microsoft.Network/Network/stable/2025-05-01/
 * privateEndpoint.json: PrivateEndpoint, PrivateLinkServiceConnection, PrivateDnsZoneGroup).
 *
 * Approval ("What is Azure Private Endpoint?", private-endpoint-overview.md, "Access to a private link
 * resource using approval workflow"): a connection in `privateLinkServiceConnections` is approved at once
 * when the caller may approve connections on the resource, the action
 * `Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action` (resource-provider-operations.md;
 * the doc's own spelling lacks the "s", MicrosoftDocs/azure-docs#77212); a caller without it is refused
 * with 403 LinkedAuthorizationFailed (message as quoted in MicrosoftDocs/azure-docs#96892). A connection
 * in `manualPrivateLinkServiceConnections` is a request: Pending until the vault's owner approves it. The
 * vault lists the connection in `properties.privateEndpointConnections`. Key Vault's group ID is `vault`.
 *
 * The endpoint joins its subnet: the caller needs `Microsoft.Network/virtualNetworks/subnets/join/action`
 * there ("Azure RBAC permissions for Azure Private Link", private-link/rbac-permissions.md), refused with
 * the same 403 LinkedAuthorizationFailed naming the subnet as the linked scope (openshift/release#76853
 * quotes Azure's answer for a Private Link Service's subnet).
 */

export const PRIVATE_ENDPOINT_TYPE = "Microsoft.Network/privateEndpoints";
export const DNS_ZONE_GROUP_TYPE = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups";
export const KEY_VAULT_GROUP_ID = "vault";
const APPROVAL_ACTION = "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action";
const SUBNET_JOIN_ACTION = "Microsoft.Network/virtualNetworks/subnets/join/action";

interface ConnectionRequest {
  name?: string;
  properties?: { privateLinkServiceId?: string; groupIds?: string[]; requestMessage?: string };
}

/**
 * The endpoint a PUT stores, and what it does to the vault it connects to. Its subnet must exist in the
 * endpoint's region ("Resource … referenced by resource … was not found. Please make sure that the
 * referenced resource exists, and that both resources are in the same region.": Network's
 * InvalidResourceReference, as quoted for a private endpoint in Azure/azure-cli#13614 and
 * microsoft-foundry/foundry-samples#657);
 * an existing endpoint keeps its address and connection.
 */
export function composePrivateEndpoint(
  store: ResourceStore,
  p: { id: string; name: string; requested: Record<string, unknown>; current: ArmResource | undefined; callerId: string },
): { endpoint: ArmResource; vaultId: string; status: "Approved" | "Pending" } {
  const location = p.requested["location"];
  if (typeof location !== "string" || !location)
    throw new ArmError(400, "LocationRequired", "The location property is required for this definition.");
  const properties = isPlainObject(p.requested["properties"]) ? p.requested["properties"] : {};
  const subnetId = String((properties["subnet"] as { id?: unknown } | undefined)?.id ?? "");
  const subnet = subnetId ? store.get(subnetId) : undefined;
  const vnet = subnet ? store.get(subnetId.replace(/\/subnets\/[^/]+$/i, "")) : undefined;
  if (!subnet || subnet.type !== SUBNET_TYPE || vnet?.type !== VIRTUAL_NETWORK_TYPE || !sameRegion(vnet.location, location)) {
    throw new ArmError(
      400,
      "InvalidResourceReference",
      `Resource ${subnetId} referenced by resource ${p.id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
    );
  }
  const automatic = (properties["privateLinkServiceConnections"] ?? []) as ConnectionRequest[];
  const manual = (properties["manualPrivateLinkServiceConnections"] ?? []) as ConnectionRequest[];
  const request = automatic[0] ?? manual[0];
  const vaultId = request?.properties?.privateLinkServiceId ?? "";
  const vault = store.get(vaultId);
  if (automatic.length + manual.length !== 1 || !vault || vault.type !== KEY_VAULT_TYPE) {
    throw new ArmError(400, "InvalidResourceReference", `Resource ${vaultId} referenced by resource ${p.id} was not found.`);
  }
  if (!(request?.properties?.groupIds ?? []).some((g) => g.toLowerCase() === KEY_VAULT_GROUP_ID)) {
    throw new ArmError(400, "InvalidGroupId", `The group ID must be '${KEY_VAULT_GROUP_ID}' for a private endpoint to a key vault.`);
  }
  let status: "Approved" | "Pending" = manual.length ? "Pending" : "Approved";
  if (!holdsAction(permissionsAt(store, p.callerId, subnetId), SUBNET_JOIN_ACTION)) {
    throw new ArmError(
      403,
      "LinkedAuthorizationFailed",
      `The client '${p.callerId}' with object id '${p.callerId}' has permission to perform action 'Microsoft.Network/privateEndpoints/write' on scope '${p.id}'; however, it does not have permission to perform action '${SUBNET_JOIN_ACTION}' on the linked scope(s) '${subnetId}' or the linked scope(s) are invalid.`,
    );
  }
  if (automatic.length && !holdsAction(permissionsAt(store, p.callerId, vault.id), APPROVAL_ACTION)) {
    throw new ArmError(
      403,
      "LinkedAuthorizationFailed",
      `The client '${p.callerId}' with object id '${p.callerId}' has permission to perform action 'Microsoft.Network/privateEndpoints/write' on scope '${p.id}'; however, it does not have permission to perform action '${APPROVAL_ACTION}' on the linked scope(s) '${vault.id}' or the linked scope(s) are invalid.`,
    );
  }
  const currentConnection = connectionOf(p.current);
  if (currentConnection) status = currentConnection.status;
  const connectionName = request?.name ?? p.name;
  const connectionState = {
    status,
    description: status === "Approved" ? "Auto-Approved" : (request?.properties?.requestMessage ?? ""),
    actionsRequired: "None",
  };
  const ip = currentConnection?.ip ?? nextAddress(store, subnet);
  const connection = {
    id: `${p.id}/${manual.length ? "manualPrivateLinkServiceConnections" : "privateLinkServiceConnections"}/${connectionName}`,
    name: connectionName,
    type: `${PRIVATE_ENDPOINT_TYPE}/${manual.length ? "manualPrivateLinkServiceConnections" : "privateLinkServiceConnections"}`,
    etag: networkEtag(),
    properties: {
      provisioningState: "Succeeded",
      privateLinkServiceId: vault.id,
      groupIds: [KEY_VAULT_GROUP_ID],
      privateLinkServiceConnectionState: connectionState,
      ...(request?.properties?.requestMessage ? { requestMessage: request.properties.requestMessage } : {}),
    },
  };
  const nicName = `${p.name}.nic.${newGuid()}`;
  const endpoint: ArmResource = {
    id: p.id,
    name: p.name,
    type: PRIVATE_ENDPOINT_TYPE,
    location: p.current?.location ?? location,
    tags: isPlainObject(p.requested["tags"]) ? structuredClone(p.requested["tags"]) : {},
    etag: networkEtag(),
    properties: {
      provisioningState: "Updating",
      subnet: { id: subnet.id },
      privateLinkServiceConnections: manual.length ? [] : [connection],
      manualPrivateLinkServiceConnections: manual.length ? [connection] : [],
      networkInterfaces: (p.current?.properties?.["networkInterfaces"] as unknown[] | undefined) ?? [
        { id: `${p.id.replace(/\/privateEndpoints\/[^/]+$/i, "")}/networkInterfaces/${nicName}` },
      ],
      customDnsConfigs: [{ fqdn: `${vault.name}.vault.azure.net`, ipAddresses: [ip] }],
      ipConfigurations: [],
      customNetworkInterfaceName: "",
    },
  };
  return { endpoint, vaultId: vault.id, status };
}

/** Adds the endpoint's connection to the vault's `privateEndpointConnections` (or updates it), as the vault then lists it. */
export function recordVaultConnection(
  store: ResourceStore,
  p: { vaultId: string; endpointId: string; name: string; status: "Approved" | "Pending" },
): void {
  const vault = store.get(p.vaultId);
  if (!vault) return;
  const connections = (
    (vault.properties?.["privateEndpointConnections"] ?? []) as { properties?: { privateEndpoint?: { id?: string } } }[]
  ).filter((c) => c.properties?.privateEndpoint?.id?.toLowerCase() !== p.endpointId.toLowerCase());
  connections.push(
    privateEndpointConnectionItem(vault.id, { name: `${p.name}.${newGuid()}`, privateEndpointId: p.endpointId, status: p.status }) as never,
  );
  store.put({ ...vault, properties: { ...vault.properties, privateEndpointConnections: connections } });
}

/**
 * A DNS zone group: for each zone it names, the endpoint's vault gets an A record in that zone (its FQDN
 * `<vault>.privatelink.vaultcore.azure.net`), and the group lists it under `recordSets`. The zone must
 * exist and the caller may join it (`Microsoft.Network/privateDnsZones/join/action`, LinkedAuthorizationFailed
 * otherwise, as for any linked resource).
 */
export function composeDnsZoneGroup(
  store: ResourceStore,
  p: { endpoint: ArmResource; id: string; name: string; requested: Record<string, unknown>; callerId: string },
): { group: ArmResource; records: () => void } {
  const properties = isPlainObject(p.requested["properties"]) ? p.requested["properties"] : {};
  const configs = (properties["privateDnsZoneConfigs"] ?? []) as { name?: string; properties?: { privateDnsZoneId?: string } }[];
  const fqdn = (p.endpoint.properties?.["customDnsConfigs"] as { fqdn: string; ipAddresses: string[] }[] | undefined)?.[0];
  const vaultName = fqdn?.fqdn.split(".")[0] ?? p.endpoint.name;
  const ip = fqdn?.ipAddresses[0] ?? "";
  const zones = configs.map((config) => {
    const zoneId = config.properties?.privateDnsZoneId ?? "";
    const zone = store.get(zoneId);
    if (!zone || zone.type !== PRIVATE_DNS_ZONE_TYPE) {
      throw new ArmError(400, "InvalidResourceReference", `Resource ${zoneId} referenced by resource ${p.id} was not found.`);
    }
    if (!holdsAction(permissionsAt(store, p.callerId, zone.id), "Microsoft.Network/privateDnsZones/join/action")) {
      throw new ArmError(
        403,
        "LinkedAuthorizationFailed",
        `The client '${p.callerId}' with object id '${p.callerId}' has permission to perform action 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write' on scope '${p.id}'; however, it does not have permission to perform action 'Microsoft.Network/privateDnsZones/join/action' on the linked scope(s) '${zone.id}' or the linked scope(s) are invalid.`,
      );
    }
    return { config, zone };
  });
  const group: ArmResource = {
    id: p.id,
    name: p.name,
    type: DNS_ZONE_GROUP_TYPE,
    etag: networkEtag(),
    properties: {
      provisioningState: "Updating",
      privateDnsZoneConfigs: zones.map(({ config, zone }) => ({
        name: config.name ?? zone.name.replace(/\./g, "-"),
        properties: {
          privateDnsZoneId: zone.id,
          recordSets: [
            {
              recordType: "A",
              recordSetName: vaultName,
              fqdn: `${vaultName}.${zone.name}`,
              ttl: 10,
              ipAddresses: [ip],
              provisioningState: "Succeeded",
            },
          ],
        },
      })),
    },
  };
  return { group, records: () => zones.forEach(({ zone }) => putARecord(store, zone, vaultName, ip)) };
}

function connectionOf(endpoint: ArmResource | undefined): { status: "Approved" | "Pending"; ip: string } | undefined {
  if (!endpoint) return undefined;
  const all = [
    ...((endpoint.properties?.["privateLinkServiceConnections"] ?? []) as ConnectionState[]),
    ...((endpoint.properties?.["manualPrivateLinkServiceConnections"] ?? []) as ConnectionState[]),
  ];
  const status = all[0]?.properties?.privateLinkServiceConnectionState?.status;
  const ip = (endpoint.properties?.["customDnsConfigs"] as { ipAddresses?: string[] }[] | undefined)?.[0]?.ipAddresses?.[0];
  return status && ip ? { status: status === "Approved" ? "Approved" : "Pending", ip } : undefined;
}

type ConnectionState = { properties?: { privateLinkServiceConnectionState?: { status?: string } } };

/** The subnet's next free address: Azure keeps the first four of every subnet (virtual-networks-faq.md). */
function nextAddress(store: ResourceStore, subnet: ArmResource): string {
  const prefix = String(subnet.properties?.["addressPrefix"] ?? "10.0.0.0/24");
  const used = store
    .listByType(PRIVATE_ENDPOINT_TYPE)
    .filter((e) => String((e.properties?.["subnet"] as { id?: string } | undefined)?.id).toLowerCase() === subnet.id.toLowerCase()).length;
  const value = parseCidr(prefix).start + 4n + BigInt(used);
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 255n).toString()).join(".");
}

function sameRegion(a: string | undefined, b: string): boolean {
  return (a ?? "").toLowerCase().replace(/\s+/g, "") === b.toLowerCase().replace(/\s+/g, "");
}
