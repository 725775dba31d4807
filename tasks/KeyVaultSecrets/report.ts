import { code, codeList, describeChange, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import { describePrincipalKind } from "../../core/roles";
import type { AgentEgress } from "../../core/job-scoped-access/egress";
import type { JobScopedPlan } from "../../core/job-scoped-access/plan";
import { jobScopedDetails } from "../../core/job-scoped-access/report";
import { describeVault } from "../../core/key-vault";
import type { ResolvedGrantee } from "../../core/principals";
import type { GrantResult, SecretOutcome } from "./apply";
import type { GrantPlan, SecretAction, SecretPlan, VaultState } from "./plan";
import { isPlainValue, MIN_REGISTERED_VALUE_LENGTH, type NameChange } from "./secrets";

/** The vault's permission model, as the portal names it. */
const MODEL_TEXT = {
  accessPolicies: "vault access policy",
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
  /** Job-scoped access to the vault's firewall, when includeAgentIp is set. */
  access?: { plan: JobScopedPlan; written: boolean; egress?: AgentEgress };
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
  const details: Text[] = [`Permission model: ${MODEL_TEXT[vault.model]}`, rich`Vault URI: ${code(vault.vaultUri)}`];
  if (grant?.kind === "accessPolicy") {
    changes.push({
      setting: `Access policy of ${grant.principalDescription}: secret permissions`,
      before: codeList(grant.before),
      after: codeList(grant.after),
    });
    details.push(
      `Grant: ${grant.empty ? "the access policy already had the permissions; nothing written" : describeChange(input.outcome === "dryRun", { done: "missing permissions added with accessPolicies/add", planned: "would add the missing permissions with accessPolicies/add" })}; other access policies untouched`,
    );
  } else if (grant?.kind === "role") {
    const has = grant.empty || input.grantResult?.outcome === "existed";
    changes.push({
      setting: `Role of ${grant.grant.principalDescription} on the vault`,
      before: grant.empty ? "Key Vault Secrets User" : remark("none"),
      after: "Key Vault Secrets User",
    });
    details.push(
      has
        ? "Grant: Key Vault Secrets User was already assigned; nothing written"
        : rich`Grant: ${describeChange(input.outcome === "dryRun", { done: "assigned", planned: "would assign" })} Key Vault Secrets User (assignment ${code(grant.assignmentName)})`,
    );
  }
  if (grant && input.principal) {
    const recorded = input.grantResult?.principalType ?? (grant.kind === "role" ? grant.existing?.principalType : undefined);
    const kind = describePrincipalKind(input.principal.principalType, recorded);
    const wouldGrant = input.outcome === "dryRun" && !grant.empty;
    details.push(
      `${describeChange(wouldGrant, { done: "Granted to", planned: "Would be granted to" })}: ${input.principal.description}; kind: ${kind}`,
    );
  }
  for (const plan of input.secrets) {
    const outcome = input.outcomes?.get(plan.secret.name);
    changes.push({
      setting: rich`Secret ${code(plan.secret.name)}`,
      before: plan.action === "create" ? remark("absent") : plan.action === "recover" ? remark("soft-deleted") : "exists",
      after:
        outcome ?? (input.outcome === "dryRun" ? PLANNED[plan.action] : plan.action === "unchanged" ? "unchanged" : PLANNED[plan.action]),
    });
  }
  for (const change of input.nameChanges) details.push(rich`Name mapped: ${code(change.from)} → ${code(change.to)}`);
  if (input.access) {
    const { plan } = input.access;
    details.push(
      ...jobScopedDetails(plan, { dryRun: input.outcome === "dryRun", ...(input.access.egress ? { egress: input.access.egress } : {}) }),
    );
    if (plan.added.length || plan.removed.length) {
      changes.push({ setting: "Firewall IP rules (for this job)", before: codeList(plan.before), after: codeList(plan.after) });
    }
  }
  const notes: Text[] = [...input.notes];
  const plain = input.secrets.filter((plan) => isPlainValue(plan.secret.value)).map((plan) => plan.secret.name);
  if (plain.length) {
    notes.push(
      rich`Not masked in the log: the value${plain.length === 1 ? "" : "s"} of ${codeList(plain)}, shorter than ${String(MIN_REGISTERED_VALUE_LENGTH)} characters (a flag, a letter, a number), ${plain.length === 1 ? "is" : "are"} written to Key Vault as given but not registered as secret${plain.length === 1 ? "" : "s"}: the agent masks a registered value everywhere in the job's log, and would hide every ${code("true")} or ${code("1")} of every later step. A value kept in a secret pipeline variable is masked by the agent whatever its length.`,
    );
  }
  return {
    title: `Key Vault secrets: ${vault.name}`,
    target: describeVault(vault),
    outcome: input.outcome,
    ...(input.outcome === "unchanged" && input.access?.written
      ? { headline: "Lasting configuration unchanged; job-scoped access only" }
      : {}),
    changes,
    details,
    notes,
    warnings: input.warnings,
  };
}
