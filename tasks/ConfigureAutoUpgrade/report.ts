import { describeCluster, type ClusterRef } from "../../core/cluster";
import { code, LINE_BREAK, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import type { ConfigureAutoUpgradeRequest } from "./inputs";
import { reimagesNodes, type ChannelsPlan, type WindowChange } from "./plan";
import { describeWindow } from "./window";

const CHANNEL_MEANING: Record<string, string> = {
  patch: "new patch releases of the cluster's own minor version are applied; a new minor version is a release you choose (az aks upgrade).",
  stable:
    "the cluster follows the newest patch of minor version N-1 (N = the newest supported minor): minor versions change automatically.",
  rapid: "the cluster follows the newest supported minor version as soon as it is out: minor versions change automatically.",
  "node-image": "only the node images are upgraded, never Kubernetes itself; AKS recommends the node OS channel instead.",
  none: "Kubernetes is never upgraded automatically.",
};

const NODE_OS_MEANING: Record<string, string> = {
  NodeImage: "AKS rolls a new node image with security and bug fixes onto the nodes, weekly.",
  SecurityPatch:
    "AKS applies tested security patches, reimaging nodes only when a patch needs it (the patched images are stored in the node resource group, at a cost).",
  Unmanaged:
    "the OS patches itself (Ubuntu and Azure Linux around 06:00 UTC); nodes are not rebooted for you, and Windows nodes are not patched.",
  None: "no OS updates are applied: you are responsible for the nodes' security updates.",
};

export function autoUpgradeReport(
  request: ConfigureAutoUpgradeRequest,
  ref: ClusterRef,
  result: { channels: ChannelsPlan; windows: WindowChange[] },
  outcome: Outcome,
): RunReport {
  const planned = outcome === "dryRun";
  const { channels } = result;
  const changes: RunReport["changes"] = [
    { setting: "Auto-upgrade channel", before: code(channels.upgradeChannel.before), after: code(channels.upgradeChannel.after) },
    {
      setting: "Node OS upgrade channel",
      before: code(channels.nodeOsUpgradeChannel.before),
      after: code(channels.nodeOsUpgradeChannel.after),
    },
  ];
  for (const change of result.windows) {
    const state = change.action === "unchanged" ? "already as wanted" : planned ? `to be ${change.action}d` : `${change.action}d`;
    changes.push({
      setting: rich`${change.wanted.input}${LINE_BREAK}${code(change.wanted.configName)}`,
      before: change.currentWindow
        ? code(describeWindow(change.currentWindow))
        : change.current
          ? remark("a configuration this task cannot show")
          : remark("none"),
      after: rich`${code(describeWindow(change.wanted.window))}${LINE_BREAK}${remark(state)}`,
    });
  }

  const details: Text[] = [
    rich`${code(channels.upgradeChannel.after)}: ${CHANNEL_MEANING[channels.upgradeChannel.after] ?? ""}`,
    rich`${code(channels.nodeOsUpgradeChannel.after)}: ${NODE_OS_MEANING[channels.nodeOsUpgradeChannel.after] ?? ""}`,
  ];

  const warnings: Text[] = [];
  const notes: Text[] = [];
  const nodeOsChanges = channels.nodeOsUpgradeChannel.before.toLowerCase() !== channels.nodeOsUpgradeChannel.after.toLowerCase();
  if (nodeOsChanges) {
    notes.push(
      `A change of the node OS upgrade channel can take up to 24 hours to take effect (AKS docs, "Autoupgrade node OS images"): until then the nodes follow ${channels.nodeOsUpgradeChannel.before}.`,
    );
    if (reimagesNodes(channels.nodeOsUpgradeChannel.before, channels.nodeOsUpgradeChannel.after)) {
      warnings.push(
        `Moving the node OS channel from ${channels.nodeOsUpgradeChannel.before} to ${channels.nodeOsUpgradeChannel.after} reimages every node (AKS docs, "Node OS channel changes that cause a reimage"), following the node pools' surge settings.`,
      );
    }
  }
  if (channels.upgradeChannel.after === "none")
    warnings.push("Automatic Kubernetes upgrades are off (upgradeChannel: none): the cluster falls behind unless someone upgrades it.");
  if (channels.nodeOsUpgradeChannel.after === "None")
    warnings.push("Node OS updates are off (nodeOsUpgradeChannel: None): nothing patches the nodes' operating system.");
  for (const change of result.windows) {
    if (change.wanted.input === "maintenanceWindow" && channels.upgradeChannel.after === "none") {
      warnings.push("maintenanceWindow has no effect while upgradeChannel is none: there is no automatic upgrade to schedule.");
    }
    if (change.wanted.input === "nodeOsMaintenanceWindow" && ["None", "Unmanaged"].includes(channels.nodeOsUpgradeChannel.after)) {
      warnings.push(
        `nodeOsMaintenanceWindow has no effect with nodeOsUpgradeChannel ${channels.nodeOsUpgradeChannel.after}: AKS schedules no node OS upgrade on that channel.`,
      );
    }
  }
  if (result.windows.some((c) => c.action !== "unchanged")) {
    notes.push(
      "AKS takes a new or changed window into account after about 15 minutes (AKS docs, planned maintenance FAQ); a window starting sooner may be skipped once.",
    );
  }
  const typed = new Set(result.windows.map((c) => c.wanted.input));
  if (!typed.has("maintenanceWindow") && channels.upgradeChannel.after !== "none") {
    notes.push(
      "No maintenanceWindow given: the cluster's aksManagedAutoUpgradeSchedule, if it has one, is kept as it is; without one, AKS may upgrade at any time.",
    );
  }
  if (!typed.has("nodeOsMaintenanceWindow") && ["NodeImage", "SecurityPatch"].includes(channels.nodeOsUpgradeChannel.after)) {
    notes.push(
      "No nodeOsMaintenanceWindow given: the cluster's aksManagedNodeOSUpgradeSchedule, if it has one, is kept as it is; without one, node OS upgrades may start at any time.",
    );
  }
  notes.push("Other maintenance configurations of the cluster (such as default) are left as they are.");

  return {
    title: `Auto-upgrade: ${request.clusterName}`,
    target: describeCluster(ref),
    outcome,
    changes,
    details,
    notes,
    warnings,
  };
}
