import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError, listProblems } from "../../core/errors";
import { readChoice, readClusterName, readResourceGroupName, readString } from "../../core/inputs";
import { CHECK_IDS, CHECKS } from "./checks";

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
  /** For a Key Vault check: the one vault it is skipped for (every vault when absent). */
  vault?: string;
  reason: string;
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
  const vaults = parseVaults(readString("keyVaultNames") ?? "", resourceGroupName, connection.subscriptionId);
  return {
    connection,
    resourceGroupName,
    clusterName: readClusterName(),
    vaults,
    failOn: readChoice<FailOn>("failOn", ["never", "error", "warning"], "never"),
    skipChecks: parseSkipChecks(readString("skipChecks") ?? "", vaults),
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

const VAULT_CHECK_IDS = CHECKS.filter((c) => c.kind === "vault").map((c) => c.id);

/**
 * One or more check IDs a line (separated by commas or spaces), then `: reason` (or `# reason`) for the
 * IDs of that line; a reason is required. A Key Vault check may name one vault, as `failedChecks` prints
 * it: `keyVault.network:kv-prod: reason` skips that vault only. IDs are matched case-insensitively; a
 * check (or check and vault) skipped twice is refused, naming both lines.
 */
export function parseSkipChecks(text: string, vaults: readonly VaultRef[] = []): SkippedCheck[] {
  const skipped: (SkippedCheck & { line: number; typed: string })[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const where = /\r?\n./.test(text.trim()) ? `line ${index + 1}: ` : "";
    const entries: { id: string; vault?: string; typed: string }[] = [];
    const problemsBefore = problems.length;
    let rest = line;
    let reason: string | undefined;
    for (;;) {
      rest = rest.replace(/^[\s,;]+/, "");
      if (!rest) break;
      if (rest.startsWith(":") || rest.startsWith("#")) {
        reason = rest.slice(1).trim() || undefined;
        break;
      }
      const typed = /^[^\s,;:#]+/.exec(rest)![0];
      rest = rest.slice(typed.length);
      const id = CHECK_IDS.find((known) => known.toLowerCase() === typed.toLowerCase());
      if (!id) {
        problems.push(`${where}'${typed}' is not a check ID.`);
        continue;
      }
      // `check:vault` (no space after the colon) names one vault; `check: text` starts the reason.
      const qualifier = VAULT_CHECK_IDS.includes(id) ? /^:([A-Za-z0-9-]+)(?=$|[\s,;:#])/.exec(rest) : null;
      if (!qualifier) {
        entries.push({ id, typed });
        continue;
      }
      rest = rest.slice(qualifier[0].length);
      const vault = vaults.find((v) => v.name.toLowerCase() === qualifier[1]!.toLowerCase());
      if (!vault) {
        problems.push(
          `${where}'${typed}:${qualifier[1]}' names a vault keyVaultNames does not list (${vaults.length ? vaults.map((v) => v.name).join(", ") : "it lists none"}); put ': ' before a reason.`,
        );
        continue;
      }
      entries.push({ id, vault: vault.name, typed: `${typed}:${qualifier[1]}` });
    }
    if (problems.length > problemsBefore) return;
    if (entries.length === 0) {
      problems.push(`${where}'${line}' names no check.`);
      return;
    }
    if (!reason) {
      problems.push(`${where}'${line}' gives no reason: write ': ' and why the check does not apply.`);
      return;
    }
    for (const entry of entries) {
      const earlier = skipped.find(
        (s) => s.id === entry.id && (s.vault === undefined || entry.vault === undefined || s.vault === entry.vault),
      );
      if (earlier) {
        problems.push(
          `'${entry.typed}' is skipped twice (${earlier.line === index + 1 ? `both on line ${earlier.line}` : `lines ${earlier.line} and ${index + 1}`}${earlier.typed.toLowerCase() !== entry.typed.toLowerCase() ? `, also as '${earlier.typed}'` : ""}); keep one.`,
        );
        continue;
      }
      skipped.push({ id: entry.id, ...(entry.vault ? { vault: entry.vault } : {}), reason, line: index + 1, typed: entry.typed });
    }
  });
  if (problems.length) {
    throw new InputError(
      "skipChecks",
      `${listProblems(problems)} Write the check IDs to skip, then ': ' and the reason, e.g. 'network.outbound: egress goes through the hub firewall'; a Key Vault check can name one vault, e.g. 'keyVault.network:kv-prod: closed by the vault team'. IDs: ${CHECK_IDS.join(", ")}.`,
    );
  }
  return skipped.map(({ id, vault, reason }) => ({ id, ...(vault ? { vault } : {}), reason }));
}
