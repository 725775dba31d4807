/**
 * The deploy job's stock steps in the demo (KubeloginInstaller@0, then AzureCLI@2 with the deploy
 * script of scripts/demo-pipeline.ts). The demo runs no az, kubelogin or kubectl; the AzureCLI@2
 * step makes, as the service connection, the requests its commands would make, so that what it shows
 * is Azure's answer and not ours:
 *
 *   az aks get-credentials                     POST listClusterUserCredential: the API server and its CA
 *   kubelogin convert-kubeconfig -l azurecli   an Entra token for the AKS server app, from the step's sign-in
 *   kubectl auth can-i … / kubectl apply       SelfSubjectAccessReviews through the API server, which the
 *                                              agent reaches only while the authorized ranges in force admit it
 *
 * and `az aks get-credentials --admin`, which local accounts off refuse. The step fails when the API
 * server does not admit the agent or does not allow what the script does.
 */
import type { Fixture } from "../test/harness/fixture";
import { DeploySignIn } from "../test/harness/deploy-sign-in";
import { apiServerAdmitsAgent, DEMO_AGENT_IP, hardeningPipeline, type PipelineStep } from "./demo-pipeline";
import type { ExternalResult } from "./pipeline-runner";

/** What the deploy script asks the API server before it writes (its `kubectl auth can-i` and the service account it applies). */
function attributesChecked(namespace: string): { command: string; attributes: Record<string, string> }[] {
  return [
    {
      command: `kubectl auth can-i create deployments --namespace ${namespace}`,
      attributes: { namespace, verb: "create", group: "apps", resource: "deployments" },
    },
    {
      command: `kubectl create serviceaccount … --namespace ${namespace} | kubectl apply -f -`,
      attributes: { namespace, verb: "create", group: "", resource: "serviceaccounts" },
    },
  ];
}

export interface DeployOutcome extends ExternalResult {
  /** Whether the API server answered the agent (its authorized ranges in force admit it). */
  admitted: boolean;
  /** The SelfSubjectAccessReviews' verdicts, in the order above. */
  allowed: boolean[];
  /** The status `az aks get-credentials --admin` got. */
  adminCredentialStatus: number;
}

export async function runDeployStep(fx: Fixture, step: PipelineStep, inputs: Record<string, string>): Promise<DeployOutcome> {
  if (step.task === "KubeloginInstaller@0") {
    return {
      succeeded: true,
      admitted: false,
      allowed: [],
      adminCredentialStatus: 0,
      lines: [`${step.task} would install kubelogin ${inputs["kubeloginVersion"] ?? "latest"} from its GitHub releases (not in the demo).`],
    };
  }
  const v = hardeningPipeline.variables;
  const cluster = fx.azure.store.getManagedCluster(v.resourceGroup!, v.clusterName!)!;
  const ranges =
    (cluster.properties?.["apiServerAccessProfile"] as { authorizedIPRanges?: string[] } | undefined)?.authorizedIPRanges ?? [];
  const script = (inputs["inlineScript"] ?? "")
    .trimEnd()
    .split("\n")
    .map((line) => `  $ ${line}`);
  const lines = [`${step.task} runs this script (the demo makes its Azure and API server requests as the service connection):`, ...script];
  // Not just listed: in force, so kubectl would connect (a blocked connection would never be answered).
  const admitted = apiServerAdmitsAgent(fx.azure);
  if (!admitted) {
    lines.push(`The API server does NOT admit this agent (${DEMO_AGENT_IP}): authorized ranges ${ranges.join(", ") || "(none)"}`);
    return { succeeded: false, admitted, allowed: [], adminCredentialStatus: 0, lines };
  }
  lines.push(`The API server admits this agent now: authorized ranges ${ranges.join(", ") || "(none: every address)"}`);
  const signIn = new DeploySignIn(fx);
  const kubeconfig = await signIn.userKubeconfig(cluster.id);
  lines.push(`az aks get-credentials → the user kubeconfig for https://${kubeconfig.server} (kubelogin signs kubectl in with Entra ID)`);
  const allowed: boolean[] = [];
  for (const check of attributesChecked(v.appNamespace!)) {
    const review = await signIn.canI(kubeconfig, check.attributes);
    const status = (review.json as { status?: { allowed?: boolean; reason?: string } } | undefined)?.status;
    allowed.push(review.status === 201 && status?.allowed === true);
    lines.push(
      `${check.command} → ${review.status === 201 ? (status?.allowed ? "yes" : "no") : `HTTP ${review.status}`}${status?.reason ? ` (${status.reason})` : ""}`,
    );
  }
  const admin = await signIn.arm("POST", `${cluster.id}/listClusterAdminCredential`);
  const refusal = (admin.json as { error?: { message?: string } } | undefined)?.error?.message;
  lines.push(
    `az aks get-credentials --admin → ${admin.status === 200 ? "200: the cluster-admin certificate, which bypasses Entra ID" : `${admin.status}${refusal ? `: ${refusal}` : ""}`}`,
  );
  return { succeeded: allowed.every(Boolean), admitted, allowed, adminCredentialStatus: admin.status, lines };
}
