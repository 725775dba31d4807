import { describeCluster } from "../../core/cluster";
import { code, type Outcome, type RunReport } from "../../core/report";
import { markdownText } from "../../core/markdown";
import type { UserAssignedIdentity } from "../../core/identity";
import { describePrincipalKind } from "../../core/roles";
import type { EnablePodIdentityRequest } from "./inputs";
import type { EnablePodIdentityPlan, PodIdentityEntry } from "./plan";
import { subjectFor, TOKEN_EXCHANGE_AUDIENCE } from "./plan";

const ON = "enabled";
const OFF = "_off_";

/** The summary: each setting and role before → after, the identity's IDs, and what to apply in Kubernetes. */
export function podIdentityReport(
  request: EnablePodIdentityRequest,
  identity: UserAssignedIdentity,
  plan: EnablePodIdentityPlan,
  outcome: Outcome,
  issuerUrl: string | undefined,
): RunReport {
  const changes: RunReport["changes"] = [];
  const planned = outcome === "dryRun";
  const pod = plan.podIdentity;
  if (pod) {
    changes.push({ setting: "Pod-identity add-on", before: pod.enableAddon ? OFF : ON, after: ON });
    if (pod.setKubenetConsent) changes.push({ setting: "Add-on on kubenet (allowNetworkPluginKubenet)", before: OFF, after: "allowed" });
    changes.push({
      setting: `Pod identity ${code(`${request.namespace}/${request.podIdentityName}`)}`,
      before: pod.entryAction === "add" ? "_none_" : entryCell(pod.replaced ?? pod.entry),
      after: entryCell(pod.entry),
    });
  }
  const workload = plan.workload;
  if (workload) {
    changes.push({ setting: "OIDC issuer", before: workload.enableOidcIssuer ? OFF : ON, after: ON });
    changes.push({ setting: "Workload identity", before: workload.enableWorkloadIdentity ? OFF : ON, after: ON });
    const credential = plan.credential;
    const subject = subjectFor(request.namespace, request.serviceAccountName);
    changes.push({
      setting: `Federated credential ${code(request.federatedCredentialName)}`,
      before: credential?.existing
        ? `${code(credential.existing.subject)} from ${code(credential.existing.issuer)}`
        : credential?.coveredBy
          ? `covered by ${code(credential.coveredBy)}`
          : credential?.action === "none"
            ? `${code(subject)} from ${code(credential.want.issuer)}`
            : "_none_",
      after: credential?.coveredBy
        ? `covered by ${code(credential.coveredBy)}`
        : `${code(subject)} from ${workload.issuerUrl ? code(workload.issuerUrl) : "_the issuer AKS assigns_"}`,
    });
  }
  for (const grant of plan.grants) {
    const where = grant.existing && grant.existing.scope.toLowerCase() !== grant.grant.scope.toLowerCase() ? " (inherited)" : "";
    changes.push({
      setting: `${grant.grant.role} for ${markdownText(grant.grant.principalDescription)} on ${code(grant.grant.scope)}`,
      before: grant.empty ? `assigned${where}` : "_not assigned_",
      after: "assigned",
    });
  }

  const details = [
    `Mode: ${code(request.mode)}`,
    `Managed identity: ${code(identity.resourceId)}`,
    `Client ID: ${code(identity.clientId)}, principal (object) ID: ${code(identity.principalId)}`,
  ];
  for (const grant of plan.grants) {
    details.push(
      `${grant.grant.role} goes to ${markdownText(grant.grant.principalDescription)}, a ${describePrincipalKind(grant.grant.principalType)}`,
    );
  }
  if (request.mode === "podIdentity") details.push(`Binding selector: ${code(request.bindingSelector)}`);
  else details.push(`OIDC issuer: ${issuerUrl ? code(issuerUrl) : planned ? "_assigned when the OIDC issuer is enabled_" : "_none_"}`);

  return {
    title: `Enable pod identity: ${request.clusterName}`,
    target: describeCluster(request),
    outcome,
    changes,
    details,
    notes: plan.notes,
    warnings: plan.warnings,
    sections: [{ heading: "Apply in Kubernetes", markdown: kubernetesSnippet(request, identity) }],
  };
}

function entryCell(entry: PodIdentityEntry): string {
  const name = entry.identity.resourceId?.split("/").pop() ?? entry.identity.clientId ?? "?";
  return `${code(name)}, selector ${code(entry.bindingSelector || entry.name)}`;
}

/** What the pods need: the binding label (pod identity), or the service account annotation and pod label (Workload ID). */
export function kubernetesSnippet(request: EnablePodIdentityRequest, identity: UserAssignedIdentity): string {
  if (request.mode === "podIdentity") {
    return [
      "Label the pods (in the Deployment's pod template) so the add-on gives them the identity:",
      "",
      "```yaml",
      "metadata:",
      `  namespace: ${request.namespace}`,
      "spec:",
      "  template:",
      "    metadata:",
      "      labels:",
      `        aadpodidbinding: ${request.bindingSelector}`,
      "```",
    ].join("\n");
  }
  return [
    `Annotate the service account with the identity's client ID, and label the pods that run as it (token audience ${code(TOKEN_EXCHANGE_AUDIENCE)}):`,
    "",
    "```yaml",
    "apiVersion: v1",
    "kind: ServiceAccount",
    "metadata:",
    `  name: ${request.serviceAccountName}`,
    `  namespace: ${request.namespace}`,
    "  annotations:",
    `    azure.workload.identity/client-id: "${identity.clientId}"`,
    "---",
    "# in the Deployment:",
    "spec:",
    "  template:",
    "    metadata:",
    "      labels:",
    '        azure.workload.identity/use: "true"',
    "    spec:",
    `      serviceAccountName: ${request.serviceAccountName}`,
    "```",
  ].join("\n");
}
