import { ArmError } from "../http";
import type { RequestContext, Route } from "../http";
import { managedClusterId } from "../resources/managed-cluster";
import {
  composeMaintenanceConfiguration,
  MAINTENANCE_CONFIGURATION_TYPE,
  validateMaintenanceConfiguration,
} from "../resources/maintenance-configuration";
import { isPlainObject } from "../resources/merge";
import type { ArmResource } from "../store";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireResourceGroup, resourceNotFound } from "./arm-common";

const CLUSTER =
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}";

/**
 * A managed cluster's planned-maintenance configurations (MaintenanceConfigurations_Get,
 * _CreateOrUpdate, _Delete, _ListByManagedCluster; api-version 2026-04-01, managedClusters.json):
 * GET answers 404 NotFound for a configuration that does not exist, PUT answers 200 with the stored
 * configuration (synchronous: the spec marks no long-running operation), DELETE 200, or 204 when there
 * was nothing to delete. Validation in resources/maintenance-configuration.ts.
 */
export function maintenanceConfigurationRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const requireCluster = (ctx: RequestContext): ArmResource => {
    const group = requireResourceGroup(env, ctx);
    const name = ctx.params["resourceName"] ?? "";
    const cluster = store.get(managedClusterId(store.subscriptionId, group.name, name));
    if (!cluster) throw resourceNotFound("Microsoft.ContainerService/managedClusters", name, group.name);
    return cluster;
  };
  const configId = (ctx: RequestContext) => `${requireCluster(ctx).id}/maintenanceConfigurations/${ctx.params["configName"] ?? ""}`;
  return [
    {
      method: "GET",
      path: `${CLUSTER}/maintenanceConfigurations`,
      auth: "arm",
      handler: (ctx) => ({
        status: 200,
        body: { value: store.list(`${requireCluster(ctx).id}/maintenanceConfigurations`, MAINTENANCE_CONFIGURATION_TYPE) },
      }),
    },
    {
      method: "GET",
      path: `${CLUSTER}/maintenanceConfigurations/{configName}`,
      auth: "arm",
      handler: (ctx) => {
        const found = store.get(configId(ctx));
        if (!found) {
          throw new ArmError(
            404,
            "NotFound",
            `Maintenance configuration '${ctx.params["configName"] ?? ""}' was not found in the managed cluster.`,
          );
        }
        return { status: 200, body: found };
      },
    },
    {
      method: "PUT",
      path: `${CLUSTER}/maintenanceConfigurations/{configName}`,
      auth: "arm",
      handler: (ctx) => {
        const cluster = requireCluster(ctx);
        const name = ctx.params["configName"] ?? "";
        const body = requireJsonObject(ctx);
        const properties = isPlainObject(body["properties"]) ? body["properties"] : {};
        validateMaintenanceConfiguration(name, properties);
        const stored = store.put(composeMaintenanceConfiguration({ clusterId: cluster.id, name, properties, today: store.now() }));
        return { status: 200, body: stored };
      },
    },
    {
      method: "DELETE",
      path: `${CLUSTER}/maintenanceConfigurations/{configName}`,
      auth: "arm",
      handler: (ctx) => ({ status: store.delete(configId(ctx)) ? 200 : 204 }),
    },
  ];
}
