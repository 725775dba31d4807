import * as tl from "azure-pipelines-task-lib/task";
import { get as getVault, listBySubscription, updateAccessPolicy } from "@azure/arm-keyvault/api/vaults";
import type { Vault } from "@azure/arm-keyvault";
import { SecretClient } from "@azure/keyvault-secrets";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { AzureClients } from "../../core/azure";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import { applyJobScoped, type JobScopedChange, type JobScopedResult } from "../../core/job-scoped-access/access";
import type { AgentEgress } from "../../core/job-scoped-access/egress";
import type { JobRef } from "../../core/job-scoped-access/job";
import { readLedger, type ResourceLinkBody } from "../../core/job-scoped-access/ledger";
import { formatOpened, JOB_SCOPED_ACCESS_TASK_VARIABLE } from "../../core/job-scoped-access/task-variable";
import { CONSISTENT_ANSWERS, waitUntilAdmitted } from "../../core/job-scoped-access/wait";
import {
  describeVault,
  keyVaultClient,
  planVaultJobScoped,
  refuseClosedVault,
  vaultDataPlaneProbe,
  vaultFirewall,
} from "../../core/key-vault";
import type { PlannedWrite } from "../../core/permissions";
import { applyRoleGrant, readRoleGrant } from "../../core/roles";
import type { ResolvedGrantee } from "../../core/principals";
import { backoffMs, firstPauseMs, formatDuration } from "../../core/wait-budget";
import type { AgentAccess, KeyVaultSecretsRequest } from "./inputs";
import { type AccessPolicyEntry, type CurrentSecret, type GrantPlan, type SecretPlan, type VaultState } from "./plan";

/** Secrets read and written at once; the client's retry policy waits out 429 Retry-After on each. */
export const SECRET_CONCURRENCY = 8;
/** How long a write waits for a recovered secret to settle (409 ObjectIsBeingRecovered) before giving up. */
const RECOVERY_SETTLE_TIMEOUT_MS = 120_000;

/** Reads the vault through ARM; without a resource group, finds it among the subscription's vaults. */
export async function readVault(
  clients: AzureClients,
  request: Pick<KeyVaultSecretsRequest, "keyVaultName" | "resourceGroupName">,
): Promise<VaultState> {
  let resourceGroupName = request.resourceGroupName;
  if (!resourceGroupName) {
    try {
      for await (const vault of listBySubscription(keyVaultClient(clients))) {
        if (vault.name?.toLowerCase() === request.keyVaultName.toLowerCase()) {
          resourceGroupName = /\/resourceGroups\/([^/]+)\//i.exec(vault.id ?? "")?.[1];
          break;
        }
      }
    } catch (error) {
      throw new TaskError(
        describeFailure(error, {
          action: `list the key vaults of subscription '${clients.connection.subscriptionId}' to find '${request.keyVaultName}'`,
          permission: "Microsoft.KeyVault/vaults/read",
        }),
      );
    }
    if (!resourceGroupName) {
      throw new TaskError(
        `There is no key vault '${request.keyVaultName}' in the service connection's subscription '${clients.connection.subscriptionId}' (or the connection may not read it). Check keyVaultName, or set resourceGroupName.`,
      );
    }
  }
  const where = { name: request.keyVaultName, resourceGroupName };
  let vault: Vault;
  try {
    vault = await getVault(keyVaultClient(clients), resourceGroupName, request.keyVaultName);
  } catch (error) {
    throw new TaskError(describeFailure(error, { action: `read ${describeVault(where)}`, permission: "Microsoft.KeyVault/vaults/read" }));
  }
  if (!vault.properties.vaultUri)
    throw new TaskError(`The ${describeVault(where)} has no vaultUri yet (is it still being created?); re-run later.`);
  return {
    id: vault.id!,
    name: vault.name ?? request.keyVaultName,
    resourceGroupName,
    vaultUri: vault.properties.vaultUri,
    tenantId: vault.properties.tenantId,
    model: vault.properties.enableRbacAuthorization ? "rbac" : "accessPolicies",
    accessPolicies: (vault.properties.accessPolicies ?? []) as AccessPolicyEntry[],
    resource: vault,
  };
}

/** The role assignment a vault that uses Azure RBAC needs (an access-policy grant is planned from the vault as read: plan.ts). */
export async function readVaultRoleGrant(clients: AzureClients, vault: VaultState, principal: ResolvedGrantee): Promise<GrantPlan> {
  const plan = await readRoleGrant(clients, {
    role: "Key Vault Secrets User",
    scope: vault.id,
    principalId: principal.principalId,
    principalDescription: principal.description,
    ...(principal.principalType ? { principalType: principal.principalType } : {}),
  });
  return { kind: "role", ...plan };
}

export interface GrantResult {
  outcome: "created" | "existed" | "updated";
  /** The principal's type as Azure recorded it on a role assignment. */
  principalType?: string;
}

/** Writes the grant; returns what was done. */
export async function applyGrant(clients: AzureClients, vault: VaultState, plan: GrantPlan): Promise<GrantResult> {
  if (plan.kind === "role") return applyRoleGrant(clients, plan);
  try {
    await updateAccessPolicy(keyVaultClient(clients), vault.resourceGroupName, vault.name, "add", {
      properties: { accessPolicies: [plan.entry] },
    });
    return { outcome: "updated" };
  } catch (error) {
    throw new TaskError(
      describeFailure(error, {
        action: `add an access policy for ${plan.principalDescription} to ${describeVault(vault)}`,
        permission: "Microsoft.KeyVault/vaults/accessPolicies/write",
      }),
    );
  }
}

/** Reads each secret's latest value (and whether a missing name is soft-deleted), a few at a time. */
export async function readSecrets(clients: AzureClients, vault: VaultState, names: readonly string[]): Promise<Map<string, CurrentSecret>> {
  const client = secretClient(clients, vault.vaultUri);
  const current = new Map<string, CurrentSecret>();
  await forEachConcurrently(names, SECRET_CONCURRENCY, async (name) => {
    try {
      const secret = await client.getSecret(name);
      current.set(name, { state: "present", value: secret.value ?? "" });
      return;
    } catch (error) {
      if (azureErrorDetails(error).status !== 404) throw dataPlaneError(error, vault, "read", name);
    }
    try {
      await client.getDeletedSecret(name);
      current.set(name, { state: "deleted" });
    } catch (error) {
      // 404: never existed. 403: cannot tell; a soft-deleted name still shows up as 409 when written.
      if (![403, 404].includes(azureErrorDetails(error).status ?? 0)) throw dataPlaneError(error, vault, "read", name);
      current.set(name, { state: "absent" });
    }
  });
  return current;
}

export type SecretOutcome = "created" | "updated" | "unchanged" | "recovered" | "recovered and updated";

/** Writes the planned secrets, a few at a time: a soft-deleted name is recovered, then written only if its value differs. */
export async function applySecrets(
  clients: AzureClients,
  vault: VaultState,
  plans: readonly SecretPlan[],
): Promise<Map<string, SecretOutcome>> {
  const client = secretClient(clients, vault.vaultUri);
  const outcomes = new Map<string, SecretOutcome>();
  const recover = async (name: string, value: string): Promise<SecretOutcome> => {
    try {
      await (await client.beginRecoverDeletedSecret(name, { intervalInMs: firstPauseMs(500) })).pollUntilDone();
    } catch (error) {
      if (azureErrorDetails(error).status === 403 && isAuthorizationFailure(error)) {
        throw new TaskError(
          `The secret '${name}' in ${describeVault(vault)} is deleted but recoverable (soft delete), and the service connection may not recover it: it needs the secret permission 'recover' (access policy) or the role Key Vault Secrets Officer (RBAC). Recover or purge the secret, or grant that permission, then re-run.`,
        );
      }
      throw dataPlaneError(error, vault, "recover", name);
    }
    const recovered = await client.getSecret(name).catch((error: unknown) => {
      throw dataPlaneError(error, vault, "read", name);
    });
    if (recovered.value === value) return "recovered";
    await set(name, value).catch((error: unknown) => {
      throw dataPlaneError(error, vault, "write", name);
    });
    return "recovered and updated";
  };
  /** A secret just recovered refuses writes for a while (409 ObjectIsBeingRecovered): wait, bounded, and say so. */
  const set = async (name: string, value: string): Promise<void> => {
    // Only the waits count against the bound, so a loaded agent gets as many tries as a fast one.
    let waitedMs = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        await client.setSecret(name, value);
        return;
      } catch (error) {
        const waitMs = backoffMs(attempt, 1000, 15_000);
        if (innerErrorCode(error) !== "ObjectIsBeingRecovered") throw error;
        if (waitedMs + waitMs > RECOVERY_SETTLE_TIMEOUT_MS) {
          throw new TaskError(
            `The secret '${name}' in ${describeVault(vault)} was still being recovered from soft delete after ${RECOVERY_SETTLE_TIMEOUT_MS / 1000} s (Key Vault answered 409 ObjectIsBeingRecovered to every write); re-run the task in a few minutes.`,
          );
        }
        console.log(
          `The secret '${name}' in ${describeVault(vault)} is still being recovered from soft delete (409 ObjectIsBeingRecovered); writing it again in ${formatDuration(waitMs)}.`,
        );
        waitedMs += waitMs;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  };
  await forEachConcurrently(plans, SECRET_CONCURRENCY, async (plan) => {
    const { name, value } = plan.secret;
    if (plan.action === "unchanged") {
      outcomes.set(name, "unchanged");
      return;
    }
    if (plan.action === "recover") {
      outcomes.set(name, await recover(name, value));
      return;
    }
    try {
      await set(name, value);
      outcomes.set(name, plan.action === "create" ? "created" : "updated");
    } catch (error) {
      // Deleted since it was read, or the connection could not see deleted secrets.
      if (innerErrorCode(error) === "ObjectIsDeletedButRecoverable") outcomes.set(name, await recover(name, value));
      else throw dataPlaneError(error, vault, "write", name);
    }
  });
  return outcomes;
}

const NEEDED: Record<string, { permission: string; role: string }> = {
  read: { permission: "get", role: "Key Vault Secrets Officer (or Key Vault Secrets User to read only)" },
  write: { permission: "set", role: "Key Vault Secrets Officer" },
  recover: { permission: "recover", role: "Key Vault Secrets Officer" },
};

/**
 * Key Vault's 403s that mean the caller lacks a permission (access policy or RBAC), by inner code.
 * Older answers carry none. Others (the firewall, a disabled secret) are not a permission problem.
 */
const AUTHORIZATION_FAILURES = new Set([undefined, "AccessDenied", "ForbiddenByRbac", "ForbiddenByPolicy"]);

function isAuthorizationFailure(error: unknown): boolean {
  return AUTHORIZATION_FAILURES.has(innerErrorCode(error));
}

/** A data-plane failure as a sentence: a 403 says whether the vault's network rules, the secret or a missing permission is the cause. */
function dataPlaneError(error: unknown, vault: VaultState, operation: "read" | "write" | "recover", name: string): TaskError {
  if (error instanceof TaskError) return error;
  const { status, message } = azureErrorDetails(error);
  const said = message.split(/\r?\n/)[0];
  if (status === 403) {
    switch (innerErrorCode(error)) {
      case "ForbiddenByFirewall": {
        // Key Vault names the address it saw; only an IPv4 address is repeated from its text.
        const address = /Client address:\s*(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(message)?.[1];
        const ip = address ?? "<the agent's public IP>";
        return new TaskError(
          `The firewall of ${describeVault(vault)} blocks this agent${address ? ` (Key Vault saw it come from ${address})` : ""}: the vault's network rules admit only listed addresses and networks. This is not a permission problem. Set includeAgentIp to true to open the firewall to the agent for this job only, allow the agent's address in the vault's Networking settings (az keyvault network-rule add --name ${vault.name} --ip-address ${ip}), or run the job on an agent inside a network the vault allows (virtual network rule or private endpoint), then re-run. Key Vault said: ${said}`,
        );
      }
      case "ForbiddenByConnection":
        return new TaskError(
          `The ${describeVault(vault)} does not accept connections over its public endpoint (public network access is disabled). This is not a permission problem. Run the job on an agent that reaches the vault through its private endpoint, or enable public access with network rules that admit the agent, then re-run. Key Vault said: ${said}`,
        );
      case "SecretDisabled":
        return new TaskError(
          `The secret '${name}' in ${describeVault(vault)} is disabled, so Key Vault refuses to ${operation === "read" ? "read" : "use"} it and the task cannot compare its value. This is not a permission problem. Enable it if it should be written (az keyvault secret set-attributes --vault-name ${vault.name} --name ${name} --enabled true), or remove its line from secrets, then re-run.`,
        );
      default:
        break;
    }
    if (isAuthorizationFailure(error)) {
      const needed = NEEDED[operation]!;
      const how =
        vault.model === "rbac"
          ? `the vault uses Azure RBAC: assign the connection's identity the role ${needed.role} on the vault`
          : `the vault uses access policies: give the connection's identity the secret permissions get, set and recover (at least '${needed.permission}')`;
      return new TaskError(
        `The service connection may not ${operation} the secret '${name}' in ${describeVault(vault)} (HTTP 403): ${how}, then re-run. Key Vault said: ${said}`,
      );
    }
  }
  return new TaskError(describeFailure(error, { action: `${operation} the secret '${name}' in ${describeVault(vault)}` }));
}

/**
 * Key Vault puts the precise reason in `error.innererror.code` (e.g. ObjectIsDeletedButRecoverable,
 * ForbiddenByFirewall). @azure/keyvault-secrets hands the parsed body over as `details` (with
 * `innerError`); a raw body is read too, for clients that keep it.
 */
function innerErrorCode(error: unknown): string | undefined {
  const details = (error as { details?: { error?: { innerError?: { code?: unknown } } } }).details;
  const parsed = details?.error?.innerError?.code;
  if (typeof parsed === "string") return parsed;
  const body = (error as { response?: { bodyAsText?: string } }).response?.bodyAsText;
  try {
    return (JSON.parse(body ?? "") as { error?: { innererror?: { code?: string } } }).error?.innererror?.code;
  } catch {
    return undefined;
  }
}

/** Runs `work` over the items with at most `limit` at once; the first failure fails the whole. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The data-plane client of one vault, at its `vaultUri` as ARM returned it. Its token scope comes
 * from the vault's own 401 challenge (the cloud's Key Vault audience, which the connection's
 * AzureKeyVaultServiceEndpointResourceId names too), and the client checks that the challenge's
 * resource matches the vault's host: that check stays on.
 */
function secretClient(clients: AzureClients, vaultUri: string): SecretClient {
  return clients.client(`secrets:${vaultUri.toLowerCase()}`, () => {
    const options = clients.serviceOptions(vaultUri);
    return new SecretClient(vaultUri, clients.credential, {
      ...options,
      additionalPolicies: [...options.additionalPolicies, ...challengeOnce()],
    });
  });
}

/**
 * The Key Vault client learns its token's scope from the vault's 401 challenge to its first
 * request, sent without a token. Requests that start before that challenge is answered go out
 * without a token too, and each earns its own 401: reading 8 secrets at once costs 8 challenges.
 * These two policies hold every request but the first until the first carries a token (or ends),
 * so the vault is challenged once and the rest fan out with the token.
 *
 * `perCall` runs before the client's challenge policy, `perRetry` after it (core-client places
 * additional perRetry policies after the Sign phase, the challenge policy before it).
 */
function challengeOnce(): { policy: PipelinePolicy; position: "perCall" | "perRetry" }[] {
  let first: Promise<void> | undefined;
  let release = () => {};
  return [
    {
      position: "perCall",
      policy: {
        name: "aksHardeningKeyVaultChallengeOnce",
        async sendRequest(request, next) {
          if (first) {
            await first;
            return next(request);
          }
          first = new Promise((resolve) => (release = resolve));
          try {
            return await next(request);
          } finally {
            release();
          }
        },
      },
    },
    {
      position: "perRetry",
      policy: {
        name: "aksHardeningKeyVaultAuthorized",
        sendRequest(request, next) {
          if (request.headers.has("authorization")) release();
          return next(request);
        },
      },
    },
  ];
}

/**
 * Asks for the Key Vault token while the ARM reads run, so that answering the vault's challenge
 * takes the token from the cache instead of a token request of its own. The scope is the one the
 * challenge names (`<resource>/.default`, with continuous access evaluation, as the Key Vault client
 * asks); a cloud whose vaults name another resource costs one unused token, nothing else.
 */
export function prefetchKeyVaultToken(clients: AzureClients): void {
  const resource = clients.connection.keyVaultResource?.replace(/\/+$/, "");
  if (!resource) return;
  clients.credential
    .getToken(`${resource}/.default`, { enableCae: true, tenantId: clients.connection.tenantId })
    .catch((error: unknown) => tl.debug(`Key Vault token not prefetched: ${describeFailure(error)}`));
}

/** What opening the vault's firewall for the job did. */
export type VaultAccessResult = JobScopedResult<Vault, JobScopedChange>;

/**
 * Opens the vault's firewall to the agent's addresses for this job (core/job-scoped-access), then
 * waits until the data plane admits the agent consistently. `links` are the vault's holds when they
 * were read with the vault.
 */
export async function openVaultForJob(
  clients: AzureClients,
  vault: VaultState,
  p: {
    job: JobRef;
    egress: AgentEgress;
    access: AgentAccess;
    links?: ResourceLinkBody[] | undefined;
    dryRun: boolean;
    /** The permission check of the writes the opening makes, before any of them (core/job-scoped-access/access.ts). */
    check(writes: PlannedWrite[]): Promise<void>;
  },
): Promise<VaultAccessResult> {
  refuseClosedVault(vault.resource, vault);
  const firewall = vaultFirewall(clients, vault);
  const links = p.links ?? (await firewall.links.list());
  const result = await applyJobScoped(firewall, {
    read: { state: vault.resource, links, ledger: readLedger({ resourceId: vault.id, links, tags: vault.resource.tags, now: p.job.now }) },
    job: p.job,
    dryRun: p.dryRun,
    check: p.check,
    plan: (state, view) => planVaultJobScoped(state, view, p.job, p.egress.addresses),
    // Left before the first write, so the post-job step closes what this job opened even if it is cancelled mid-write.
    beforeWrite: (plan) => {
      const addresses = plan.jobScoped.opened.map((opened) => opened.address);
      if (addresses.length)
        tl.setTaskVariable(JOB_SCOPED_ACCESS_TASK_VARIABLE, formatOpened({ job: p.job.job, addresses, resourceId: vault.id }));
    },
  });
  const opened = result.plan.jobScoped.opened.map((o) => o.address);
  if (!p.dryRun && opened.length && p.access.waitMs > 0) {
    const addresses = opened.join(", ");
    await waitUntilAdmitted({
      target: `the data plane of ${describeVault(vault)}`,
      probe: vaultDataPlaneProbe(clients, vault.vaultUri, vault),
      timeoutMs: p.access.waitMs,
      probeTimeoutMs: p.access.probeTimeoutMs,
      consecutive: CONSISTENT_ANSWERS,
      failure: ({ reason, probes, admitted, waitedMs }) =>
        `The agent's ${opened.length === 1 ? "address" : "addresses"} ${addresses} ${opened.length === 1 ? "is" : "are"} in the IP rules of ${describeVault(vault)}, but its data plane ${admitted ? `admitted only ${admitted} of ${probes} connections` : "did not admit this agent"} within ${formatDuration(waitedMs)} (last: ${reason}). ` +
        (admitted
          ? "The agent's traffic also leaves from an address the lookups did not find: raise the pipeline variable AksHardening.AgentIpLookups, or give the agent a fixed outbound address (a NAT gateway, a self-hosted agent)."
          : "Key Vault can take minutes to apply network rules: raise the pipeline variable AksHardening.KeyVaultFirewallWaitSeconds, and check that the agent's traffic leaves from that address (agentIpServiceUrl)."),
    });
  }
  return result;
}
