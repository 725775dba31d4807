import type { AzureClients } from "../../core/azure";
import { armGetOptional, armJson } from "../../core/arm-json";
import { readContainersPricing, writeContainersPricing } from "../../core/defender-plan";
import { clusterClient, updateCluster, type ClusterRef, type ClusterUpdateResult, type ManagedCluster } from "../../core/cluster";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import type { WorkspaceRef } from "./inputs";
import { planSensor, withSensor, type ContainersPlanChange, type PricingRead, type SensorPlan } from "./plan";

/** Microsoft.OperationalInsights workspaces, stable 2025-07-01. */
const WORKSPACES_API_VERSION = "2025-07-01";
/** Microsoft.Resources resource groups (the region azure-cli's default workspace rule starts from). */
const RESOURCE_GROUPS_API_VERSION = "2021-04-01";

/**
 * The subscription's Defender for Containers plan. A refused or failed read is kept as its reason:
 * it fails the run only when the run must change the plan.
 */
export async function readPlanState(clients: AzureClients): Promise<PricingRead> {
  try {
    return { ok: true, pricing: await readContainersPricing(clients) };
  } catch (error) {
    return {
      ok: false,
      reason: describeFailure(error, {
        action: "read the subscription's Defender for Containers plan",
        permission: "Microsoft.Security/pricings/read",
      }),
    };
  }
}

/** Whether the workspace exists (a GET that answers 404 is "no"). */
export async function workspaceExists(clients: AzureClients, workspace: WorkspaceRef): Promise<boolean> {
  try {
    return (await armGetOptional(clients, workspace.id, WORKSPACES_API_VERSION)) !== undefined;
  } catch (error) {
    throw new TaskError(
      describeFailure(error, {
        action: `read the Log Analytics workspace '${workspace.id}'`,
        permission: "Microsoft.OperationalInsights/workspaces/read",
      }),
    );
  }
}

/** The region of the cluster's resource group: where azure-cli's default workspace rule starts. */
export async function resourceGroupLocation(clients: AzureClients, ref: ClusterRef): Promise<string> {
  const path = `/subscriptions/${encodeURIComponent(clients.connection.subscriptionId)}/resourceGroups/${encodeURIComponent(ref.resourceGroupName)}`;
  try {
    const { body } = await armJson<{ location?: string }>(clients, { method: "GET", path, apiVersion: RESOURCE_GROUPS_API_VERSION });
    if (!body.location) throw new TaskError(`Resource group '${ref.resourceGroupName}' has no location.`);
    return body.location;
  } catch (error) {
    throw new TaskError(
      describeFailure(error, {
        action: `read resource group '${ref.resourceGroupName}' (its region decides the default workspace)`,
        permission: "Microsoft.Resources/subscriptions/resourceGroups/read",
      }),
    );
  }
}

export async function writeContainersPlan(clients: AzureClients, change: ContainersPlanChange): Promise<void> {
  if (!change.write) return;
  try {
    await writeContainersPricing(clients, change.pricing!);
  } catch (error) {
    const { status } = azureErrorDetails(error);
    throw new TaskError(
      describeFailure(error, {
        action: "turn on the subscription's Defender for Containers plan (enableContainersPlan)",
        permission: "Microsoft.Security/pricings/write",
      }) +
        (status === 403
          ? " Security Admin on the subscription has it; or turn the plan on in Defender for Cloud and set enableContainersPlan to false."
          : ""),
    );
  }
}

export function applySensor(
  clients: AzureClients,
  ref: ClusterRef,
  options: { workspaceId: string; dryRun: boolean; busyTimeoutMs: number; initial: ManagedCluster },
): Promise<ClusterUpdateResult<SensorPlan>> {
  return updateCluster(clusterClient(clients), ref, {
    initial: options.initial,
    plan: (cluster) => planSensor(cluster, options.workspaceId),
    apply: withSensor,
    dryRun: options.dryRun,
    busyTimeoutMs: options.busyTimeoutMs,
  });
}
