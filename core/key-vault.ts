import { createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest } from "@azure/core-rest-pipeline";
import type { Vault, VaultPatchProperties } from "@azure/arm-keyvault";
import { createKeyVaultManagement, type KeyVaultManagementContext } from "@azure/arm-keyvault/api";
import { get as getVault, update as updateVault } from "@azure/arm-keyvault/api/vaults";
import type { AzureClients } from "./azure";
import { proxyFor } from "./connection";
import { USER_AGENT } from "./user-agent";
import { describeFailure, TaskError } from "./errors";
import { canonicalEntry } from "./job-scoped-access/addresses";
import type { JobScopedChange, JobScopedFirewall, PlannedList } from "./job-scoped-access/access";
import type { JobRef } from "./job-scoped-access/job";
import { planJobScoped, type FirewallView } from "./job-scoped-access/plan";
import { HoldLinks } from "./job-scoped-access/ledger";
import type { ProbeResult } from "./job-scoped-access/wait";

/**
 * A key vault's network: its firewall (`properties.networkAcls`: defaultAction, bypass, ipRules,
 * virtualNetworkRules) and public network access, read and written through ARM
 * (Microsoft.KeyVault 2026-02-01), and the data plane's answer to an address the firewall refuses.
 */

export interface VaultRef {
  name: string;
  resourceGroupName: string;
}

export function describeVault(vault: VaultRef): string {
  return `key vault '${vault.name}' in resource group '${vault.resourceGroupName}'`;
}

export function vaultResourceId(subscriptionId: string, vault: VaultRef): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${vault.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${vault.name}`;
}

export function keyVaultClient(clients: AzureClients): KeyVaultManagementContext {
  return clients.client("keyVaults", () =>
    createKeyVaultManagement(clients.credential, clients.connection.subscriptionId, clients.armOptions()),
  );
}

/** "At most 1000 IPv4 rules" (and 200 virtual network rules): https://learn.microsoft.com/azure/key-vault/general/network-security. */
export const MAX_VAULT_IP_RULES = 1000;

/** Why the vault's firewall admits every address (so there is nothing to open), or undefined when it denies by default. */
export function vaultAdmitsEveryone(vault: Vault): string | undefined {
  const acls = vault.properties.networkAcls;
  if (acls?.defaultAction?.toLowerCase() === "deny") return undefined;
  return "the vault's firewall admits every address (defaultAction Allow)";
}

/**
 * A vault whose public network access is disabled takes no traffic over its public endpoint, IP rules
 * or not ("Public network access is disabled and request is not from a trusted service nor via an
 * approved private link", secrets-store-csi-driver-provider-azure#873): opening its firewall cannot help.
 */
export function refuseClosedVault(vault: Vault, ref: VaultRef): void {
  if (vault.properties.publicNetworkAccess?.toLowerCase() !== "disabled") return;
  throw new TaskError(
    `includeAgentIp: the ${describeVault(ref)} has public network access disabled, so no IP rule admits the agent (only its private endpoints take traffic); nothing was changed. Run the job on an agent that reaches the vault through a private endpoint, and set includeAgentIp to false.`,
  );
}

/**
 * The vault's IP rules as the firewall job-scoped access opens. A vault has no eTag, and a vault
 * update (PATCH) replaces `networkAcls` as a whole: the write sends every field as read (default
 * action, bypass, virtual network rules) with only the IP rules changed, and the change is read
 * again afterwards (core/job-scoped-access/access.ts) instead of being conditioned.
 */
export function vaultFirewall(clients: AzureClients, vault: VaultRef & { id: string }): JobScopedFirewall<Vault> {
  const target = describeVault(vault);
  const client = keyVaultClient(clients);
  return {
    target,
    links: new HoldLinks(client, vault.id, target),
    writeAction: "Microsoft.KeyVault/vaults/write",
    listName: "the vault's firewall IP rules",
    emptyListAdmitsEveryone: false,
    conditional: false,
    read: () => readKeyVault(clients, vault),
    entries: (state) => (state.properties.networkAcls?.ipRules ?? []).map((rule) => rule.value),
    tags: (state) => state.tags,
    async update<P extends PlannedList>(state: Vault, plan: (state: Vault) => P) {
      const planned = plan(state);
      if (planned.empty) return { plan: planned, written: false, state };
      if (planned.after.length > MAX_VAULT_IP_RULES) {
        throw new TaskError(
          `The ${target} would need ${planned.after.length} IP rules, over Key Vault's limit of ${MAX_VAULT_IP_RULES}; nothing was changed. Remove IP rules that are no longer needed.`,
        );
      }
      const acls = state.properties.networkAcls ?? {};
      const after = await updateVaultProperties(
        clients,
        vault,
        {
          networkAcls: {
            ...acls,
            ipRules: planned.after.map((value) => ({ value: canonicalEntry(value) ?? value })),
            virtualNetworkRules: acls.virtualNetworkRules ?? [],
          },
        },
        "update the IP rules of",
      );
      return { plan: planned, written: true, state: after };
    },
  };
}

export async function readKeyVault(clients: AzureClients, vault: VaultRef): Promise<Vault> {
  try {
    return await getVault(keyVaultClient(clients), vault.resourceGroupName, vault.name);
  } catch (error) {
    throw new TaskError(describeFailure(error, { action: `read ${describeVault(vault)}`, permission: "Microsoft.KeyVault/vaults/read" }));
  }
}

/**
 * One vault update (Vaults_Update, PATCH): the properties sent replace the vault's, the others stay.
 * `networkAcls`, when sent, replaces the whole rule set, so a caller sends every field it read with
 * only its change made. `doing` completes the failure sentence, e.g. "update the IP rules of".
 */
export async function updateVaultProperties(
  clients: AzureClients,
  vault: VaultRef,
  properties: VaultPatchProperties,
  doing: string,
): Promise<Vault> {
  try {
    return await updateVault(keyVaultClient(clients), vault.resourceGroupName, vault.name, { properties });
  } catch (error) {
    throw new TaskError(
      describeFailure(error, { action: `${doing} ${describeVault(vault)}`, permission: "Microsoft.KeyVault/vaults/write" }),
      { cause: error },
    );
  }
}

/** Job-scoped access to a vault's firewall: its lasting IP rules stay as they are; `open` are this job's addresses. */
export function planVaultJobScoped(vault: Vault, view: FirewallView, job: JobRef, open: readonly string[]): JobScopedChange {
  const jobScoped = planJobScoped({ view, job, open, admitsEveryone: vaultAdmitsEveryone(vault), emptyListAdmitsEveryone: false });
  return { after: jobScoped.after, empty: jobScoped.added.length === 0 && jobScoped.removed.length === 0, jobScoped };
}

/** Key Vault data-plane api-version, as @azure/keyvault-secrets 4.11 speaks it. */
const DATA_PLANE_API_VERSION = "2025-07-01";

/**
 * One data-plane request over a new connection, to see whether the vault's firewall admits it. The
 * firewall is checked after the token and before any permission, and answers a refused address with
 * 403 and inner code ForbiddenByFirewall ("Client address is not authorized and caller is not a
 * trusted service. Client address: <address>", as quoted in MicrosoftDocs/azure-devops-docs#8581 and
 * terraform-provider-azurerm#4553); any other answer (a secret list, or 403 for a missing permission)
 * means the request got through. The token only ever goes to a host of the cloud's Key Vault domain.
 */
export function vaultDataPlaneProbe(clients: AzureClients, vaultUri: string, ref: VaultRef): (timeoutMs: number) => Promise<ProbeResult> {
  const resource = (clients.connection.keyVaultResource ?? "https://vault.azure.net").replace(/\/+$/, "");
  const vaultHost = new URL(vaultUri).hostname.toLowerCase();
  if (!vaultHost.endsWith(`.${new URL(resource).hostname.toLowerCase()}`)) {
    throw new TaskError(
      `The ${describeVault(ref)} reports the URI ${vaultUri}, which is not in the Key Vault domain of the service connection's cloud (${resource}); the task does not send it a token.`,
    );
  }
  const url = `${vaultUri.replace(/\/+$/, "")}/secrets?maxresults=1&api-version=${DATA_PLANE_API_VERSION}`;
  return async (timeoutMs) => {
    const token = await clients.credential.getToken(`${resource}/.default`, { enableCae: true, tenantId: clients.connection.tenantId });
    if (!token) throw new TaskError(`Could not get a Key Vault token to check the firewall of ${describeVault(ref)}.`);
    // No retries: the wait paces the probes. A new HTTP client each time: a new connection, perhaps another egress address.
    const pipeline = createPipelineFromOptions({
      retryOptions: { maxRetries: 0 },
      proxyOptions: proxyFor(url),
      userAgentOptions: { userAgentPrefix: USER_AGENT },
    });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const response = await pipeline.sendRequest(
        createDefaultHttpClient(),
        createPipelineRequest({
          url,
          method: "GET",
          headers: createHttpHeaders({ authorization: `Bearer ${token.token}`, accept: "application/json", connection: "close" }),
          abortSignal: abort.signal,
        }),
      );
      const body = response.bodyAsText ?? "";
      const code = /"innererror"\s*:\s*\{\s*"code"\s*:\s*"([A-Za-z]+)"/.exec(body)?.[1];
      if (response.status === 403 && (code === "ForbiddenByFirewall" || code === "ForbiddenByConnection")) {
        const address = /Client address:\s*(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(body)?.[1];
        return { admitted: false, reason: `403 ${code}${address ? ` for ${address}` : ""}` };
      }
      return { admitted: true, detail: `HTTP ${response.status}` };
    } catch (error) {
      return { admitted: false, reason: abort.signal.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  };
}
