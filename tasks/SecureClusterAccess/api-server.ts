import {
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
} from "@azure/core-rest-pipeline";
import { listClusterUserCredentials } from "@azure/arm-containerservice/api/managedClusters";
import { apiServerHostProblem } from "../../core/api-server-host";
import { pipelineOptions, readTogether, type AzureClients } from "../../core/azure";
import { clusterClient, describeCluster, type ClusterRef } from "../../core/cluster";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import { firstPauseMs, formatDuration, WaitBudget } from "../../core/wait-budget";
import { ROLE_ASSIGNMENT_WAIT_VARIABLE, type ClusterRole } from "./inputs";

/**
 * The AKS Microsoft Entra server application: the API server of a cluster with AKS-managed Entra ID
 * accepts access tokens issued for it; its ID is the same in all clouds (AKS docs
 * kubelogin-authentication.md, "AKS Microsoft Entra server application ID").
 */
export const AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";

/** What the pipeline should be able to do with a grant, asked of the API server as a SelfSubjectAccessReview. */
export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  /** e.g. "create deployments in namespace 'todo'". */
  description: string;
}

/**
 * One request each role allows and the role below it does not (AKS docs, built-in roles): Reader
 * lists pods, Writer creates deployments, Admin creates role bindings, Cluster Admin creates
 * namespaces (or, within a namespace, resource quotas, which Admin may not write).
 */
export function accessCheckFor(role: ClusterRole, namespace: string | undefined): AccessCheck {
  const where = namespace ? ` in namespace '${namespace}'` : " across the cluster";
  const check = (verb: string, group: string, resource: string): AccessCheck => ({
    verb,
    group,
    resource,
    ...(namespace ? { namespace } : {}),
    description: `${verb} ${resource}${where}`,
  });
  switch (role) {
    case "reader":
      return check("list", "", "pods");
    case "writer":
      return check("create", "apps", "deployments");
    case "admin":
      return check("create", "rbac.authorization.k8s.io", "rolebindings");
    case "clusterAdmin":
      return namespace ? check("create", "", "resourcequotas") : { ...check("create", "", "namespaces"), description: "create namespaces" };
  }
}

export type AccessProof =
  | { outcome: "proved"; check: AccessCheck; reviews: number; waitedMs: number }
  | { outcome: "unverifiable"; check: AccessCheck; why: string }
  /** The wait ran out with the API server still refusing: the task fails with `message`, after its summary. */
  | { outcome: "notInEffect"; check: AccessCheck; message: string };

/**
 * Proves that the pipeline's own principal may do `check` on the cluster's API server: asks the API
 * server, signed in with an Entra token for the AKS server app, with a SelfSubjectAccessReview
 * (`kubectl auth can-i`), until it answers allowed. A new role assignment takes effect late, so a
 * denial is asked again after a pause, for at most `waitMs`; then the answer says why the task must
 * fail, naming the pipeline variable that tunes the wait. The API server's certificate is checked against the cluster's CA, read
 * from its user credential (`listClusterUserCredential`), as kubectl does: the token goes nowhere else.
 * When the API server cannot be asked from this agent (no permission to read the credential, a
 * private cluster, a firewall), the proof is given up and the reason returned.
 */
export async function proveAccess(
  clients: AzureClients,
  ref: ClusterRef,
  fqdn: string | undefined,
  check: AccessCheck,
  waitMs: number,
): Promise<AccessProof> {
  const unverifiable = (why: string): AccessProof => ({ outcome: "unverifiable", check, why });
  if (!fqdn)
    return unverifiable(`${describeCluster(ref)} reports no public API server name (a private cluster is reached only from its network)`);
  // Text from Azure: only an API server host of the connection's cloud is asked (core/api-server-host.ts).
  const hostProblem = apiServerHostProblem(fqdn, clients.connection.environment);
  if (hostProblem) return unverifiable(`${describeCluster(ref)} ${hostProblem}, so the task does not connect to it`);
  let endpoint: { ca: string; token: string };
  try {
    const [ca, token] = await readTogether([clusterCa(clients, ref, fqdn), serverAppToken(clients)]);
    endpoint = { ca, token };
  } catch (error) {
    if (error instanceof Unverifiable) return unverifiable(error.message);
    throw error;
  }
  const api = apiServerPipeline(`https://${fqdn}`, clients.connection.requestTimeoutMs, endpoint.ca);
  const budget = new WaitBudget(waitMs);
  const pauseMs = firstPauseMs(Math.min(15_000, Math.max(200, Math.round(waitMs / 20))));
  let waitedMs = 0;
  for (let reviews = 1; ; reviews++) {
    const answer = await review(api, fqdn, endpoint.token, check);
    if ("unreachable" in answer) return unverifiable(answer.unreachable);
    if (answer.allowed) {
      console.log(
        reviews === 1
          ? `The API server ${fqdn} allows the service connection to ${check.description}.`
          : `The API server ${fqdn} allows the service connection to ${check.description} after ${formatDuration(waitedMs)} (${reviews} reviews).`,
      );
      return { outcome: "proved", check, reviews, waitedMs };
    }
    if (!budget.allows(pauseMs)) {
      return {
        outcome: "notInEffect",
        check,
        message:
          `The service connection's role assignment on ${describeCluster(ref)} has not taken effect: after ${formatDuration(waitedMs)} (${reviews} reviews) the API server ${fqdn} still does not allow it to ${check.description} (${answer.denial}). ` +
          `AKS applies new role assignments within about five minutes, and the API server keeps a denial for up to five more: re-run the task later, or raise the pipeline variable ${ROLE_ASSIGNMENT_WAIT_VARIABLE}. The deploy steps after this one fail until it does.`,
      };
    }
    if (reviews === 1) {
      console.log(
        `The API server ${fqdn} does not allow the service connection to ${check.description} yet (${answer.denial}); new role assignments take a few minutes to take effect. Asking again every ${formatDuration(pauseMs)}.`,
      );
    }
    await budget.wait(pauseMs);
    waitedMs += pauseMs;
  }
}

class Unverifiable extends Error {}

/** The cluster's CA (PEM), from the certificate-authority-data of its user kubeconfig, whose server must be the cluster's API server. */
async function clusterCa(clients: AzureClients, ref: ClusterRef, fqdn: string): Promise<string> {
  let kubeconfig: string;
  try {
    const result = await listClusterUserCredentials(clusterClient(clients), ref.resourceGroupName, ref.clusterName);
    const value = result.kubeconfigs?.[0]?.value;
    if (!value) throw new Unverifiable(`AKS returned no user credential for ${describeCluster(ref)}`);
    kubeconfig = Buffer.from(value).toString("utf8");
  } catch (error) {
    if (error instanceof Unverifiable) throw error;
    const { status } = azureErrorDetails(error);
    if (status === 403 || status === 400) {
      throw new Unverifiable(
        describeFailure(error, {
          action: `read the user credential of ${describeCluster(ref)} (it holds the API server's CA)`,
          permission: "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        }),
      );
    }
    throw new TaskError(describeFailure(error, { action: `read the user credential of ${describeCluster(ref)}` }));
  }
  const server = /^\s*server:\s*(\S+)\s*$/m.exec(kubeconfig)?.[1];
  const caData = /^\s*certificate-authority-data:\s*([A-Za-z0-9+/=]+)\s*$/m.exec(kubeconfig)?.[1];
  let host: string | undefined;
  try {
    host = server ? new URL(server).hostname.toLowerCase() : undefined;
  } catch {
    host = undefined;
  }
  if (host !== fqdn.toLowerCase())
    throw new Unverifiable(`the user credential of ${describeCluster(ref)} names another API server than ${fqdn}`);
  const ca = caData ? Buffer.from(caData, "base64").toString("utf8") : "";
  if (!/^-----BEGIN CERTIFICATE-----/m.test(ca))
    throw new Unverifiable(`the user credential of ${describeCluster(ref)} holds no CA certificate`);
  return ca;
}

async function serverAppToken(clients: AzureClients): Promise<string> {
  try {
    const token = await clients.credential.getToken(`${AKS_SERVER_APP_ID}/.default`, { tenantId: clients.connection.tenantId });
    if (!token) throw new Error("no token was returned");
    return token.token;
  } catch (error) {
    throw new Unverifiable(
      `the service connection could not get a token for the AKS server app ${AKS_SERVER_APP_ID}: ${describeFailure(error)}`,
    );
  }
}

interface ApiServerClient {
  pipeline: Pipeline;
  httpClient: HttpClient;
}

/** A pipeline to the API server: the agent's proxy, a short retry, the per-try timeout, and only the cluster's CA trusted. */
function apiServerPipeline(url: string, requestTimeoutMs: number, ca: string): ApiServerClient {
  const { additionalPolicies, ...settings } = pipelineOptions(url, requestTimeoutMs);
  const pipeline = createPipelineFromOptions({ ...settings, retryOptions: { maxRetries: 2, retryDelayInMs: 500 }, tlsOptions: { ca } });
  for (const { policy } of additionalPolicies) pipeline.addPolicy(policy, { afterPhase: "Retry" });
  return { pipeline, httpClient: createDefaultHttpClient() };
}

type ReviewAnswer = { allowed: true } | { allowed: false; denial: string } | { unreachable: string };

/** One SelfSubjectAccessReview (POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews). */
async function review(api: ApiServerClient, fqdn: string, token: string, check: AccessCheck): Promise<ReviewAnswer> {
  const request = createPipelineRequest({
    url: `https://${fqdn}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`,
    method: "POST",
    headers: createHttpHeaders({ authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" }),
    body: JSON.stringify({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          ...(check.namespace ? { namespace: check.namespace } : {}),
          verb: check.verb,
          group: check.group,
          resource: check.resource,
        },
      },
    }),
  });
  let status: number;
  let body: string;
  try {
    const response = await api.pipeline.sendRequest(api.httpClient, request);
    status = response.status;
    body = response.bodyAsText ?? "";
  } catch (error) {
    return { unreachable: `the API server ${fqdn} did not answer this agent (${describeFailure(error)})` };
  }
  // Until Entra sign-in or the grant is in force the API server answers 401/403: not yet.
  if (status === 401) return { allowed: false, denial: "HTTP 401: the API server does not accept the Entra token yet" };
  if (status === 403) return { allowed: false, denial: "HTTP 403: the review itself was forbidden" };
  if (status !== 201 && status !== 200) return { unreachable: `the API server ${fqdn} answered the review with HTTP ${status}` };
  let answer: { status?: { allowed?: unknown; reason?: unknown } };
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    return { unreachable: `the API server ${fqdn} answered the review with something that is not JSON` };
  }
  if (answer.status?.allowed === true) return { allowed: true };
  // Text from the API server: only a plain, short sentence is repeated.
  const reason = typeof answer.status?.reason === "string" ? answer.status.reason.replace(/[^\w .,'()-]/g, "").slice(0, 200) : "";
  return { allowed: false, denial: reason ? `denied: ${reason}` : "not allowed" };
}
