import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError } from "../../core/errors";
import { readBoolean, readChoice, readClusterName, readResourceGroupName, readSecondsVariable, readString } from "../../core/inputs";
import { parseWindow, type MaintenanceWindow } from "./window";

/** The spec's UpgradeChannel and NodeOSUpgradeChannel values, in the spec's case (managedClusters.json 2026-04-01). */
export const UPGRADE_CHANNELS = ["patch", "stable", "rapid", "node-image", "none"] as const;
export type UpgradeChannel = (typeof UPGRADE_CHANNELS)[number];
export const NODE_OS_CHANNELS = ["NodeImage", "SecurityPatch", "Unmanaged", "None"] as const;
export type NodeOsChannel = (typeof NODE_OS_CHANNELS)[number];

/** The planned-maintenance configurations AKS reads for each kind of automatic upgrade (AKS docs, planned-maintenance.md). */
export const AUTO_UPGRADE_SCHEDULE = "aksManagedAutoUpgradeSchedule";
export const NODE_OS_UPGRADE_SCHEDULE = "aksManagedNodeOSUpgradeSchedule";

export interface WantedWindow {
  /** The input it was typed in. */
  input: "maintenanceWindow" | "nodeOsMaintenanceWindow";
  configName: typeof AUTO_UPGRADE_SCHEDULE | typeof NODE_OS_UPGRADE_SCHEDULE;
  window: MaintenanceWindow;
}

export interface ConfigureAutoUpgradeRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  upgradeChannel: UpgradeChannel;
  nodeOsUpgradeChannel: NodeOsChannel;
  /** Only the windows typed: a window left empty keeps whatever the cluster has. */
  windows: WantedWindow[];
  dryRun: boolean;
  busyTimeoutMs: number;
}

export function readRequest(): ConfigureAutoUpgradeRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  const clusterName = readClusterName();
  const upgradeChannel = readChoice<UpgradeChannel>("upgradeChannel", UPGRADE_CHANNELS, "patch");
  const nodeOsUpgradeChannel = readChoice<NodeOsChannel>("nodeOsUpgradeChannel", NODE_OS_CHANNELS, "NodeImage");
  if (upgradeChannel === "node-image" && nodeOsUpgradeChannel !== "NodeImage") {
    // AKS docs (auto-upgrade-node-os-image.md, known limitations): with the node-image channel the node OS
    // channel is NodeImage and cannot be changed.
    throw new InputError(
      "nodeOsUpgradeChannel",
      `'${nodeOsUpgradeChannel}' cannot be used with upgradeChannel 'node-image': AKS sets the node OS channel to NodeImage on that channel and refuses any other. Use nodeOsUpgradeChannel: NodeImage, or an upgradeChannel such as 'patch' (node-image is superseded by the node OS channel).`,
    );
  }
  const windows: WantedWindow[] = [];
  const cluster = readString("maintenanceWindow");
  if (cluster)
    windows.push({ input: "maintenanceWindow", configName: AUTO_UPGRADE_SCHEDULE, window: parseWindow("maintenanceWindow", cluster) });
  const nodeOs = readString("nodeOsMaintenanceWindow");
  if (nodeOs) {
    windows.push({
      input: "nodeOsMaintenanceWindow",
      configName: NODE_OS_UPGRADE_SCHEDULE,
      window: parseWindow("nodeOsMaintenanceWindow", nodeOs),
    });
  }
  return {
    connection,
    resourceGroupName,
    clusterName,
    upgradeChannel,
    nodeOsUpgradeChannel,
    windows,
    dryRun: readBoolean("dryRun", false),
    busyTimeoutMs: readSecondsVariable("AksHardening.ClusterBusyTimeoutSeconds", 1200) * 1000,
  };
}
