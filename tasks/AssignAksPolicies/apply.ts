import * as tl from "azure-pipelines-task-lib/task";
import { PolicyClient, type PolicyAssignment, type PolicyDefinition, type PolicySetDefinition } from "@azure/arm-policy";
import { readTogether, type AzureClients } from "../../core/azure";
import {
  clusterClient,
  clusterResourceId,
  describeCluster,
  readCluster,
  updateCluster,
  type ClusterRef,
  type ClusterUpdateResult,
  type ManagedCluster,
} from "../../core/cluster";
import { azureErrorDetails, describeFailure, InputError, TaskError } from "../../core/errors";
import { listAssignmentsOf, policyClient, type AssignmentWire } from "../../core/policy-assignments";
import { queryLatestPolicyStates } from "../../core/policy-states";
import { BUILT_IN_POLICIES } from "./catalogue";
import {
  definitionIdOf,
  MARKER_KEY,
  planAddon,
  withAddonEnabled,
  type AddonPlan,
  type AssignmentChange,
  type AssignmentSource,
  type DefinitionInfo,
  type ExistingAssignment,
  type PolicyStateInfo,
} from "./plan";

const DEFINITION_ID =
  /^(?:\/subscriptions\/([^/]+)|\/providers\/Microsoft\.Management\/managementGroups\/([^/]+))?\/providers\/Microsoft\.Authorization\/(policyDefinitions|policySetDefinitions)\/([^/]+)$/i;

/** Reads the definition (or initiative) behind each source, so its parameters can be checked before anything is written. */
export function readDefinitions(clients: AzureClients, sources: readonly AssignmentSource[]): Promise<DefinitionInfo[]> {
  return readTogether(sources.map((source) => readDefinition(clients, source)));
}

async function readDefinition(clients: AzureClients, source: AssignmentSource): Promise<DefinitionInfo> {
  const id = definitionIdOf(source);
  const match = DEFINITION_ID.exec(id);
  if (!match) throw new InputError("customPolicyDefinitionIds", `'${id}' is not a policy definition ID.`);
  const [, subscriptionId, managementGroup, kind, name] = match as unknown as [
    string,
    string | undefined,
    string | undefined,
    string,
    string,
  ];
  const initiative = kind.toLowerCase() === "policysetdefinitions";
  try {
    let found: PolicyDefinition | PolicySetDefinition;
    const policy = policyClient(clients);
    if (managementGroup) {
      found = initiative
        ? await policy.policySetDefinitions.getAtManagementGroup(managementGroup, name)
        : await policy.policyDefinitions.getAtManagementGroup(managementGroup, name);
    } else if (subscriptionId) {
      const inSubscription =
        subscriptionId.toLowerCase() === clients.connection.subscriptionId.toLowerCase()
          ? policy
          : new PolicyClient(clients.credential, subscriptionId, clients.classicArmOptions());
      found = initiative ? await inSubscription.policySetDefinitions.get(name) : await inSubscription.policyDefinitions.get(name);
    } else {
      found = initiative ? await policy.policySetDefinitions.getBuiltIn(name) : await policy.policyDefinitions.getBuiltIn(name);
    }
    return {
      id: found.id ?? id,
      displayName: found.displayName ?? name,
      kind: initiative ? "initiative" : "policy",
      parameters: found.parameters ?? {},
    };
  } catch (error) {
    const { status } = azureErrorDetails(error);
    if (status === 404 && source.kind === "custom") {
      throw new InputError(
        "customPolicyDefinitionIds",
        `the policy ${initiative ? "initiative" : "definition"} '${id}' was not found. Check the ID (Azure portal > Policy > Definitions) and that the service connection can read it.`,
      );
    }
    if (status === 404) {
      throw new TaskError(
        `The built-in policy '${BUILT_IN_POLICIES[(source as { key: keyof typeof BUILT_IN_POLICIES }).key].title}' (${id}) does not exist in this cloud; deselect it in 'policies'.`,
      );
    }
    throw new TaskError(
      describeFailure(error, {
        action: `read the policy definition '${id}'`,
        permission: "Microsoft.Authorization/policyDefinitions/read",
      }),
    );
  }
}

/** The cluster as it is now: planned against before anything is written. */
export function readClusterState(clients: AzureClients, ref: ClusterRef): Promise<ManagedCluster> {
  return readCluster(clusterClient(clients), ref);
}

export function applyAddon(
  clients: AzureClients,
  ref: ClusterRef,
  options: { enableAddon: boolean; dryRun: boolean; busyTimeoutMs: number; initial: ManagedCluster },
): Promise<ClusterUpdateResult<AddonPlan>> {
  return updateCluster(clusterClient(clients), ref, {
    initial: options.initial,
    plan: (cluster) => planAddon(cluster, options.enableAddon),
    apply: (cluster) => withAddonEnabled(cluster),
    dryRun: options.dryRun,
    busyTimeoutMs: options.busyTimeoutMs,
  });
}

/** Assignments made at the cluster's own scope (not inherited from its resource group or subscription). */
export async function listClusterAssignments(clients: AzureClients, ref: ClusterRef): Promise<ExistingAssignment[]> {
  try {
    return (await listAssignmentsOf(clients, clusterResourceId(clients.connection.subscriptionId, ref), "atExactScope()")).map(toExisting);
  } catch (error) {
    throw new TaskError(
      describeFailure(error, {
        action: `list the policy assignments of ${describeCluster(ref)}`,
        permission: "Microsoft.Authorization/policyAssignments/read",
      }),
    );
  }
}

function toExisting(assignment: AssignmentWire): ExistingAssignment {
  const properties = assignment.properties ?? {};
  const changedAt = assignment.systemData?.lastModifiedAt ?? assignment.systemData?.createdAt;
  return {
    id: assignment.id ?? "",
    name: assignment.name ?? "",
    policyDefinitionId: properties.policyDefinitionId ?? "",
    parameters: Object.fromEntries(Object.entries(properties.parameters ?? {}).map(([k, v]) => [k, { value: v.value }])),
    enforcementMode: properties.enforcementMode ?? "Default",
    metadata: properties.metadata ?? {},
    ...(properties.displayName ? { displayName: properties.displayName } : {}),
    ...(changedAt ? { changedAt: new Date(changedAt) } : {}),
  };
}

export interface WrittenAssignment {
  id: string;
  name: string;
  changedAt: Date;
}

/**
 * Creates or updates the task's assignments that need it, at the cluster's scope. The metadata keeps
 * what Azure and others put there and adds the task's marker.
 */
export async function writeAssignments(
  clients: AzureClients,
  clusterId: string,
  changes: readonly AssignmentChange[],
): Promise<WrittenAssignment[]> {
  // The SDK puts the scope after a slash of its own.
  const scope = clusterId.replace(/^\/+/, "");
  const toWrite = changes.filter((change) => change.action === "create" || change.action === "update");
  // The assignments are independent of each other: written together, one round trip for all.
  const settled = await Promise.allSettled(
    toWrite.map(async (change): Promise<WrittenAssignment> => {
      const wanted = change.wanted;
      const body: PolicyAssignment = {
        displayName: wanted.displayName,
        description: `Assigned by the AssignAksPolicies@1 pipeline task (AKS Hardening Tasks). Re-running the task updates this assignment.`,
        policyDefinitionId: wanted.definition.id,
        parameters: wanted.parameters,
        enforcementMode: wanted.enforcementMode,
        metadata: { ...change.before?.metadata, assignedBy: "AKS Hardening Tasks", [MARKER_KEY]: wanted.marker },
      };
      const result = await policyClient(clients).policyAssignments.create(scope, wanted.name, body);
      return {
        id: result.id ?? `${clusterId}/providers/Microsoft.Authorization/policyAssignments/${wanted.name}`,
        name: wanted.name,
        changedAt: new Date(),
      };
    }),
  );
  const written = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failedAt = settled.findIndex((r) => r.status === "rejected");
  if (failedAt >= 0) {
    const change = toWrite[failedAt]!;
    throw new TaskError(
      describeFailure((settled[failedAt] as PromiseRejectedResult).reason, {
        action: `${change.action} the policy assignment '${change.wanted.name}' on the cluster${written.length ? ` (${written.length} other assignment(s) were written; re-run to finish)` : ""}`,
        permission: "Microsoft.Authorization/policyAssignments/write",
      }),
    );
  }
  return written;
}

/**
 * The latest compliance states of the cluster for the given assignments (every page, each POSTed:
 * `queryLatestPolicyStates`). A read; when it is refused the run still succeeds, with a warning, as
 * the assignments are already made.
 */
export async function readPolicyStates(
  clients: AzureClients,
  clusterId: string,
  assignmentIds: readonly string[],
): Promise<PolicyStateInfo[] | { error: string }> {
  if (assignmentIds.length === 0) return [];
  const filter = assignmentIds.map((id) => `policyAssignmentId eq '${id}'`).join(" or ");
  try {
    return await queryLatestPolicyStates(clients, clusterId, filter);
  } catch (error) {
    const message =
      error instanceof TaskError
        ? `Could not read the cluster's policy compliance: ${error.message}`
        : describeFailure(error, {
            action: "read the cluster's policy compliance",
            permission: "Microsoft.PolicyInsights/policyStates/queryResults/read",
          });
    tl.debug(message);
    return { error: message };
  }
}

/** Loaded on first use: only runs with reportCompliance evaluate the SDK. */
