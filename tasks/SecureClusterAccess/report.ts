import { describeCluster } from "../../core/cluster";
import { code, codeList, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import { describePrincipalKind, type RoleGrantResult } from "../../core/roles";
import type { AccessProof } from "./api-server";
import { SERVICE_CONNECTION, type SecureClusterAccessRequest } from "./inputs";
import type { AccessSettings, ClusterAccessPlan, EntraIntegration, PlannedGrant } from "./plan";

const ENTRA: Record<EntraIntegration, Text> = {
  none: remark("none (local accounts only)"),
  legacy: "legacy (own server and client apps)",
  managed: "AKS-managed",
};
const onOff = (on: boolean, off: Text = remark("off")): Text => (on ? "on" : off);

export interface AccessReportInput {
  request: SecureClusterAccessRequest;
  plan: ClusterAccessPlan;
  grants: readonly PlannedGrant[];
  grantResults: ReadonlyMap<PlannedGrant, RoleGrantResult>;
  proofs: readonly AccessProof[];
  outcome: Outcome;
  /** A serviceConnection grant that was in place before this run: its access was not asked again. */
  unprovedExisting: boolean;
}

/** The summary: each sign-in setting and grant before → after, what cannot be undone, and what was proved. */
export function accessReport(input: AccessReportInput): RunReport {
  const { plan, outcome } = input;
  const planned = outcome === "dryRun";
  const { before, after } = plan;
  const changes: RunReport["changes"] = [
    {
      setting: "Microsoft Entra ID sign-in",
      before: ENTRA[before.entra],
      after: before.entra === after.entra ? ENTRA[after.entra] : rich`${ENTRA[after.entra]} (irreversible)`,
    },
    { setting: "Entra admin groups", before: codeList(before.adminGroups), after: codeList(after.adminGroups) },
    { setting: "Azure RBAC for Kubernetes authorization", before: onOff(before.azureRbac), after: onOff(after.azureRbac) },
    {
      setting: "Local accounts",
      before: before.localAccountsDisabled ? "disabled" : "enabled",
      after: after.localAccountsDisabled ? "disabled" : "enabled",
    },
  ];
  const details: Text[] = [];
  for (const grant of input.grants) {
    const result = input.grantResults.get(grant);
    const where =
      grant.plan.existing && grant.plan.existing.scope.toLowerCase() !== grant.plan.grant.scope.toLowerCase() ? " (inherited)" : "";
    changes.push({
      setting: rich`${grant.plan.grant.role} for ${grant.principal.description} on ${code(grant.plan.grant.scope)}`,
      before: grant.plan.empty ? `assigned${where}` : remark("not assigned"),
      after: result?.outcome === "existed" ? "assigned (already, under another name)" : "assigned",
    });
    const recorded = result?.principalType ?? grant.plan.existing?.principalType;
    details.push(
      rich`${grant.request.principal.kind === "serviceConnection" ? `${SERVICE_CONNECTION}: ` : ""}${grant.principal.description}, a ${describePrincipalKind(grant.plan.grant.principalType, recorded, grant.principal.knownFrom)}`,
    );
  }
  for (const proof of input.proofs) {
    details.push(
      proof.outcome === "proved"
        ? rich`Proved: the API server allows the service connection to ${proof.check.description} (SelfSubjectAccessReview${proof.reviews > 1 ? `, allowed at review ${proof.reviews}` : ""}), so the deploy steps after this one can use its grant.`
        : proof.outcome === "notInEffect"
          ? rich`Not in effect yet: the API server does not allow the service connection to ${proof.check.description}.`
          : rich`Not proved: ${proof.why}. The grant exists; it takes effect within about five minutes.`,
    );
  }
  if (input.unprovedExisting) details.push("The service connection's grant was in place before this run; its access was not asked again.");
  if (after.localAccountsDisabled && !before.localAccountsDisabled) {
    details.push(
      rich`With local accounts off, ${code("az aks get-credentials --admin")} fails; kubectl signs in with kubelogin (${code("kubelogin convert-kubeconfig -l azurecli")} in an AzureCLI@2 step) and needs an AKS RBAC role or an admin group.`,
    );
  }
  const warnings: Text[] = plan.irreversible.map((sentence) =>
    planned ? `Irreversible if applied: ${sentence}` : `Irreversible: ${sentence}`,
  );
  return {
    title: `Secure cluster access: ${input.request.clusterName}`,
    target: describeCluster(input.request),
    outcome,
    changes,
    details,
    notes: input.grants.flatMap((g) => (g.principal.note ? [g.principal.note] : [])),
    warnings: plan.empty && !planned ? [] : warnings,
  };
}

/** The output variables' values: the settings after a write, or as they are (also on a dry run). */
export function accessOutputs(settings: AccessSettings, changed: boolean): Record<string, string> {
  return {
    entraId: String(settings.entra === "managed"),
    azureRbac: String(settings.azureRbac),
    localAccountsDisabled: String(settings.localAccountsDisabled),
    changed: String(changed),
  };
}
