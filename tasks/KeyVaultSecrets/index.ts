import { AzureClients, readTogether } from "../../core/azure";
import { publishReport, setOutputs } from "../../core/report";
import { resolveGrantees } from "../../core/principals";
import { runTask } from "../../core/run";
import {
  applyGrant,
  applySecrets,
  prefetchKeyVaultToken,
  readGrant,
  readSecrets,
  readVault,
  type GrantResult,
  type SecretOutcome,
} from "./apply";
import { readRequest } from "./inputs";
import { planSecret, type GrantPlan } from "./plan";
import { keyVaultReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);
  if (request.secrets.length > 0) prefetchKeyVaultToken(clients);
  // The vault and the grantee are independent reads: one round trip for both.
  const [vault, principal] = await readTogether([
    readVault(clients, request),
    request.grantTo ? resolveGrantees(clients, [request.grantTo]).then(([grantee]) => grantee!) : undefined,
  ]);
  const notes: string[] = [];
  const warnings: string[] = [];

  if (principal?.note) notes.push(`grantTo ${principal.note}`);
  if (principal && vault.model === "rbac" && request.secretPermissions.some((p) => !["get", "list"].includes(p))) {
    warnings.push(
      `The vault uses Azure RBAC, where secretPermissions do not apply: the task assigns Key Vault Secrets User (get and list). Assign a broader role yourself if ${request.secretPermissions.join(",")} is really needed.`,
    );
  }
  // The grant (a role assignment read on RBAC vaults) and the secrets: again independent.
  const [grant, current]: [GrantPlan | undefined, Awaited<ReturnType<typeof readSecrets>>] = await readTogether([
    principal ? readGrant(clients, vault, principal, request.secretPermissions) : undefined,
    readSecrets(
      clients,
      vault,
      request.secrets.map((s) => s.name),
    ),
  ]);
  const secrets = request.secrets.map((secret) => planSecret(secret, current.get(secret.name)!));
  const planEmpty = (grant?.empty ?? true) && secrets.every((s) => s.action === "unchanged");

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
