import { randomBytes } from "node:crypto";
import { ArmError } from "../http";
import type { ArmResource } from "./arm-resource";
import { isPlainObject } from "./merge";

/**
 * Who may sign in to a managed cluster's API server and what they may do there: the cluster's
 * `aadProfile`, `enableRBAC` and `disableLocalAccounts`, its credentials, and the AKS RBAC roles.
 */

/**
 * The AKS Microsoft Entra server application: an access token for the API server of a cluster with
 * AKS-managed Entra ID must be issued for it. "These application IDs are the same in all
 * environments" (AKS docs kubelogin-authentication.md, "AKS Microsoft Entra server application ID").
 */
export const AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";

export interface AadProfileShape {
  managed?: boolean;
  enableAzureRBAC?: boolean;
  adminGroupObjectIDs?: string[] | null;
  clientAppID?: string | null;
  serverAppID?: string | null;
  serverAppSecret?: string | null;
  tenantID?: string | null;
}

export function aadProfileOf(cluster: ArmResource | undefined): AadProfileShape | undefined {
  const profile = cluster?.properties?.["aadProfile"];
  return isPlainObject(profile) ? (profile as AadProfileShape) : undefined;
}

/**
 * What AKS stores of a PUT's aadProfile. AKS-managed Entra ID has no apps of its own: migrating a
 * legacy integration (`az aks update --enable-aad`, which sends `{managed: true}` plus the admin
 * groups and tenant) answers `clientAppId`, `serverAppId`, `serverAppSecret` null and the tenant set
 * (AKS docs entra-id-control-plane-authentication.md, "Migrate legacy cluster to integration": the
 * response body shown there). The legacy server app secret is write-only: never answered. A PUT
 * without an aadProfile keeps the cluster's: `az aks scale` once sent none and the cluster stayed
 * integrated (azure-cli#12814, where only an Azure Policy on the field noticed).
 */
export function composeAadProfile(properties: Record<string, unknown>, currentProperties: Record<string, unknown>, tenantId: string): void {
  if (properties["aadProfile"] === undefined || properties["aadProfile"] === null) {
    if (isPlainObject(currentProperties["aadProfile"])) properties["aadProfile"] = structuredClone(currentProperties["aadProfile"]);
    return;
  }
  const profile = properties["aadProfile"];
  if (!isPlainObject(profile)) return;
  const aad = profile as AadProfileShape;
  if (aad.managed === true) {
    aad.clientAppID = null;
    aad.serverAppID = null;
    aad.tenantID = aad.tenantID || tenantId;
  }
  delete aad.serverAppSecret;
}

/**
 * What AKS refuses about sign-in and authorization in a cluster PUT:
 * - Kubernetes RBAC is fixed at creation (Azure/terraform-azurerm-aks#611, "Unable to enable the RBAC
 *   on the cluster after creation"; the scorecard's fix says the same).
 * - "Clusters without Kubernetes RBAC enabled aren't supported with AKS-managed Microsoft Entra
 *   integration" and "AKS-managed Microsoft Entra integration can't be disabled" (AKS docs
 *   managed-azure-ad, Limitations; https://docs.azure.cn/en-us/aks/managed-azure-ad). The wording
 *   "Changing property 'aadProfile.managed' is not allowed" is AKS's own (Azure/AKS#1519).
 * - Azure RBAC for Kubernetes authorization needs AKS-managed Entra ID first (AKS docs
 *   entra-id-authorization.md, Prerequisites).
 * The codes and the wording of the other refusals are not published: assumed, in the same form.
 * AKS does not refuse `disableLocalAccounts` without Entra ID: such a cluster accepts no credential at
 * all ("On clusters without Microsoft Entra integration enabled and properties.disableLocalAccounts
 * set to true, any attempt to authenticate with user or admin credentials will fail", AKS docs
 * local-accounts.md; terraform-provider-azurerm#15489 shows the create succeeding).
 */
export function validateClusterAccess(cluster: ArmResource, current: ArmResource | undefined): void {
  const properties = cluster.properties ?? {};
  const rbac = properties["enableRBAC"];
  const currentRbac = current?.properties?.["enableRBAC"];
  if (current && typeof currentRbac === "boolean" && typeof rbac === "boolean" && rbac !== currentRbac) {
    throw new ArmError(400, "PropertyChangeNotAllowed", "Changing property 'enableRBAC' is not allowed.");
  }
  const aad = aadProfileOf(cluster);
  if (aadProfileOf(current)?.managed === true && aad?.managed !== true) {
    throw new ArmError(400, "PropertyChangeNotAllowed", "Changing property 'aadProfile.managed' is not allowed.");
  }
  if (aad?.managed === true && rbac === false) {
    throw new ArmError(
      400,
      "BadRequest",
      "AKS-managed Microsoft Entra integration is not supported on a cluster without Kubernetes RBAC (enableRBAC is false).",
    );
  }
  if (aad?.enableAzureRBAC === true && aad.managed !== true) {
    throw new ArmError(
      400,
      "BadRequest",
      "Azure RBAC for Kubernetes authorization requires AKS-managed Microsoft Entra integration (aadProfile.managed).",
    );
  }
}

/**
 * The kubeconfig AKS returns in a CredentialResult (base64 in `kubeconfigs[].value`, spec example
 * ManagedClustersListClusterUserCredentials). The cluster's CA is the local Azure's certificate,
 * which the API server endpoints present. With AKS-managed Entra ID the user kubeconfig signs in
 * with the kubelogin exec plugin (`--server-id` the AKS server app; AKS docs kubelogin-authentication.md:
 * clusters on 1.24 or later use the exec format); otherwise it holds a client certificate (modelled
 * by a random placeholder, never a usable credential).
 */
export function kubeconfigFor(
  cluster: ArmResource,
  p: { caPem: string; user: "clusterUser" | "clusterAdmin"; resourceGroup: string },
): string {
  const fqdn = String(cluster.properties?.["fqdn"] ?? "");
  const name = cluster.name;
  const userName = `${p.user}_${p.resourceGroup}_${name}`;
  const ca = Buffer.from(p.caPem).toString("base64");
  const exec = p.user === "clusterUser" && aadProfileOf(cluster)?.managed === true;
  const user = exec
    ? [
        "    exec:",
        "      apiVersion: client.authentication.k8s.io/v1beta1",
        "      args:",
        "      - get-token",
        "      - --environment",
        "      - AzurePublicCloud",
        "      - --server-id",
        `      - ${AKS_SERVER_APP_ID}`,
        "      - --client-id",
        "      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a",
        "      - --tenant-id",
        `      - ${aadProfileOf(cluster)?.tenantID ?? ""}`,
        "      - --login",
        "      - devicecode",
        "      command: kubelogin",
        "      env: null",
        "      provideClusterInfo: false",
      ]
    : [
        `    client-certificate-data: ${randomBytes(48).toString("base64")}`,
        `    client-key-data: ${randomBytes(48).toString("base64")}`,
        `    token: ${randomBytes(32).toString("hex")}`,
      ];
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${ca}`,
    `    server: https://${fqdn}:443`,
    `  name: ${name}`,
    "contexts:",
    "- context:",
    `    cluster: ${name}`,
    `    user: ${userName}`,
    `  name: ${name}`,
    `current-context: ${name}`,
    "kind: Config",
    "preferences: {}",
    "users:",
    `- name: ${userName}`,
    "  user:",
    ...user,
    "",
  ].join("\n");
}

/**
 * The data actions of the four AKS RBAC built-in roles and the actions they exclude, from "Azure
 * built-in roles for Containers" (MicrosoftDocs/azure-docs, built-in-roles/containers.md). The Reader
 * and Writer lists are the documented ones; Admin and Cluster Admin grant `managedClusters/*`.
 */
const MC = "Microsoft.ContainerService/managedClusters";
const READER_DATA_ACTIONS = [
  "apps/controllerrevisions/read",
  "apps/daemonsets/read",
  "apps/deployments/read",
  "apps/replicasets/read",
  "apps/statefulsets/read",
  "autoscaling/horizontalpodautoscalers/read",
  "batch/cronjobs/read",
  "batch/jobs/read",
  "configmaps/read",
  "discovery.k8s.io/endpointslices/read",
  "endpoints/read",
  "events.k8s.io/events/read",
  "events/read",
  "extensions/daemonsets/read",
  "extensions/deployments/read",
  "extensions/ingresses/read",
  "extensions/networkpolicies/read",
  "extensions/replicasets/read",
  "limitranges/read",
  "metrics.k8s.io/pods/read",
  "metrics.k8s.io/nodes/read",
  "namespaces/read",
  "networking.k8s.io/ingresses/read",
  "networking.k8s.io/networkpolicies/read",
  "persistentvolumeclaims/read",
  "pods/read",
  "policy/poddisruptionbudgets/read",
  "replicationcontrollers/read",
  "resourcequotas/read",
  "serviceaccounts/read",
  "services/read",
];
const WRITER_DATA_ACTIONS = [
  "apps/controllerrevisions/read",
  "apps/daemonsets/*",
  "apps/deployments/*",
  "apps/replicasets/*",
  "apps/statefulsets/*",
  "autoscaling/horizontalpodautoscalers/*",
  "batch/cronjobs/*",
  "coordination.k8s.io/leases/read",
  "coordination.k8s.io/leases/write",
  "coordination.k8s.io/leases/delete",
  "discovery.k8s.io/endpointslices/read",
  "batch/jobs/*",
  "configmaps/*",
  "endpoints/*",
  "events.k8s.io/events/read",
  "events/*",
  "extensions/daemonsets/*",
  "extensions/deployments/*",
  "extensions/ingresses/*",
  "extensions/networkpolicies/*",
  "extensions/replicasets/*",
  "limitranges/read",
  "metrics.k8s.io/pods/read",
  "metrics.k8s.io/nodes/read",
  "namespaces/read",
  "networking.k8s.io/ingresses/*",
  "networking.k8s.io/networkpolicies/*",
  "persistentvolumeclaims/*",
  "pods/*",
  "policy/poddisruptionbudgets/*",
  "replicationcontrollers/*",
  "resourcequotas/read",
  "secrets/*",
  "serviceaccounts/*",
  "services/*",
];

export const AKS_RBAC_ROLES: Record<string, { name: string; dataActions: string[]; notDataActions: string[] }> = {
  "7f6c6a51-bcf8-42ba-9220-52d62157d7db": {
    name: "Azure Kubernetes Service RBAC Reader",
    dataActions: READER_DATA_ACTIONS.map((a) => `${MC}/${a}`),
    notDataActions: [],
  },
  "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb": {
    name: "Azure Kubernetes Service RBAC Writer",
    dataActions: WRITER_DATA_ACTIONS.map((a) => `${MC}/${a}`),
    notDataActions: [],
  },
  "3498e952-d568-435e-9b2c-8d77e338d7f7": {
    name: "Azure Kubernetes Service RBAC Admin",
    dataActions: [`${MC}/*`],
    notDataActions: ["resourcequotas/write", "resourcequotas/delete", "namespaces/write", "namespaces/delete"].map((a) => `${MC}/${a}`),
  },
  "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": {
    name: "Azure Kubernetes Service RBAC Cluster Admin",
    dataActions: [`${MC}/*`],
    notDataActions: [],
  },
};

/** Azure's action matching: case-insensitive, `*` matches any run of characters (slashes too). */
function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );
  return regex.test(action);
}

/** Whether the built-in role allows the data action. */
export function roleAllows(roleGuid: string, dataAction: string): boolean {
  const role = AKS_RBAC_ROLES[roleGuid.toLowerCase()];
  if (!role) return false;
  return role.dataActions.some((p) => actionMatches(p, dataAction)) && !role.notDataActions.some((p) => actionMatches(p, dataAction));
}

/**
 * The data action the AKS authorization webhook checks for a request's attributes, and the scope it
 * checks it at (kubeguard/guard authz/providers/azure/rbac/checkaccessreqhelper.go: getActionName
 * maps get/list/watch → read, create/patch/update → write, delete/deletecollection → delete; the
 * action is `<cluster type>[/<group>]/<resource>/<verb action>`; the scope is the cluster's ID, or
 * `<cluster id>/namespaces/<namespace>` for a namespaced request).
 */
export function dataActionFor(attributes: { verb?: string; group?: string; resource?: string }): string | undefined {
  const verb = {
    get: "read",
    list: "read",
    watch: "read",
    create: "write",
    patch: "write",
    update: "write",
    delete: "delete",
    deletecollection: "delete",
  }[attributes.verb ?? ""];
  if (!verb || !attributes.resource) return undefined;
  return [MC, attributes.group, attributes.resource, verb].filter(Boolean).join("/");
}
