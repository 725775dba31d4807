import * as tl from "azure-pipelines-task-lib/task";
import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError } from "../../core/errors";
import { parseIdentityResourceId } from "../../core/identity";
import { readAgentIpLookups, readAgentIpServiceUrl } from "../../core/job-scoped-access/inputs";
import type { Grantee } from "../../core/principals";
import { readBoolean, readChoice, readKeyVaultName, readListEntries, readSecondsVariable, readString } from "../../core/inputs";
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
  /** Open the vault's firewall to the agent for this job (closed by the post-job step). */
  agentAccess?: AgentAccess;
}

/** Job-scoped access to the vault's firewall: where to look the agent's addresses up, and how long to wait for the rules. */
export interface AgentAccess {
  serviceUrl: string;
  lookups: number;
  /** How long to wait for the vault to admit the agent after opening it (0: do not wait). */
  waitMs: number;
  /** One data-plane probe's limit. */
  probeTimeoutMs: number;
}

/** What the post-job step needs: where the vault is. What to close comes from the task variable. */
export interface PostJobRequest {
  connection: ServiceConnection;
  keyVaultName: string;
  resourceGroupName?: string;
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
    ...(readBoolean("includeAgentIp", false) ? { agentAccess: readAgentAccess() } : {}),
  };
}

export function readPostJobRequest(): PostJobRequest {
  const resourceGroupName = readOptionalResourceGroup();
  return {
    connection: readServiceConnection("azureSubscription"),
    keyVaultName: readKeyVaultName(),
    ...(resourceGroupName ? { resourceGroupName } : {}),
  };
}

/**
 * A vault applies a change of its network rules a while after the update returns (reports of waits
 * past two minutes: Azure-Samples/azuresandbox#176; "it can take up to 10 minutes before the
 * firewall rules are applied", liprec/vsts-release-aas#40): five minutes by default.
 */
const DEFAULT_FIREWALL_WAIT_SECONDS = 300;

function readAgentAccess(): AgentAccess {
  const probeTimeout = readSecondsVariable("AksHardening.KeyVaultProbeTimeoutSeconds", 10);
  if (probeTimeout <= 0)
    throw new InputError("AksHardening.KeyVaultProbeTimeoutSeconds", `'${probeTimeout}' must be a number of seconds above zero.`);
  return {
    serviceUrl: readAgentIpServiceUrl(),
    lookups: readAgentIpLookups(),
    waitMs: readSecondsVariable("AksHardening.KeyVaultFirewallWaitSeconds", DEFAULT_FIREWALL_WAIT_SECONDS) * 1000,
    probeTimeoutMs: probeTimeout * 1000,
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
