import { ArmError, header, jsonBody } from "../http";
import type { Reply, RequestContext, Route } from "../http";
import { decodeJwt, lifetimeProblem, verifySignature } from "../jwt";
import { API_SERVER_HOST } from "../api-server";
import { aadProfileOf, AKS_RBAC_ROLES, AKS_SERVER_APP_ID, dataActionFor, kubeconfigFor, roleAllows } from "../resources/cluster-access";
import { MANAGED_CLUSTER_TYPE, managedClusterId } from "../resources/managed-cluster";
import type { ArmResource } from "../store";
import type { ArmEnv } from "./arm-common";
import { requireResourceGroup, resourceNotFound } from "./arm-common";

const BASE =
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}";

/**
 * "Getting static credential isn't allowed because this cluster is set to disable local accounts."
 * — 400 BadRequest to `az aks get-credentials --admin` (AKS docs local-accounts.md; the same with
 * code BadRequest in terraform-provider-azurerm#15489 and Azure/caf-terraform-landingzones#416).
 */
function staticCredentialRefused(): ArmError {
  return new ArmError(400, "BadRequest", "Getting static credential isn't allowed because this cluster is set to disable local accounts.");
}

/**
 * A cluster's credentials (ManagedClusters_ListClusterUserCredentials / ListClusterAdminCredentials,
 * POST, answered 200 with CredentialResults `{kubeconfigs: [{name, value}]}`, value the base64
 * kubeconfig: azure-rest-api-specs containerservice/…/aks/stable/2026-04-01/managedClusters.json)
 * and its API server's SelfSubjectAccessReview.
 */
export function clusterAccessRoutes(env: ArmEnv & { caPem: string }): Route[] {
  const { store } = env;
  const requireCluster = (ctx: RequestContext): { cluster: ArmResource; group: string } => {
    const group = requireResourceGroup(env, ctx);
    const name = ctx.params["resourceName"] ?? "";
    const cluster = store.get(managedClusterId(store.subscriptionId, group.name, name));
    if (!cluster) throw resourceNotFound("Microsoft.ContainerService/managedClusters", name, group.name);
    return { cluster, group: group.name };
  };
  const credentials = (ctx: RequestContext, user: "clusterUser" | "clusterAdmin"): Reply => {
    const { cluster, group } = requireCluster(ctx);
    const localAccountsOff = cluster.properties?.["disableLocalAccounts"] === true;
    // The admin credential is always static; the user credential is static unless Entra ID signs users in.
    if (localAccountsOff && (user === "clusterAdmin" || aadProfileOf(cluster)?.managed !== true)) throw staticCredentialRefused();
    const value = Buffer.from(kubeconfigFor(cluster, { caPem: env.caPem, user, resourceGroup: group })).toString("base64");
    return { status: 200, body: { kubeconfigs: [{ name: user, value }] } };
  };
  return [
    { method: "POST", path: `${BASE}/listClusterUserCredential`, auth: "arm", handler: (ctx) => credentials(ctx, "clusterUser") },
    { method: "POST", path: `${BASE}/listClusterAdminCredential`, auth: "arm", handler: (ctx) => credentials(ctx, "clusterAdmin") },
    {
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      host: API_SERVER_HOST,
      auth: "none",
      logBody: (ctx) => jsonBody(ctx),
      handler: (ctx) => selfSubjectAccessReview(env, ctx),
    },
  ];
}

function status(code: number, reason: string, message: string): Reply {
  return { status: code, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code } };
}

/**
 * The API server's answer to a SelfSubjectAccessReview from a bearer token. With AKS-managed Entra ID
 * it accepts Entra access tokens of the cluster's tenant issued for the AKS server app (AKS docs
 * kubelogin-authentication.md); anything else is 401 as for an anonymous caller. With Azure RBAC on,
 * the AKS authorization webhook decides from the caller's role assignments in effect at the cluster
 * or namespace scope, and denies with guard's verdict "User does not have access to the resource in
 * Azure. Update role assignment to allow access." (kubeguard/guard checkaccessreqhelper.go). Without
 * it, Kubernetes RBAC alone decides, and the local API server holds no bindings for Entra principals.
 * A new assignment takes effect only once its propagation has been observed (ResourceStore).
 */
function selfSubjectAccessReview(env: ArmEnv, ctx: RequestContext): Reply {
  const { store } = env;
  const cluster = store
    .listByType(MANAGED_CLUSTER_TYPE)
    .find((c) => String(c.properties?.["fqdn"] ?? "").toLowerCase() === ctx.host.toLowerCase());
  if (!cluster) return status(404, "NotFound", "the server could not find the requested resource");
  const aad = aadProfileOf(cluster);
  const bearer = /^Bearer\s+(\S+)$/i.exec(header(ctx, "authorization") ?? "")?.[1];
  let caller: string | undefined;
  if (bearer && aad?.managed === true) {
    try {
      const jwt = decodeJwt(bearer);
      const claims = jwt.claims;
      const valid =
        jwt.header.kid === store.directory.tokenKey.kid &&
        verifySignature(jwt, store.directory.tokenKey.publicKey) &&
        !lifetimeProblem(claims, undefined, 0) &&
        [AKS_SERVER_APP_ID, `spn:${AKS_SERVER_APP_ID}`].includes(String(claims["aud"])) &&
        String(claims["tid"]).toLowerCase() === String(aad.tenantID ?? store.tenantId).toLowerCase();
      if (valid && typeof claims["oid"] === "string") caller = claims["oid"];
    } catch {
      caller = undefined;
    }
  }
  if (!caller) return status(401, "Unauthorized", "Unauthorized");

  const body = jsonBody(ctx) as { spec?: { resourceAttributes?: Record<string, string> } } | undefined;
  const attributes = body?.spec?.resourceAttributes;
  if (!attributes)
    return status(422, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io is invalid: spec.resourceAttributes: Required value");
  const answer = (allowed: boolean, reason: string, denied = false): Reply => ({
    status: 201,
    body: {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: attributes },
      status: { allowed, ...(denied ? { denied } : {}), ...(reason ? { reason } : {}) },
    },
  });
  if (aad?.enableAzureRBAC !== true) return answer(false, "");
  const action = dataActionFor(attributes);
  const scope = attributes["namespace"] ? `${cluster.id}/namespaces/${attributes["namespace"]}` : cluster.id;
  const granted = action ? store.effectiveRoleAssignments(caller, scope).find((a) => roleAllows(a.roleGuid, action)) : undefined;
  if (granted) {
    return answer(
      true,
      `Access allowed by Azure RBAC Role Assignment ${granted.id.split("/").pop()} of Role ${AKS_RBAC_ROLES[granted.roleGuid]?.name} to user ${caller}`,
    );
  }
  return answer(false, "User does not have access to the resource in Azure. Update role assignment to allow access.", true);
}
