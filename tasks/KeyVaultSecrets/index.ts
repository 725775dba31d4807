import { AzureClients, readTogether } from "../../core/azure";
import { findAgentEgress } from "../../core/job-scoped-access/egress";
import { currentJob } from "../../core/job-scoped-access/job";
import { HoldLinks, LINK_PERMISSIONS } from "../../core/job-scoped-access/ledger";
import { untrustedWarnings } from "../../core/job-scoped-access/report";
import { describeVault, keyVaultClient, vaultResourceId } from "../../core/key-vault";
import { CallerPermissions, withPermissionWarnings, type PermissionCheck, type PlannedWrite } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import { resolveGrantees } from "../../core/principals";
import { runTask } from "../../core/run";
import {
  applyGrant,
  applySecrets,
  openVaultForJob,
  prefetchKeyVaultToken,
  readVaultRoleGrant,
  readSecrets,
  readVault,
  type GrantResult,
  type SecretOutcome,
} from "./apply";
import { readRequest } from "./inputs";
import { planAccessPolicy, plannedWrites, planSecret, type GrantPlan } from "./plan";
import { keyVaultReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);
  const access = request.agentAccess;
  const job = currentJob();
  const permissions = new CallerPermissions(clients);
  // A job that opens the vault's firewall for itself writes its hold on nearly every run (each job
  // has its own): its permissions are read with the holds, so the check costs no round trip.
  const holdWrite = (vaultId: string): PlannedWrite => ({
    action: LINK_PERMISSIONS.write,
    scope: vaultId,
    purpose: "record this job's access",
  });
  if (request.secrets.length > 0 || access) prefetchKeyVaultToken(clients);
  const knownVault = request.resourceGroupName ? { name: request.keyVaultName, resourceGroupName: request.resourceGroupName } : undefined;
  const knownVaultId = knownVault && vaultResourceId(clients.connection.subscriptionId, knownVault);
  if (access && knownVaultId) permissions.prefetch([holdWrite(knownVaultId)]);
  // The vault, the grantee, the agent's addresses and (when the vault's ID is known) its holds are independent reads: one round trip.
  const [vault, principal, egress, links] = await readTogether([
    readVault(clients, request),
    request.grantTo ? resolveGrantees(clients, [request.grantTo]).then(([grantee]) => grantee!) : undefined,
    access ? findAgentEgress(access.serviceUrl, access.lookups) : undefined,
    access && knownVault && knownVaultId
      ? new HoldLinks(keyVaultClient(clients), knownVaultId, describeVault(knownVault)).list()
      : undefined,
  ]);
  const notes: string[] = [];
  const warnings: string[] = [];
  // An access-policy grant is planned from the vault as read, so its permission is checked with the
  // opening's; a role assignment takes a read of its own, after the opening.
  const policyGrant =
    principal && vault.model === "accessPolicies"
      ? planAccessPolicy(vault, principal.principalId, principal.description, request.secretPermissions)
      : undefined;
  const checks: PermissionCheck[] = [];
  let policyGrantChecked = false;
  // The data plane is reached only through the vault's firewall: opened for this job first.
  if (access && !knownVaultId) permissions.prefetch([holdWrite(vault.id)]);
  const opened =
    access && egress
      ? await openVaultForJob(clients, vault, {
          job,
          egress,
          access,
          links,
          dryRun: request.dryRun,
          check: async (writes) => {
            checks.push(await permissions.check([...writes, ...plannedWrites(vault, policyGrant, [])], { dryRun: request.dryRun }));
            policyGrantChecked = true;
          },
        })
      : undefined;
  if (opened) warnings.push(...untrustedWarnings(opened.plan.jobScoped, describeVault(vault)), ...opened.warnings);
  const closedToAgent = request.dryRun && (opened?.plan.jobScoped.opened.length ?? 0) > 0;
  if (closedToAgent && request.secrets.length) {
    notes.push("The secrets were not compared: the vault's firewall does not admit this agent yet, and a dry run opens nothing.");
  }

  if (principal?.note) notes.push(`grantTo ${principal.note}`);
  if (principal && vault.model === "rbac" && request.secretPermissions.some((p) => !["get", "list"].includes(p))) {
    warnings.push(
      `The vault uses Azure RBAC, where secretPermissions do not apply: the task assigns Key Vault Secrets User (get and list). Assign a broader role yourself if ${request.secretPermissions.join(",")} is really needed.`,
    );
  }
  // The grant (a role assignment read on RBAC vaults) and the secrets: again independent.
  const [grant, current]: [GrantPlan | undefined, Awaited<ReturnType<typeof readSecrets>>] = await readTogether([
    policyGrant ?? (principal ? readVaultRoleGrant(clients, vault, principal) : undefined),
    readSecrets(clients, vault, closedToAgent ? [] : request.secrets.map((s) => s.name)),
  ]);
  const secrets = closedToAgent ? [] : request.secrets.map((secret) => planSecret(secret, current.get(secret.name)!));
  const planEmpty = (grant?.empty ?? true) && secrets.every((s) => s.action === "unchanged");
  checks.push(
    await permissions.check(plannedWrites(vault, policyGrantChecked ? undefined : grant, secrets), {
      dryRun: request.dryRun,
      ...(opened?.written ? { writtenBefore: "this job's access through the vault's firewall, which the post-job step closes" } : {}),
    }),
  );

  let grantResult: GrantResult | undefined;
  let outcomes: Map<string, SecretOutcome> | undefined;
  if (!request.dryRun && !planEmpty) {
    // The grant and the secrets do not depend on each other: written together.
    [grantResult, outcomes] = await Promise.all([
      grant && !grant.empty ? applyGrant(clients, vault, grant) : undefined,
      applySecrets(clients, vault, secrets),
    ]);
  }
  const changed =
    grantResult?.outcome === "created" ||
    grantResult?.outcome === "updated" ||
    [...(outcomes?.values() ?? [])].some((o) => o !== "unchanged");

  const report = keyVaultReport({
    vault,
    ...(opened ? { access: { plan: opened.plan.jobScoped, written: opened.written, ...(egress ? { egress } : {}) } } : {}),
    ...(grant && principal ? { grant, principal } : {}),
    ...(grantResult ? { grantResult } : {}),
    secrets,
    ...(outcomes ? { outcomes } : {}),
    nameChanges: request.nameChanges,
    notes,
    warnings,
    outcome: changed ? "changed" : request.dryRun && (!planEmpty || opened?.plan.empty === false) ? "dryRun" : "unchanged",
  });
  publishReport(checks.reduce(withPermissionWarnings, report));
  setOutputs({
    vaultUri: vault.vaultUri,
    secretNames: request.secrets.map((s) => s.name).join(","),
    changed: String(changed),
  });
});
