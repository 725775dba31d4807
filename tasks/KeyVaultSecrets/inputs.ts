import * as tl from "azure-pipelines-task-lib/task";
import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError } from "../../core/errors";
import { parseIdentityResourceId } from "../../core/identity";
import type { Grantee } from "../../core/principals";
import { readBoolean, readChoice, readListEntries, readRequired, readString } from "../../core/inputs";
import { isResourceGroupName, RESOURCE_GROUP_RULE } from "../../core/names";
import { readSecretInput } from "../../core/task-lib";
import { mapSecretNames, parseSecretLines, valuesToRegister, type NameChange, type NameMapping, type SecretEntry } from "./secrets";

/** Key Vault's secret permission names (SecretPermissions in the Microsoft.KeyVault spec). */
export const SECRET_PERMISSIONS = ["all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"] as const;
export const DEFAULT_SECRET_PERMISSIONS = ["get", "list"];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface KeyVaultSecretsRequest {
  connection: ServiceConnection;
  resourceGroupName?: string;
  keyVaultName: string;
  grantTo?: Grantee;
  secretPermissions: string[];
  secrets: SecretEntry[];
  nameChanges: NameChange[];
  nameMapping: NameMapping;
  dryRun: boolean;
}

export function readRequest(): KeyVaultSecretsRequest {
  // The values are secrets: registered before anything else could print one (plain ones excepted: secrets.ts).
  const secretsText = readSecretInput("secrets");
  for (const value of valuesToRegister(secretsText)) tl.setSecret(value);

  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readOptionalResourceGroup();
  const keyVaultName = readKeyVaultName();
  const grantTo = readGrantee();
  const secretPermissions = readSecretPermissions();
  const nameMapping = readChoice<NameMapping>("nameMapping", ["strict", "dashes"], "strict");
  const dryRun = readBoolean("dryRun", false);
  const { secrets, changes } = mapSecretNames(parseSecretLines(secretsText), nameMapping);
  if (!grantTo && secrets.length === 0) {
    throw new InputError(
      "secrets",
      "is empty and grantTo is not set, so there is nothing to do; enter lines name=value, or an identity to grant access to.",
    );
  }
  return {
    connection,
    ...(resourceGroupName ? { resourceGroupName } : {}),
    keyVaultName,
    ...(grantTo ? { grantTo } : {}),
    secretPermissions,
    secrets,
    nameChanges: changes,
    nameMapping,
    dryRun,
  };
}

function readOptionalResourceGroup(): string | undefined {
  const value = readString("resourceGroupName");
  if (value === undefined) return undefined;
  if (!isResourceGroupName(value)) {
    throw new InputError(
      "resourceGroupName",
      `'${value}' is not a valid resource group name (${RESOURCE_GROUP_RULE}). Leave it empty to find the vault in the subscription.`,
    );
  }
  return value;
}

/** Vault names: 3-24 letters, digits and dashes, starting with a letter, ending with a letter or digit, no "--". */
function readKeyVaultName(): string {
  const value = readRequired("keyVaultName", "enter the name of the key vault.");
  if (!/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(value) || value.includes("--")) {
    throw new InputError(
      "keyVaultName",
      `'${value}' is not a valid key vault name (3-24 letters, digits and '-', starting with a letter, ending with a letter or digit, no '--').`,
    );
  }
  return value;
}

function readGrantee(): Grantee | undefined {
  const value = readString("grantTo");
  if (value === undefined) return undefined;
  if (GUID.test(value)) return { kind: "id", id: value.toLowerCase() };
  const identity = parseIdentityResourceId("grantTo", value);
  if (identity) return { kind: "identity", ...identity, resourceId: value };
  throw new InputError(
    "grantTo",
    `'${value}' is neither an object ID, a client ID (GUIDs) nor a user-assigned managed identity's resource ID (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>).`,
  );
}

function readSecretPermissions(): string[] {
  const value = readString("secretPermissions");
  if (value === undefined) return DEFAULT_SECRET_PERMISSIONS;
  const permissions = [...new Set(readListEntries(value).map((p) => p.text.toLowerCase()))];
  const unknown = permissions.filter((p) => !(SECRET_PERMISSIONS as readonly string[]).includes(p));
  if (unknown.length) {
    throw new InputError(
      "secretPermissions",
      `${unknown.map((p) => `'${p}'`).join(", ")} ${unknown.length === 1 ? "is not a" : "are not"} Key Vault secret permission${unknown.length === 1 ? "" : "s"}; use ${SECRET_PERMISSIONS.join(", ")}.`,
    );
  }
  if (permissions.length === 0) throw new InputError("secretPermissions", "is empty; use e.g. get,list.");
  return permissions;
}
