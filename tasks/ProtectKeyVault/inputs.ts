import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import type { ClusterRef } from "../../core/cluster";
import { InputError } from "../../core/errors";
import {
  inputLines,
  readBoolean,
  readChoice,
  readKeyVaultName,
  readListEntries,
  readResourceGroupName,
  readSecondsVariable,
  readString,
  whereTyped,
} from "../../core/inputs";
import { isRangeError, parseIpv4Range, type Ipv4Range } from "../../core/ipv4-ranges";
import { isResourceGroupName, RESOURCE_GROUP_RULE } from "../../core/names";

export const FIREWALL_MODES = ["denyByDefault", "disablePublicAccess", "unchanged"] as const;
export type FirewallMode = (typeof FIREWALL_MODES)[number];
export const PERMISSION_MODELS = ["unchanged", "rbac"] as const;
export type PermissionModel = (typeof PERMISSION_MODELS)[number];

export interface ProtectKeyVaultRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  keyVaultName: string;
  firewall: FirewallMode;
  allowClusters: ClusterRef[];
  allowedIpRanges: Ipv4Range[];
  bypassAzureServices: boolean;
  /** The subnet of the vault's private endpoint, when one is asked for. */
  privateEndpointSubnetId?: string;
  enablePurgeProtection: boolean;
  permissionModel: PermissionModel;
  dryRun: boolean;
  /** How long to wait, in all, for new role assignments to be listed before switching the vault to Azure RBAC. */
  roleAssignmentWaitMs: number;
}

/**
 * "IP network rules are only allowed for public IP addresses. IP address ranges reserved for private
 * networks (as defined in RFC 1918) are not allowed in IP rules" (learn.microsoft.com/azure/key-vault/
 * general/network-security); Key Vault refuses them with 400 "… belongs to forbidden range"
 * (Azure/azure-powershell#11471). Refused here, before any write, with the way to admit such a network.
 */
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((cidr) => parseIpv4Range(cidr) as Ipv4Range);

export function readRequest(): ProtectKeyVaultRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  const keyVaultName = readKeyVaultName();
  const firewall = readChoice("firewall", FIREWALL_MODES, "denyByDefault");
  const allowClusters = readClusters();
  const allowedIpRanges = readRanges();
  if (firewall !== "denyByDefault") {
    for (const [input, given] of [
      ["allowClusters", allowClusters.length],
      ["allowedIpRanges", allowedIpRanges.length],
    ] as const) {
      if (given) {
        throw new InputError(
          input,
          firewall === "unchanged"
            ? "is set, but firewall is 'unchanged', so the task does not touch the vault's network rules; set firewall to denyByDefault to allow these."
            : "is set, but firewall is 'disablePublicAccess': with public network access off the vault takes traffic only through its private endpoints, and no address or network rule admits anyone. Set firewall to denyByDefault, or remove the entries.",
        );
      }
    }
  }
  const privateEndpointSubnetId = readSubnetId();
  const roleAssignmentWaitSeconds = readSecondsVariable("AksHardening.RoleAssignmentWaitSeconds", 300);
  return {
    connection,
    resourceGroupName,
    keyVaultName,
    firewall,
    allowClusters,
    allowedIpRanges,
    bypassAzureServices: readBoolean("bypassAzureServices", true),
    ...(privateEndpointSubnetId ? { privateEndpointSubnetId } : {}),
    enablePurgeProtection: readBoolean("enablePurgeProtection", false),
    permissionModel: readChoice("permissionModel", PERMISSION_MODELS, "unchanged"),
    dryRun: readBoolean("dryRun", false),
    roleAssignmentWaitMs: roleAssignmentWaitSeconds * 1000,
  };
}

/** One cluster a line, `<resourceGroup>/<clusterName>`; comments allowed as in every list input. */
function readClusters(): ClusterRef[] {
  const text = readString("allowClusters") ?? "";
  const clusters = new Map<string, ClusterRef>();
  for (const entry of inputLines(text, { trailingComments: true })) {
    const [group = "", name = "", extra] = entry.text.split("/").map((part) => part.trim());
    const where = whereTyped(text, entry);
    if (extra !== undefined || !group || !name) {
      throw new InputError("allowClusters", `${where}'${entry.text}' is not <resourceGroup>/<clusterName>, e.g. rg-prod/aks-prod.`);
    }
    if (!isResourceGroupName(group)) {
      throw new InputError("allowClusters", `${where}'${group}' is not a valid resource group name (${RESOURCE_GROUP_RULE}).`);
    }
    if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$/.test(name)) {
      throw new InputError(
        "allowClusters",
        `${where}'${name}' is not a valid AKS cluster name (1-63 letters, digits, '_' or '-', starting and ending with a letter or digit).`,
      );
    }
    clusters.set(`${group}/${name}`.toLowerCase(), { resourceGroupName: group, clusterName: name });
  }
  return [...clusters.values()];
}

function readRanges(): Ipv4Range[] {
  const text = readString("allowedIpRanges") ?? "";
  const ranges: Ipv4Range[] = [];
  for (const entry of readListEntries(text)) {
    const where = whereTyped(text, entry);
    const range = parseIpv4Range(entry.text);
    if (isRangeError(range)) throw new InputError("allowedIpRanges", `${where}${range.error}`);
    const privateRange = PRIVATE_RANGES.find((p) => p.start <= range.end && range.start <= p.end);
    if (privateRange) {
      throw new InputError(
        "allowedIpRanges",
        `${where}'${entry.text}' overlaps the private range ${privateRange.cidr}: Key Vault's IP rules take public addresses only. Admit a private network through allowClusters (a virtual network rule for a subnet with the Microsoft.KeyVault service endpoint) or a private endpoint instead.`,
      );
    }
    if (!ranges.some((r) => r.cidr === range.cidr)) ranges.push(range);
  }
  return ranges;
}

const SUBNET_ID =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i;

function readSubnetId(): string | undefined {
  const value = readString("privateEndpointSubnetId");
  if (value === undefined) return undefined;
  if (!SUBNET_ID.test(value)) {
    throw new InputError(
      "privateEndpointSubnetId",
      `'${value}' is not a subnet's resource ID (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<network>/subnets/<subnet>).`,
    );
  }
  return value;
}
