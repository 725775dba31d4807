import { ArmError } from "../http";
import type { RequestContext, Route } from "../http";
import {
  assignPodIdentities,
  composeManagedClusterForPut,
  defaultManagedCluster,
  kubernetesVersionList,
  MANAGED_CLUSTER_TYPE,
  managedClusterId,
  managedClusterUpgradeProfile,
  validateManagedCluster,
} from "../resources/managed-cluster";
import type { ArmResource, Operation } from "../store";
import type { ArmEnv } from "./arm-common";
import {
  asyncOperationHeaders,
  checkPreconditions,
  requireJsonObject,
  requireResourceGroup,
  requireSubscription,
  resourceNotFound,
} from "./arm-common";

const NAMESPACE = "Microsoft.ContainerService";
const BASE = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters";

/**
 * AKS's other answer to a write that meets a running operation: 409 EtagMismatch, sent without ARM's
 * `error` envelope. Body as quoted in Azure/terraform-azurerm-aks#604, message as in
 * Azure/terraform-azurerm-aks#354 and terraform-provider-azapi#889.
 */
export function etagMismatchBody(): Record<string, unknown> {
  return {
    code: "EtagMismatch",
    details: [{ code: "Unspecified", message: "rpc error: code = FailedPrecondition desc = Etag mismatched" }],
    message:
      "Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details",
  };
}

/** Told of every accepted cluster write, before it changes anything (the API server's firewall lags behind it). */
export interface ClusterWriteObserver {
  beforeWrite(cluster: ArmResource): void;
}

export function managedClusterRoutes(env: ArmEnv & { apiServers?: ClusterWriteObserver }): Route[] {
  const { store } = env;
  const idOf = (rg: string, name: string) => managedClusterId(store.subscriptionId, rg, name);
  /** The cluster the route names, or ARM's ResourceNotFound. */
  const requireCluster = (ctx: RequestContext): ArmResource => {
    const group = requireResourceGroup(env, ctx);
    const name = ctx.params["resourceName"] ?? "";
    const cluster = store.get(idOf(group.name, name));
    if (!cluster) throw resourceNotFound("Microsoft.ContainerService/managedClusters", name, group.name);
    return cluster;
  };

  return [
    {
      method: "GET",
      path: `${BASE}/{resourceName}`,
      auth: "arm",
      handler: (ctx) => {
        return { status: 200, body: requireCluster(ctx) };
      },
    },
    {
      method: "GET",
      path: BASE,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        return {
          status: 200,
          body: { value: store.list(`${group.id}/providers/Microsoft.ContainerService/managedClusters`, MANAGED_CLUSTER_TYPE) },
        };
      },
    },
    {
      method: "GET",
      path: "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/managedClusters",
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        const value = [];
        for (const group of store.list(`/subscriptions/${store.subscriptionId}/resourceGroups`, "Microsoft.Resources/resourceGroups")) {
          value.push(...store.list(`${group.id}/providers/Microsoft.ContainerService/managedClusters`, MANAGED_CLUSTER_TYPE));
        }
        return { status: 200, body: { value } };
      },
    },
    {
      // ManagedClusters_GetUpgradeProfile: the only profile is "default".
      method: "GET",
      path: `${BASE}/{resourceName}/upgradeProfiles/default`,
      auth: "arm",
      handler: (ctx) => {
        return { status: 200, body: managedClusterUpgradeProfile(requireCluster(ctx)) };
      },
    },
    {
      // ManagedClusters_ListKubernetesVersions (what `az aks get-versions` shows).
      method: "GET",
      path: "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/locations/{location}/kubernetesVersions",
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        return { status: 200, body: kubernetesVersionList() };
      },
    },
    {
      method: "PUT",
      path: `${BASE}/{resourceName}`,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        const name = ctx.params["resourceName"] ?? "";
        const id = idOf(group.name, name);
        const current = store.get(id);
        const requested = requireJsonObject(ctx);
        const location = requested["location"];
        if (typeof location !== "string" || location.length === 0)
          throw new ArmError(400, "LocationRequired", "The location property is required for this definition.");
        if (current && current.location?.toLowerCase().replace(/\s+/g, "") !== location.toLowerCase().replace(/\s+/g, "")) {
          throw new ArmError(
            400,
            "InvalidResourceLocation",
            `The resource '${name}' already exists in location '${current.location}' in resource group '${group.name}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
          );
        }
        checkPreconditions(ctx, current);
        const running = current && store.refuseWrite(id);
        if (running) {
          // EtagMismatch comes without ARM's error wrapper (see etagMismatchBody).
          if (running.busyCode === "EtagMismatch") return { status: 409, body: etagMismatchBody() };
          throw busy(running);
        }

        const base: ArmResource =
          current ??
          defaultManagedCluster({
            subscriptionId: store.subscriptionId,
            tenantId: store.tenantId,
            resourceGroup: group.name,
            name,
            location,
          });
        const desired = composeManagedClusterForPut(base, requested, store.tenantId);
        validateManagedCluster(desired, {
          ...(current ? { current } : {}),
          isFeatureRegistered: (namespace, feature) => store.isFeatureRegistered(namespace, feature),
        });
        assignPodIdentities(desired, current, store);
        // Only a write AKS accepts (validation and the pod-identity check passed) reaches the API server.
        if (current) env.apiServers?.beforeWrite(current);

        if (!current) {
          // A new cluster exists (Creating) from the moment the PUT is accepted.
          store.registerClusterIdentities(desired);
          store.put(desired);
        }
        const op = store.beginOperation({
          resourceId: id,
          providerNamespace: NAMESPACE,
          location: desired.location ?? location,
          description: current ? "update managed cluster" : "create managed cluster",
          onSucceeded: () => {
            const now = store.get(id);
            store.put({ ...desired, eTag: now?.["eTag"] ?? desired["eTag"] });
          },
        });
        // The accepted goal state, with the provisioning state the cluster is in now (Updating/Creating, or final when operationPolls is 0).
        const now = store.get(id);
        const accepted = {
          ...desired,
          eTag: now?.["eTag"],
          properties: { ...desired.properties, provisioningState: now?.properties?.["provisioningState"] },
        };
        return {
          status: current ? 200 : 201,
          headers: asyncOperationHeaders(env, ctx, {
            providerNamespace: NAMESPACE,
            location: accepted.location ?? location,
            operationId: op.id,
          }),
          body: accepted,
        };
      },
    },
  ];
}

/**
 * AKS's answer to a write while another operation runs on the cluster: 409 OperationNotAllowed, "Another
 * operation ... is in progress, please wait for it to finish" (Azure/azure-workload-identity#417,
 * Azure/terraform-azurerm-avm-ptn-aks-production#25); no Retry-After in the reports, so clients pick their own wait.
 */
function busy(running: Operation): ArmError {
  return new ArmError(
    409,
    "OperationNotAllowed",
    `Operation is not allowed because there's an in progress ${running.description} operation (operation ID: ${running.id}) on the managed cluster started on UTC ${running.startTime.toISOString().replace(/\.\d+Z$/, "Z")}. Please wait for it to finish before starting a new operation. You can also use 'az aks operation-abort ...' to abort the ongoing operation.`,
  );
}
