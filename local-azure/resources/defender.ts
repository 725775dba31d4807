import { ArmError } from "../http";
import { newGuid } from "../jwt";
import type { ArmResource } from "./arm-resource";
import { isPlainObject } from "./merge";

export const WORKSPACE_TYPE = "Microsoft.OperationalInsights/workspaces";
export const PRICING_TYPE = "Microsoft.Security/pricings";

export function workspaceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${WORKSPACE_TYPE}/${name}`;
}

/** A Log Analytics workspace as Workspaces_Get answers it (spec example WorkspacesGet, OperationalInsights stable 2025-07-01). */
export function logAnalyticsWorkspace(p: { subscriptionId: string; resourceGroup: string; name: string; location: string }): ArmResource {
  return {
    id: workspaceId(p.subscriptionId, p.resourceGroup, p.name),
    name: p.name,
    type: WORKSPACE_TYPE,
    location: p.location,
    tags: {},
    properties: {
      provisioningState: "Succeeded",
      customerId: newGuid(),
      sku: { name: "PerGB2018" },
      retentionInDays: 30,
      publicNetworkAccessForIngestion: "Enabled",
      publicNetworkAccessForQuery: "Enabled",
    },
  };
}

export function pricingId(subscriptionId: string, name: string): string {
  return `/subscriptions/${subscriptionId}/providers/${PRICING_TYPE}/${name}`;
}

/**
 * A plan of Microsoft Defender for Cloud that was never turned on, as Pricings_Get answers it
 * (Microsoft.Security stable 2024-01-01, pricings.json; shape of the example GetPricingByNameDns with
 * the Free tier): `pricingTier` Free, no extensions.
 */
export function freePricing(subscriptionId: string, name: string): ArmResource {
  return {
    id: pricingId(subscriptionId, name),
    name,
    type: PRICING_TYPE,
    properties: { pricingTier: "Free", freeTrialRemainingTime: "P30D" },
  };
}

/**
 * Pricings_Update (PUT, 200 as in the example PutPricingByName): `pricingTier` is Free or Standard
 * (the spec's PricingTier enum); the stored plan is what was sent, with the read-only fields Azure
 * adds (enablementTime when it goes Standard, freeTrialRemainingTime) and each sent extension's
 * operationStatus. The 400's wording is not published: assumed.
 */
export function composePricing(current: ArmResource, requested: Record<string, unknown>, now: Date): ArmResource {
  const properties = isPlainObject(requested["properties"]) ? structuredClone(requested["properties"]) : {};
  const tier = properties["pricingTier"];
  if (tier !== "Free" && tier !== "Standard") {
    throw new ArmError(400, "InvalidInputJson", `The pricingTier '${String(tier)}' is not valid; use Free or Standard.`);
  }
  const before = (current.properties ?? {}) as Record<string, unknown>;
  const extensions = Array.isArray(properties["extensions"])
    ? (properties["extensions"] as unknown[]).map((e) =>
        isPlainObject(e) ? { ...e, operationStatus: { code: "Succeeded", message: "Successfully enabled extension" } } : e,
      )
    : undefined;
  return {
    ...current,
    properties: {
      ...properties,
      ...(extensions ? { extensions } : {}),
      freeTrialRemainingTime: before["freeTrialRemainingTime"] ?? "PT0S",
      ...(tier === "Standard"
        ? { enablementTime: before["pricingTier"] === "Standard" ? before["enablementTime"] : now.toISOString() }
        : {}),
    },
  };
}

/**
 * What AKS refuses in a cluster PUT's auto-upgrade and Defender settings:
 * - `autoUpgradeProfile.upgradeChannel` and `nodeOSUpgradeChannel` outside the spec's enums
 *   (UpgradeChannel: rapid, stable, patch, node-image, none; NodeOSUpgradeChannel: None, Unmanaged,
 *   NodeImage, SecurityPatch; managedClusters.json 2026-04-01).
 * - the node-image upgrade channel with a node OS channel other than NodeImage: AKS docs
 *   (auto-upgrade-node-os-image.md, "Node OS autoupgrade channel known limitations": "You can't change
 *   the node OS autoupgrade channel value if your cluster autoupgrade channel is node-image"), which
 *   terraform-provider-azurerm#22187 validates before sending.
 * - `securityProfile.defender.securityMonitoring.enabled` without a Log Analytics workspace: the spec's
 *   ManagedClusterSecurityProfileDefender ("When Microsoft Defender is enabled, this field is required
 *   and must be a valid workspace resource ID").
 * The wording of these 400s is not published: assumed.
 */
export function validateAutoUpgradeAndDefender(properties: Record<string, unknown>): void {
  const profile = properties["autoUpgradeProfile"];
  if (isPlainObject(profile)) {
    const channel = profile["upgradeChannel"];
    const nodeOs = profile["nodeOSUpgradeChannel"];
    if (channel !== undefined && channel !== null && !["rapid", "stable", "patch", "node-image", "none"].includes(String(channel))) {
      throw new ArmError(
        400,
        "InvalidParameter",
        `The value '${String(channel)}' of parameter 'autoUpgradeProfile.upgradeChannel' is invalid: use rapid, stable, patch, node-image or none.`,
      );
    }
    if (nodeOs !== undefined && nodeOs !== null && !["None", "Unmanaged", "NodeImage", "SecurityPatch"].includes(String(nodeOs))) {
      throw new ArmError(
        400,
        "InvalidParameter",
        `The value '${String(nodeOs)}' of parameter 'autoUpgradeProfile.nodeOSUpgradeChannel' is invalid: use None, Unmanaged, NodeImage or SecurityPatch.`,
      );
    }
    if (channel === "node-image" && nodeOs !== undefined && nodeOs !== null && nodeOs !== "NodeImage") {
      throw new ArmError(
        400,
        "InvalidParameter",
        `The node OS upgrade channel cannot be '${String(nodeOs)}' while the auto-upgrade channel is 'node-image': it must be NodeImage.`,
      );
    }
  }
  const defender = (properties["securityProfile"] as { defender?: unknown } | undefined)?.defender;
  if (isPlainObject(defender) && (defender["securityMonitoring"] as { enabled?: unknown } | undefined)?.enabled === true) {
    const workspace = defender["logAnalyticsWorkspaceResourceId"];
    const valid =
      typeof workspace === "string" &&
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+$/i.test(workspace);
    if (!valid) {
      throw new ArmError(
        400,
        "InvalidParameter",
        "The value of parameter 'securityProfile.defender.logAnalyticsWorkspaceResourceId' is invalid: it is required and must be a Log Analytics workspace resource ID when Microsoft Defender is enabled.",
      );
    }
  }
}
