import { describeCluster, type ClusterRef } from "../../core/cluster";
import { code, describeChange, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import type { EnableDefenderRequest } from "./inputs";
import type { ContainersPlanChange, PricingRead, SensorPlan } from "./plan";

export interface WorkspaceChoice {
  id: string;
  /** Typed in logAnalyticsWorkspaceId, kept from the cluster, or az's default workspace (which existed). */
  source: "input" | "cluster" | "default";
}

export function defenderReport(
  request: EnableDefenderRequest,
  ref: ClusterRef,
  result: { sensor: SensorPlan; workspace: WorkspaceChoice; plan: ContainersPlanChange; pricing: PricingRead },
  outcome: Outcome,
): RunReport {
  const { sensor, plan } = result;
  const changes: RunReport["changes"] = [
    { setting: "Defender sensor (security monitoring)", before: sensor.before.enabled ? "on" : "off", after: "on" },
    {
      setting: "Log Analytics workspace",
      before: sensor.before.workspaceId ? code(sensor.before.workspaceId) : remark("none"),
      after: code(sensor.after.workspaceId),
    },
    {
      setting: "Defender for Containers plan (subscription)",
      before: plan.before === "unknown" ? remark("could not be read") : code(plan.before),
      after: plan.after === "unknown" ? remark("could not be read") : code(plan.after),
    },
  ];

  const details: Text[] = [
    {
      input: rich`Workspace: as given in ${code("logAnalyticsWorkspaceId")}.`,
      cluster: "Workspace: the one the cluster's Defender profile already names (kept: no logAnalyticsWorkspaceId was given).",
      default: rich`Workspace: no ${code("logAnalyticsWorkspaceId")} was given, so the one ${code("az aks update --enable-defender")} chooses for this resource group's region; it already existed, nothing was created.`,
    }[result.workspace.source],
  ];

  const warnings: Text[] = [];
  const notes: Text[] = [];
  if (plan.after.toLowerCase() === "free") {
    warnings.push(
      rich`The subscription's Defender for Containers plan is ${code(plan.after)}: the sensor is deployed on the cluster, but detections are not produced (no runtime threat alerts) until the plan is on. Set ${code("enableContainersPlan: true")} (billed per vCore of the subscription's clusters) or turn the Containers plan on in Defender for Cloud.`,
    );
  } else if (plan.after === "unknown" && !result.pricing.ok) {
    warnings.push(
      `Whether detections are produced is unknown: ${result.pricing.reason} Detections need the subscription's Defender for Containers plan (Standard).`,
    );
  }
  if (plan.write) {
    notes.push(
      "The Defender for Containers plan is a subscription setting: it covers (and is billed for) every cluster in the subscription, not only this one.",
    );
  }
  if (!sensor.empty) {
    notes.push(
      describeChange(outcome === "dryRun", {
        done: "AKS deploys the Defender sensor (a DaemonSet in kube-system) as part of this cluster update.",
        planned: "A real run would have AKS deploy the Defender sensor (a DaemonSet in kube-system) with the cluster update.",
      }),
    );
  }
  if (request.enableContainersPlan === false && plan.after.toLowerCase() === "standard") {
    notes.push("The plan was already on: enableContainersPlan false never turns it off.");
  }

  return {
    title: `Microsoft Defender for Containers: ${request.clusterName}`,
    target: describeCluster(ref),
    outcome,
    changes,
    details,
    notes,
    warnings,
  };
}
