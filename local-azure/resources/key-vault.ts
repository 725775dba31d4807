import { randomBytes } from "node:crypto";
import { ArmError } from "../http";
import type { ArmResource } from "./arm-resource";
import { isPlainObject } from "./merge";
import { normalizeNetworkAcls, type VaultNetworkAcls } from "./vault-network";

export const KEY_VAULT_TYPE = "Microsoft.KeyVault/vaults";
export const VAULT_SECRET_TYPE = "Microsoft.KeyVault/vaults/secrets";
/** Secret names on the data plane (and in ARM): letters, digits and dashes, 1-127. */
export const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** The data plane refuses values over 25 KB. */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;

export type { VaultNetworkAcls } from "./vault-network";

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
    /** Set right after a recovery: writes are refused (409 ObjectIsBeingRecovered) this many more times. */
    recovering?: { writesRefused: number };
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
  networkAcls?: VaultNetworkAcls;
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
      ...(p.networkAcls ? { networkAcls: normalizeNetworkAcls(p.networkAcls) } : {}),
    },
  };
}

/** Secret versions are 32 hex digits. */
export function newSecretVersion(): string {
  return randomBytes(16).toString("hex");
}

const VAULT_PERMISSION_KINDS = ["keys", "secrets", "certificates", "storage"] as const;

/**
 * Every access policy needs tenantId, objectId and a permissions object (spec: AccessPolicyEntry's required
 * fields); Key Vault answers 400 "An invalid value was provided for 'accessPolicies'." otherwise
 * (Azure/azure-libraries-for-net#361).
 */
export function requireAccessPolicies(value: unknown): AccessPolicyEntry[] {
  const valid =
    Array.isArray(value) &&
    value.every(
      (p: unknown) =>
        isPlainObject(p) &&
        typeof p["tenantId"] === "string" &&
        typeof p["objectId"] === "string" &&
        isPlainObject(p["permissions"]) &&
        VAULT_PERMISSION_KINDS.every((kind) => {
          const list = (p["permissions"] as Record<string, unknown>)[kind];
          return list === undefined || (Array.isArray(list) && list.every((x) => typeof x === "string"));
        }),
    );
  if (!valid) throw new ArmError(400, "BadRequest", "An invalid value was provided for 'accessPolicies'.");
  return structuredClone(value) as AccessPolicyEntry[];
}

/**
 * The vault a PUT (Vaults_CreateOrUpdate) stores, after the spec example createVault (2026-02-01) and the
 * VaultProperties descriptions: `location`, `properties.tenantId` and `properties.sku` are required;
 * `accessPolicies` too unless `createMode` is `recover` (400 "The parameter accessPolicies is not specified.",
 * Azure/azure-sdk-for-net#28677); the request's writable properties replace the
 * current ones; `vaultUri`, `provisioningState` and `hsmPoolResourceId` are the service's. Soft delete
 * ("once set to true, it cannot be reverted to false") and purge protection ("once enabled, this cannot be
 * disabled") only go one way; soft delete defaults to on with 90 days' retention.
 */
export function composeVaultForPut(p: {
  id: string;
  name: string;
  current: ArmResource | undefined;
  requested: Record<string, unknown>;
  callerId: string;
}): ArmResource {
  const { current, requested } = p;
  const location = requested["location"];
  if (typeof location !== "string" || location.length === 0)
    throw new ArmError(400, "LocationRequired", "The location property is required for this definition.");
  if (current && current.location?.toLowerCase().replace(/\s+/g, "") !== location.toLowerCase().replace(/\s+/g, ""))
    throw new ArmError(
      400,
      "BadRequest",
      `The vault '${p.name}' already exists in location '${current.location}'; a vault cannot move to '${location}'.`,
    );
  const requestedProperties = isPlainObject(requested["properties"]) ? structuredClone(requested["properties"]) : undefined;
  if (!requestedProperties) throw new ArmError(400, "BadRequest", "The parameter properties is not specified.");
  const sku = requestedProperties["sku"];
  if (!isPlainObject(sku) || !["standard", "premium"].includes(String(sku["name"]).toLowerCase()) || sku["family"] !== "A")
    throw new ArmError(400, "BadRequest", "The parameter properties.sku must be {family: 'A', name: 'standard' | 'premium'}.");
  if (typeof requestedProperties["tenantId"] !== "string" || requestedProperties["tenantId"] === "")
    throw new ArmError(400, "BadRequest", "The parameter properties.tenantId is not specified.");
  const recovering = String(requestedProperties["createMode"] ?? "").toLowerCase() === "recover";
  if (requestedProperties["accessPolicies"] === undefined && !recovering)
    throw new ArmError(400, "BadRequest", "The parameter accessPolicies is not specified.");
  const currentProperties = current?.properties ?? {};
  const accessPolicies =
    requestedProperties["accessPolicies"] === undefined
      ? ((currentProperties["accessPolicies"] as AccessPolicyEntry[] | undefined) ?? [])
      : requireAccessPolicies(requestedProperties["accessPolicies"]);

  refuseOneWayReversals(currentProperties, requestedProperties);
  if (requestedProperties["networkAcls"] !== undefined)
    requestedProperties["networkAcls"] = normalizeNetworkAcls(requestedProperties["networkAcls"]);

  delete requestedProperties["createMode"];
  delete requestedProperties["provisioningState"];
  delete requestedProperties["hsmPoolResourceId"];
  const now = new Date().toISOString();
  const currentSystemData = isPlainObject(current?.["systemData"]) ? current["systemData"] : undefined;
  return {
    id: p.id,
    name: current?.name ?? p.name,
    type: KEY_VAULT_TYPE,
    location: current?.location ?? location,
    tags: isPlainObject(requested["tags"]) ? structuredClone(requested["tags"]) : {},
    systemData: {
      createdAt: currentSystemData?.["createdAt"] ?? now,
      createdBy: currentSystemData?.["createdBy"] ?? p.callerId,
      createdByType: currentSystemData?.["createdByType"] ?? "Application",
      lastModifiedAt: now,
      lastModifiedBy: p.callerId,
      lastModifiedByType: "Application",
    },
    properties: {
      enabledForDeployment: false,
      enabledForDiskEncryption: false,
      enabledForTemplateDeployment: false,
      enableSoftDelete: true,
      softDeleteRetentionInDays: 90,
      enableRbacAuthorization: false,
      publicNetworkAccess: "Enabled",
      ...requestedProperties,
      ...(currentProperties["enableSoftDelete"] === true ? { enableSoftDelete: true } : {}),
      ...(currentProperties["enablePurgeProtection"] === true ? { enablePurgeProtection: true } : {}),
      accessPolicies,
      vaultUri: currentProperties["vaultUri"] ?? `https://${p.name.toLowerCase()}.vault.azure.net/`,
      provisioningState: "Succeeded",
    },
  };
}

/** Soft delete and purge protection only go one way (VaultProperties descriptions); a write turning either off is refused. */
export function refuseOneWayReversals(current: Record<string, unknown>, requested: Record<string, unknown>): void {
  if (current["enableSoftDelete"] === true && requested["enableSoftDelete"] === false)
    throw new ArmError(400, "BadRequest", 'The property "enableSoftDelete" cannot be set to false once it has been set to true.');
  if (current["enablePurgeProtection"] === true && requested["enablePurgeProtection"] === false)
    throw new ArmError(400, "BadRequest", 'The property "enablePurgeProtection" cannot be set to false once it has been enabled.');
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
