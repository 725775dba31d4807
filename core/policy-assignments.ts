import { createPipelineRequest } from "@azure/core-rest-pipeline";
import { PolicyClient } from "@azure/arm-policy";
import type { AzureClients } from "./azure";
import { TaskError } from "./errors";

/** One policy assignment as ARM sends it in a list page (Microsoft.Authorization, PolicyAssignmentListResult). */
export interface AssignmentWire {
  id?: string;
  name?: string;
  location?: string;
  identity?: { type?: string; principalId?: string; userAssignedIdentities?: Record<string, unknown> };
  properties?: {
    displayName?: string;
    scope?: string;
    policyDefinitionId?: string;
    parameters?: Record<string, { value?: unknown }>;
    enforcementMode?: string;
    metadata?: Record<string, unknown>;
  };
  systemData?: { createdAt?: string; lastModifiedAt?: string };
}

interface AssignmentPage {
  value?: AssignmentWire[];
  nextLink?: string;
  error?: { code?: string; message?: string };
}

/**
 * The policy assignments of a resource, every page: `atExactScope()` for those made at the resource
 * itself, `atScope()` for those that apply to it (made at it or above it). Asked for at the resource's
 * own ID (`{scope}/providers/Microsoft.Authorization/policyAssignments`): the SDK's listForResource
 * has a parentResourcePath slot that, empty for a top-level resource, leaves
 * `Microsoft.ContainerService//managedClusters` in the path. Sent through the policy client's
 * pipeline (sign-in, retries, proxy, the per-try timeout); errors are thrown as Azure gave them.
 */
export async function listAssignmentsOf(
  clients: AzureClients,
  resourceId: string,
  filter: "atExactScope()" | "atScope()",
): Promise<AssignmentWire[]> {
  const policy = policyClient(clients);
  const arm = new URL(clients.connection.armUrl);
  const query = new URLSearchParams({ "api-version": policy.apiVersion, $filter: filter });
  const found: AssignmentWire[] = [];
  let url: string | undefined = new URL(
    `${resourceId.replace(/^\/*/, "/")}/providers/Microsoft.Authorization/policyAssignments?${query.toString()}`,
    arm,
  ).toString();
  while (url) {
    // The link comes from Azure's answer: the connection's token only goes to the connection's ARM host.
    if (new URL(url).origin !== arm.origin) {
      throw new TaskError(`The policy assignments' next page points to another host than ${arm.origin}; not followed.`);
    }
    const response = await policy.sendRequest(createPipelineRequest({ url, method: "GET" }));
    const page = (response.bodyAsText ? JSON.parse(response.bodyAsText) : {}) as AssignmentPage;
    if (response.status !== 200) {
      throw Object.assign(new Error(page.error?.message ?? `HTTP ${response.status}`), {
        statusCode: response.status,
        code: page.error?.code,
      });
    }
    found.push(...(page.value ?? []));
    url = page.nextLink;
  }
  return found;
}

/** The run's one @azure/arm-policy client (assignments, definitions, initiatives). */
export function policyClient(clients: AzureClients): PolicyClient {
  return clients.client(
    "policy",
    () => new PolicyClient(clients.credential, clients.connection.subscriptionId, clients.classicArmOptions()),
  );
}

/** A parameter's key in a definition, initiative or assignment, matched as Azure Policy matches names: in any case. */
export function parameterKey(values: Record<string, unknown>, name: string): string | undefined {
  return Object.keys(values).find((key) => key.toLowerCase() === name.toLowerCase());
}

/** The parameter a rule or initiative value refers to when it is `[parameters('name')]`, the form policy definitions use. */
export function referencedParameter(value: unknown): string | undefined {
  return typeof value === "string" ? /^\[parameters\('([^']+)'\)\]$/i.exec(value.trim())?.[1] : undefined;
}
