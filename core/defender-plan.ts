import type { AzureClients } from "./azure";
import { armGetOptional, armJson } from "./arm-json";

/**
 * The subscription's Microsoft Defender for Containers plan: `Microsoft.Security/pricings/Containers`
 * (Pricings_Get / Pricings_Update, Microsoft.Security stable 2024-01-01, pricings.json). `pricingTier`
 * is Free or Standard; Standard is what produces detections from the clusters' Defender sensors.
 * EnableDefender@1 turns it on, AksHardeningReport@1 reports it.
 */
export const PRICINGS_API_VERSION = "2024-01-01";

export interface ContainersPricing {
  pricingTier: string;
  subPlan?: string;
  extensions?: { name: string; isEnabled: string; additionalExtensionProperties?: Record<string, unknown> }[];
}

function containersPricingPath(subscriptionId: string): string {
  return `/subscriptions/${encodeURIComponent(subscriptionId)}/providers/Microsoft.Security/pricings/Containers`;
}

/** The plan as read (a plan never set reads as Free); Azure's errors are thrown as they came. */
export async function readContainersPricing(clients: AzureClients): Promise<ContainersPricing> {
  const found = await armGetOptional<{ properties?: Partial<ContainersPricing> }>(
    clients,
    containersPricingPath(clients.connection.subscriptionId),
    PRICINGS_API_VERSION,
  );
  const p = found?.properties ?? {};
  return {
    pricingTier: p.pricingTier ?? "Free",
    ...(p.subPlan ? { subPlan: p.subPlan } : {}),
    ...(p.extensions?.length
      ? {
          extensions: p.extensions.map((e) => ({
            name: e.name,
            isEnabled: e.isEnabled,
            ...(e.additionalExtensionProperties ? { additionalExtensionProperties: e.additionalExtensionProperties } : {}),
          })),
        }
      : {}),
  };
}

/** PUT replaces the plan: the caller sends back what it does not change (sub-plan, extensions). */
export async function writeContainersPricing(clients: AzureClients, pricing: ContainersPricing): Promise<void> {
  await armJson(clients, {
    method: "PUT",
    path: containersPricingPath(clients.connection.subscriptionId),
    apiVersion: PRICINGS_API_VERSION,
    body: { properties: pricing },
  });
}
