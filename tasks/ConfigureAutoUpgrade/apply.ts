import { createOrUpdate, get } from "@azure/arm-containerservice/api/maintenanceConfigurations";
import type { MaintenanceConfiguration } from "@azure/arm-containerservice";
import { readTogether, type AzureClients } from "../../core/azure";
import {
  clusterClient,
  describeCluster,
  readCluster,
  updateCluster,
  type ClusterRef,
  type ClusterUpdateResult,
  type ManagedCluster,
} from "../../core/cluster";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import type { NodeOsChannel, UpgradeChannel, WantedWindow } from "./inputs";
import { planChannels, withChannels, type ChannelsPlan, type WindowChange } from "./plan";

/** The cluster and the maintenance configurations the inputs name, read together: one round trip. */
export function readState(
  clients: AzureClients,
  ref: ClusterRef,
  windows: readonly WantedWindow[],
): Promise<[ManagedCluster, (MaintenanceConfiguration | undefined)[]]> {
  return readTogether([
    readCluster(clusterClient(clients), ref),
    readTogether(windows.map((w) => readConfiguration(clients, ref, w.configName))),
  ]);
}

async function readConfiguration(clients: AzureClients, ref: ClusterRef, name: string): Promise<MaintenanceConfiguration | undefined> {
  try {
    return await get(clusterClient(clients), ref.resourceGroupName, ref.clusterName, name);
  } catch (error) {
    if (azureErrorDetails(error).status === 404) return undefined;
    throw new TaskError(
      describeFailure(error, {
        action: `read the maintenance configuration '${name}' of ${describeCluster(ref)}`,
        permission: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations/read",
      }),
    );
  }
}

/**
 * Writes the windows that differ, together. They go before the channels: a channel turned on before
 * its window exists could start an upgrade at once, outside the window the pipeline asks for.
 */
export async function writeWindows(clients: AzureClients, ref: ClusterRef, changes: readonly WindowChange[]): Promise<WindowChange[]> {
  const toWrite = changes.filter((c) => c.action !== "unchanged");
  const settled = await Promise.allSettled(
    toWrite.map((c) => createOrUpdate(clusterClient(clients), ref.resourceGroupName, ref.clusterName, c.wanted.configName, c.body)),
  );
  const failedAt = settled.findIndex((r) => r.status === "rejected");
  if (failedAt >= 0) {
    const change = toWrite[failedAt]!;
    const written = settled.filter((r) => r.status === "fulfilled").length;
    throw new TaskError(
      describeFailure((settled[failedAt] as PromiseRejectedResult).reason, {
        action: `write the maintenance configuration '${change.wanted.configName}' (${change.wanted.input}) of ${describeCluster(ref)}${written ? ` (the other window was written; re-run to finish)` : ""}`,
        permission: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations/write",
      }),
    );
  }
  return toWrite;
}

export function applyChannels(
  clients: AzureClients,
  ref: ClusterRef,
  options: {
    upgradeChannel: UpgradeChannel;
    nodeOsUpgradeChannel: NodeOsChannel;
    dryRun: boolean;
    busyTimeoutMs: number;
    initial: ManagedCluster;
  },
): Promise<ClusterUpdateResult<ChannelsPlan>> {
  return updateCluster(clusterClient(clients), ref, {
    initial: options.initial,
    plan: (cluster) => planChannels(cluster, options.upgradeChannel, options.nodeOsUpgradeChannel),
    apply: withChannels,
    dryRun: options.dryRun,
    busyTimeoutMs: options.busyTimeoutMs,
  });
}
