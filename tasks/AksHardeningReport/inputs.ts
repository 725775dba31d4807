import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError, listProblems } from "../../core/errors";
import { readChoice, readClusterName, readResourceGroupName, readString } from "../../core/inputs";
import { CHECK_IDS } from "./checks";

export type FailOn = "never" | "error" | "warning";

/** A key vault to check: by name in the cluster's resource group, or by resource ID anywhere. */
export interface VaultRef {
  name: string;
  resourceGroupName: string;
  /** Set when the vault was given by resource ID in another subscription than the connection's. */
  subscriptionId?: string;
}

export interface SkippedCheck {
  id: string;
  reason?: string;
}

export interface AksHardeningReportRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  vaults: VaultRef[];
  failOn: FailOn;
  skipChecks: SkippedCheck[];
}

export function readRequest(): AksHardeningReportRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  return {
    connection,
    resourceGroupName,
    clusterName: readClusterName(),
    vaults: parseVaults(readString("keyVaultNames") ?? "", resourceGroupName, connection.subscriptionId),
    failOn: readChoice<FailOn>("failOn", ["never", "error", "warning"], "never"),
    skipChecks: parseSkipChecks(readString("skipChecks") ?? ""),
  };
}

/** Vault names: 3-24 letters, digits and dashes, starting with a letter, ending with a letter or digit, no "--" (as KeyVaultSecrets checks them). */
const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const VAULT_ID = /^\/subscriptions\/([0-9a-f-]{36})\/resourceGroups\/([-\w.()]{1,90})\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i;

/** One vault a line (or comma-separated): a name in the cluster's resource group, or a resource ID. Duplicates count once. */
export function parseVaults(text: string, resourceGroupName: string, subscriptionId: string): VaultRef[] {
  const vaults: VaultRef[] = [];
  const bad: string[] = [];
  for (const entry of text
    .split(/[\r\n,]+/)
    .map((e) => e.trim().replace(/\/+$/, ""))
    .filter(Boolean)) {
    const byId = VAULT_ID.exec(entry);
    const vault: VaultRef | undefined = byId
      ? {
          name: byId[3]!,
          resourceGroupName: byId[2]!,
          ...(byId[1]!.toLowerCase() === subscriptionId.toLowerCase() ? {} : { subscriptionId: byId[1]! }),
        }
      : { name: entry, resourceGroupName };
    if (!VAULT_NAME.test(vault.name) || vault.name.includes("--")) {
      bad.push(`'${entry}'`);
      continue;
    }
    if (!vaults.some((v) => v.name.toLowerCase() === vault.name.toLowerCase())) vaults.push(vault);
  }
  if (bad.length) {
    throw new InputError(
      "keyVaultNames",
      `${bad.join(", ")} ${bad.length === 1 ? "is neither a key vault name" : "are neither key vault names"} (3-24 letters, digits and '-', starting with a letter, no '--') nor a vault's resource ID (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>).`,
    );
  }
  return vaults;
}

/**
 * One or more check IDs a line (separated by commas or spaces), optionally followed by `: reason`
 * (or `# reason`) that applies to the IDs of that line; IDs are matched case-insensitively.
 */
export function parseSkipChecks(text: string): SkippedCheck[] {
  const skipped: SkippedCheck[] = [];
  const problems: string[] = [];
  for (const line of text.split(/\r?\n/).map((l) => l.trim())) {
    if (!line) continue;
    const separator = line.search(/[:#]/);
    const ids = (separator < 0 ? line : line.slice(0, separator)).split(/[\s,;]+/).filter(Boolean);
    const reason = separator < 0 ? undefined : line.slice(separator + 1).trim() || undefined;
    if (ids.length === 0) problems.push(`'${line}' names no check.`);
    for (const given of ids) {
      const id = CHECK_IDS.find((known) => known.toLowerCase() === given.toLowerCase());
      if (!id) problems.push(`'${given}' is not a check ID.`);
      else if (!skipped.some((s) => s.id === id)) skipped.push({ id, ...(reason ? { reason } : {}) });
    }
  }
  if (problems.length) {
    throw new InputError(
      "skipChecks",
      `${listProblems(problems)} Write the check IDs to skip, then ': ' and the reason, e.g. 'network.outbound: egress goes through the hub firewall'. IDs: ${CHECK_IDS.join(", ")}.`,
    );
  }
  return skipped;
}
