import { describeCluster } from "../../core/cluster";
import { code, remark, rich, type Block, type Outcome, type RunReport, type Text } from "../../core/report";
import type { UserAssignedIdentity } from "../../core/identity";
import { describePrincipalKind } from "../../core/roles";
import type { EnablePodIdentityRequest } from "./inputs";
import type { EnablePodIdentityPlan, PodIdentityEntry } from "./plan";
import { subjectFor, TOKEN_EXCHANGE_AUDIENCE } from "./plan";

const ON = "enabled";
const OFF = remark("off");

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
      setting: rich`Pod identity ${code(`${request.namespace}/${request.podIdentityName}`)}`,
      before: pod.entryAction === "add" ? remark("none") : entryCell(pod.replaced ?? pod.entry),
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
      setting: rich`Federated credential ${code(request.federatedCredentialName)}`,
      before: credential?.existing
        ? rich`${code(credential.existing.subject)} from ${code(credential.existing.issuer)}`
        : credential?.coveredBy
          ? rich`covered by ${code(credential.coveredBy)}`
          : credential?.action === "none"
            ? rich`${code(subject)} from ${code(credential.want.issuer)}`
            : remark("none"),
      after: credential?.coveredBy
        ? rich`covered by ${code(credential.coveredBy)}`
        : rich`${code(subject)} from ${workload.issuerUrl ? code(workload.issuerUrl) : remark("the issuer AKS assigns")}`,
    });
  }
  for (const grant of plan.grants) {
    const where = grant.existing && grant.existing.scope.toLowerCase() !== grant.grant.scope.toLowerCase() ? " (inherited)" : "";
    changes.push({
      setting: rich`${grant.grant.role} for ${grant.grant.principalDescription} on ${code(grant.grant.scope)}`,
      before: grant.empty ? `assigned${where}` : remark("not assigned"),
      after: "assigned",
    });
  }

  const details: Text[] = [
    rich`Mode: ${code(request.mode)}`,
    rich`Managed identity: ${code(identity.resourceId)}`,
    rich`Client ID: ${code(identity.clientId)}, principal (object) ID: ${code(identity.principalId)}`,
  ];
  for (const grant of plan.grants) {
    details.push(
      rich`${grant.grant.role} goes to ${grant.grant.principalDescription}, a ${describePrincipalKind(grant.grant.principalType)}`,
    );
  }
  if (request.mode === "podIdentity") details.push(rich`Binding selector: ${code(request.bindingSelector)}`);
  else
    details.push(
      rich`OIDC issuer: ${issuerUrl ? code(issuerUrl) : planned ? remark("assigned when the OIDC issuer is enabled") : remark("none")}`,
    );

  return {
    title: `Enable pod identity: ${request.clusterName}`,
    target: describeCluster(request),
    outcome,
    changes,
    details,
    notes: plan.notes,
    warnings: plan.warnings,
    sections: [{ heading: "Apply in Kubernetes", blocks: kubernetesSnippet(request, identity) }],
  };
}

function entryCell(entry: PodIdentityEntry): Text {
  const name = entry.identity.resourceId?.split("/").pop() ?? entry.identity.clientId ?? "?";
  return rich`${code(name)}, selector ${code(entry.bindingSelector || entry.name)}`;
}

/** What the pods need: the binding label (pod identity), or the service account annotation and pod label (Workload ID). */
export function kubernetesSnippet(request: EnablePodIdentityRequest, identity: UserAssignedIdentity): Block[] {
  if (request.mode === "podIdentity") {
    return [
      { paragraph: "Label the pods (in the Deployment's pod template) so the add-on gives them the identity:" },
      {
        language: "yaml",
        codeBlock: [
          "metadata:",
          `  namespace: ${request.namespace}`,
          "spec:",
          "  template:",
          "    metadata:",
          "      labels:",
          `        aadpodidbinding: ${request.bindingSelector}`,
        ],
      },
    ];
  }
  return [
    {
      paragraph: rich`Annotate the service account with the identity's client ID, and label the pods that run as it (token audience ${code(TOKEN_EXCHANGE_AUDIENCE)}):`,
    },
    {
      language: "yaml",
      codeBlock: [
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
      ],
    },
  ];
}
