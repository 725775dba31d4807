import { randomBytes } from "node:crypto";
import type { ArmResource } from "../store";

export const KEY_VAULT_TYPE = "Microsoft.KeyVault/vaults";
export const VAULT_SECRET_TYPE = "Microsoft.KeyVault/vaults/secrets";
/** Secret names on the data plane (and in ARM): letters, digits and dashes, 1-127. */
export const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** The data plane refuses values over 25 KB. */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;

export interface AccessPolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: { keys?: string[]; secrets?: string[]; certificates?: string[]; storage?: string[] };
}

export interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  /** Unix seconds, as the data plane answers them. */
  created: number;
  updated: number;
}

/** One secret of a vault with all its versions; kept in the store as a child resource of the vault. */
export interface VaultSecretRecord extends ArmResource {
  properties: {
    versions: SecretVersion[];
    /** Set while the secret is soft-deleted. */
    deleted?: { deletedDate: number; scheduledPurgeDate: number };
  };
}

export function keyVaultId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${KEY_VAULT_TYPE}/${name}`;
}

/** A vault as GET returns it, after the spec example getVault (Vaults_Get, 2026-02-01). */
export function defaultKeyVault(p: {
  subscriptionId: string;
  tenantId: string;
  resourceGroup: string;
  name: string;
  location: string;
  enableRbacAuthorization: boolean;
  enableSoftDelete: boolean;
  accessPolicies: AccessPolicyEntry[];
}): ArmResource {
  const now = new Date().toISOString();
  return {
    id: keyVaultId(p.subscriptionId, p.resourceGroup, p.name),
    name: p.name,
    type: KEY_VAULT_TYPE,
    location: p.location,
    tags: {},
    systemData: {
      createdAt: now,
      createdBy: "keyVaultUser1",
      createdByType: "User",
      lastModifiedAt: now,
      lastModifiedBy: "keyVaultUser1",
      lastModifiedByType: "User",
    },
    properties: {
      sku: { family: "A", name: "standard" },
      tenantId: p.tenantId,
      accessPolicies: p.accessPolicies,
      enabledForDeployment: false,
      enabledForDiskEncryption: false,
      enabledForTemplateDeployment: false,
      enableSoftDelete: p.enableSoftDelete,
      softDeleteRetentionInDays: 90,
      enableRbacAuthorization: p.enableRbacAuthorization,
      vaultUri: `https://${p.name.toLowerCase()}.vault.azure.net/`,
      provisioningState: "Succeeded",
      publicNetworkAccess: "Enabled",
    },
  };
}

/** Secret versions are 32 hex digits. */
export function newSecretVersion(): string {
  return randomBytes(16).toString("hex");
}

/**
 * An entry of a vault's `properties.privateEndpointConnections` as GET returns it: the shape of the
 * spec examples updateVault (the vault's own list) and getPrivateEndpointConnection (2023-07-01; the
 * model PrivateEndpointConnectionItem is unchanged in 2026-02-01): id, etag, properties.privateEndpoint.id,
 * properties.privateLinkServiceConnectionState{status, description, actionsRequired}, provisioningState.
 * `networkAcls` ({bypass, defaultAction, ipRules[{value}], virtualNetworkRules}) is in updateVault too.
 */
export function privateEndpointConnectionItem(
  vaultId: string,
  p: { name: string; privateEndpointId: string; status: "Approved" | "Pending" | "Rejected" | "Disconnected" },
): Record<string, unknown> {
  return {
    id: `${vaultId}/privateEndpointConnections/${p.name}`,
    etag: "",
    properties: {
      privateEndpoint: { id: p.privateEndpointId },
      privateLinkServiceConnectionState: {
        status: p.status,
        description: p.status === "Approved" ? "Auto-approved" : "",
        actionsRequired: "None",
      },
      provisioningState: "Succeeded",
    },
  };
}
