import { code, codeList, type Outcome, type RunReport } from "../../core/report";
import { markdownText } from "../../core/markdown";
import { describePrincipalKind } from "../../core/roles";
import { describeVault, type GrantResult, type ResolvedGrantee, type SecretOutcome } from "./apply";
import type { GrantPlan, SecretAction, SecretPlan, VaultState } from "./plan";
import type { NameChange } from "./secrets";

const MODEL_TEXT = {
  accessPolicies: "access policies (vault access policy permission model)",
  rbac: "Azure RBAC (role assignments)",
};

const PLANNED: Record<SecretAction, string> = {
  create: "create",
  update: "update (new version)",
  unchanged: "unchanged",
  recover: "recover from soft delete, then update if the value differs",
};

export interface KeyVaultReportInput {
  vault: VaultState;
  grant?: GrantPlan;
  /** Who the grant is for, as the task resolved `grantTo`. */
  principal?: ResolvedGrantee;
  grantResult?: GrantResult;
  secrets: readonly SecretPlan[];
  outcomes?: ReadonlyMap<string, SecretOutcome>;
  nameChanges: readonly NameChange[];
  notes: string[];
  warnings: string[];
  outcome: Outcome;
}

/** The summary: permission model, the grant before → after, each secret by name (never a value). */
export function keyVaultReport(input: KeyVaultReportInput): RunReport {
  const { vault, grant } = input;
  const changes: RunReport["changes"] = [];
  const details = [`Permission model: ${MODEL_TEXT[vault.model]}`, `Vault URI: ${code(vault.vaultUri)}`];
  if (grant?.kind === "accessPolicy") {
    changes.push({
      setting: `Access policy of ${markdownText(grant.principalDescription)}: secret permissions`,
      before: codeList(grant.before),
      after: codeList(grant.after),
    });
    details.push(
      `Grant: ${grant.empty ? "the access policy already had the permissions; nothing written" : input.outcome === "dryRun" ? "would add the missing permissions with accessPolicies/add" : "missing permissions added with accessPolicies/add"}; other access policies untouched`,
    );
  } else if (grant?.kind === "role") {
    const has = grant.empty || input.grantResult?.outcome === "existed";
    changes.push({
      setting: `Role of ${markdownText(grant.grant.principalDescription)} on the vault`,
      before: grant.empty ? "Key Vault Secrets User" : "_none_",
      after: "Key Vault Secrets User",
    });
    details.push(
      `Grant: ${has ? "Key Vault Secrets User was already assigned; nothing written" : input.outcome === "dryRun" ? `would assign Key Vault Secrets User (assignment ${code(grant.assignmentName)})` : `Key Vault Secrets User assigned (assignment ${code(grant.assignmentName)})`}`,
    );
  }
  if (grant && input.principal) {
    const recorded = input.grantResult?.principalType ?? (grant.kind === "role" ? grant.existing?.principalType : undefined);
    const kind = describePrincipalKind(input.principal.principalType, recorded);
    details.push(`Granted to: ${markdownText(input.principal.description)}; kind: ${kind}`);
  }
  for (const plan of input.secrets) {
    const outcome = input.outcomes?.get(plan.secret.name);
    changes.push({
      setting: `Secret ${code(plan.secret.name)}`,
      before: plan.action === "create" ? "_absent_" : plan.action === "recover" ? "_soft-deleted_" : "exists",
      after:
        outcome ?? (input.outcome === "dryRun" ? PLANNED[plan.action] : plan.action === "unchanged" ? "unchanged" : PLANNED[plan.action]),
    });
  }
  for (const change of input.nameChanges) details.push(`Name mapped: ${code(change.from)} → ${code(change.to)}`);
  return {
    title: `Key Vault secrets: ${vault.name}`,
    target: `${describeVault(vault)} (${MODEL_TEXT[vault.model]})`,
    outcome: input.outcome,
    changes,
    details,
    notes: input.notes,
    warnings: input.warnings,
  };
}
