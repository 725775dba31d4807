import { clusterWrite, type ClusterPlan, type ManagedCluster } from "../../core/cluster";
import type { PlannedWrite } from "../../core/permissions";
import type { ContainersPricing } from "../../core/defender-plan";

/** The cluster's Defender profile: the sensor (security monitoring) and the workspace it sends to. */
export interface SensorPlan extends ClusterPlan {
  before: { enabled: boolean; workspaceId?: string };
  after: { enabled: true; workspaceId: string };
}

const sameId = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

export function currentSensor(cluster: ManagedCluster): { enabled: boolean; workspaceId?: string } {
  const defender = cluster.securityProfile?.defender;
  return {
    enabled: defender?.securityMonitoring?.enabled === true,
    ...(defender?.logAnalyticsWorkspaceResourceId ? { workspaceId: defender.logAnalyticsWorkspaceResourceId } : {}),
  };
}

export function planSensor(cluster: ManagedCluster, workspaceId: string): SensorPlan {
  const before = currentSensor(cluster);
  return { empty: before.enabled && sameId(before.workspaceId, workspaceId), before, after: { enabled: true, workspaceId } };
}

/** The cluster to PUT: as read, with only the Defender profile's workspace and monitoring set (the rest of the security profile kept). */
export function withSensor(cluster: ManagedCluster, plan: SensorPlan): ManagedCluster {
  const security = cluster.securityProfile ?? {};
  return {
    ...cluster,
    securityProfile: {
      ...security,
      defender: {
        ...security.defender,
        logAnalyticsWorkspaceResourceId: plan.after.workspaceId,
        securityMonitoring: { ...security.defender?.securityMonitoring, enabled: true },
      },
    },
  };
}

export type PricingRead = { ok: true; pricing: ContainersPricing } | { ok: false; reason: string };

export interface ContainersPlanChange {
  before: string;
  after: string;
  write: boolean;
  /** What is PUT: Standard, with the sub-plan and extensions the subscription already has (a PUT replaces the plan). */
  pricing?: ContainersPricing;
}

/** Turns the plan on only when asked to; otherwise it is only reported. */
export function planContainersPlan(read: PricingRead, enable: boolean): ContainersPlanChange {
  if (!read.ok) return { before: "unknown", after: "unknown", write: false };
  const before = read.pricing.pricingTier;
  if (!enable || before.toLowerCase() === "standard") return { before, after: before, write: false };
  return {
    before,
    after: "Standard",
    write: true,
    pricing: {
      pricingTier: "Standard",
      ...(read.pricing.subPlan ? { subPlan: read.pricing.subPlan } : {}),
      ...(read.pricing.extensions?.length ? { extensions: read.pricing.extensions } : {}),
    },
  };
}

/**
 * The writes the plans make: the subscription's plan, checked at the cluster (the permissions list has
 * no subscription scope; whatever the subscription grants is inherited there), and the cluster.
 */
export function plannedWrites(clusterId: string, subscriptionId: string, sensor: SensorPlan, plan: ContainersPlanChange): PlannedWrite[] {
  return [
    ...(plan.write
      ? [
          {
            action: "Microsoft.Security/pricings/write",
            scope: `/subscriptions/${subscriptionId}`,
            listedAt: clusterId,
            purpose: "turn on the subscription's Defender for Containers plan (enableContainersPlan)",
          },
        ]
      : []),
    ...(sensor.empty ? [] : [clusterWrite(clusterId, "turn on the Defender sensor")]),
  ];
}
