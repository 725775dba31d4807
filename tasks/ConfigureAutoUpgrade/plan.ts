import { clusterWrite, type ClusterPlan, type ManagedCluster } from "../../core/cluster";
import type { PlannedWrite } from "../../core/permissions";
import type { MaintenanceConfiguration } from "@azure/arm-containerservice";
import type { NodeOsChannel, UpgradeChannel, WantedWindow } from "./inputs";
import { sameWindow, windowFromAzure, windowToAzure, type MaintenanceWindow } from "./window";

/** The cluster's auto-upgrade profile: what it is and what it is to be. */
export interface ChannelsPlan extends ClusterPlan {
  upgradeChannel: { before: string; after: UpgradeChannel };
  nodeOsUpgradeChannel: { before: string; after: NodeOsChannel };
}

/** AKS's defaults when the profile leaves a channel out (spec: upgradeChannel "The default is 'none'", nodeOSUpgradeChannel "The default is NodeImage"). */
const DEFAULT_UPGRADE_CHANNEL = "none";
const DEFAULT_NODE_OS_CHANNEL = "NodeImage";

/** Channel values compare without case: the spec's enums are modelAsString, and clients differ in case. */
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function planChannels(cluster: ManagedCluster, upgradeChannel: UpgradeChannel, nodeOsUpgradeChannel: NodeOsChannel): ChannelsPlan {
  const profile = cluster.autoUpgradeProfile ?? {};
  const before = {
    channel: profile.upgradeChannel || DEFAULT_UPGRADE_CHANNEL,
    nodeOs: profile.nodeOSUpgradeChannel || DEFAULT_NODE_OS_CHANNEL,
  };
  return {
    empty: same(before.channel, upgradeChannel) && same(before.nodeOs, nodeOsUpgradeChannel),
    upgradeChannel: { before: before.channel, after: upgradeChannel },
    nodeOsUpgradeChannel: { before: before.nodeOs, after: nodeOsUpgradeChannel },
  };
}

/** The cluster to PUT: as read, with only the two channels set (every other setting, of the profile too, kept). */
export function withChannels(cluster: ManagedCluster, plan: ChannelsPlan): ManagedCluster {
  return {
    ...cluster,
    autoUpgradeProfile: {
      ...cluster.autoUpgradeProfile,
      upgradeChannel: plan.upgradeChannel.after,
      nodeOSUpgradeChannel: plan.nodeOsUpgradeChannel.after,
    },
  };
}

export interface WindowChange {
  wanted: WantedWindow;
  /** The configuration as read; undefined when the cluster has none of that name. */
  current?: MaintenanceConfiguration;
  /** The current window in this task's terms; undefined when there is none or it is of a shape the task does not write. */
  currentWindow?: MaintenanceWindow;
  action: "create" | "update" | "unchanged";
  /** What is PUT: the wanted window, keeping the configuration's other settings and its startDate when none was typed. */
  body: MaintenanceConfiguration;
}

export function planWindow(wanted: WantedWindow, current: MaintenanceConfiguration | undefined): WindowChange {
  const currentWindow = windowFromAzure(current?.maintenanceWindow);
  const action = !current ? "create" : currentWindow && sameWindow(wanted.window, currentWindow) ? "unchanged" : "update";
  return {
    wanted,
    ...(current ? { current } : {}),
    ...(currentWindow ? { currentWindow } : {}),
    action,
    body: {
      ...(current?.timeInWeek ? { timeInWeek: current.timeInWeek } : {}),
      ...(current?.notAllowedTime ? { notAllowedTime: current.notAllowedTime } : {}),
      maintenanceWindow: windowToAzure(wanted.window, currentWindow?.startDate),
    },
  };
}

/**
 * Node OS channel transitions that reimage every node (AKS docs, auto-upgrade-node-os-image.md, "Node
 * OS channel changes that cause a reimage"): to Unmanaged from any channel, and from Unmanaged to None.
 */
export function reimagesNodes(from: string, to: string): boolean {
  if (same(from, to)) return false;
  return same(to, "Unmanaged") || (same(from, "Unmanaged") && same(to, "None"));
}

/** The writes the plans make: the windows that differ (at the cluster, their parent) and the cluster when a channel changes. */
export function plannedWrites(clusterId: string, channels: ChannelsPlan, windows: readonly WindowChange[]): PlannedWrite[] {
  return [
    ...windows
      .filter((w) => w.action !== "unchanged")
      .map((w) => ({
        action: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations/write",
        scope: clusterId,
        purpose: `write the maintenance window ${w.wanted.configName} (${w.wanted.input})`,
      })),
    ...(channels.empty ? [] : [clusterWrite(clusterId, "set the upgrade channels")]),
  ];
}
