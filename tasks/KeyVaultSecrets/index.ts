import { AzureClients } from "../../core/azure";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import {
  applyGrant,
  applySecrets,
  readGrant,
  readSecrets,
  readVault,
  resolveGrantee,
  type GrantResult,
  type ResolvedGrantee,
  type SecretOutcome,
} from "./apply";
import { readRequest } from "./inputs";
import { planSecret, type GrantPlan } from "./plan";
import { keyVaultReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);
  const vault = await readVault(clients, request);
  const notes: string[] = [];
  const warnings: string[] = [];

  let grant: GrantPlan | undefined;
  let principal: ResolvedGrantee | undefined;
  if (request.grantTo) {
    principal = await resolveGrantee(clients, request.grantTo);
    if (principal.note) notes.push(principal.note);
    if (vault.model === "rbac" && request.secretPermissions.some((p) => !["get", "list"].includes(p))) {
      warnings.push(
        `The vault uses Azure RBAC, where secretPermissions do not apply: the task assigns Key Vault Secrets User (get and list). Assign a broader role yourself if ${request.secretPermissions.join(",")} is really needed.`,
      );
    }
    grant = await readGrant(clients, vault, principal, request.secretPermissions);
  }
  const current = await readSecrets(
    clients,
    vault,
    request.secrets.map((s) => s.name),
  );
  const secrets = request.secrets.map((secret) => planSecret(secret, current.get(secret.name)!));
  const planEmpty = (grant?.empty ?? true) && secrets.every((s) => s.action === "unchanged");

  let grantResult: GrantResult | undefined;
  let outcomes: Map<string, SecretOutcome> | undefined;
  if (!request.dryRun && !planEmpty) {
    if (grant && !grant.empty) grantResult = await applyGrant(clients, vault, grant);
    outcomes = await applySecrets(clients, vault, secrets);
  }
  const changed =
    grantResult?.outcome === "created" ||
    grantResult?.outcome === "updated" ||
    [...(outcomes?.values() ?? [])].some((o) => o !== "unchanged");

  publishReport(
    keyVaultReport({
      vault,
      ...(grant && principal ? { grant, principal } : {}),
      ...(grantResult ? { grantResult } : {}),
      secrets,
      ...(outcomes ? { outcomes } : {}),
      nameChanges: request.nameChanges,
      notes,
      warnings,
      outcome: changed ? "changed" : request.dryRun && !planEmpty ? "dryRun" : "unchanged",
    }),
  );
  setOutputs({
    vaultUri: vault.vaultUri,
    secretNames: request.secrets.map((s) => s.name).join(","),
    changed: String(changed),
  });
});
