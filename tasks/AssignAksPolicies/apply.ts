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
  type PolicyRuleInfo,
  type PolicyStateInfo,
} from "./plan";

const DEFINITION_ID =
  /^(?:\/subscriptions\/([^/]+)|\/providers\/Microsoft\.Management\/managementGroups\/([^/]+))?\/providers\/Microsoft\.Authorization\/(policyDefinitions|policySetDefinitions)\/([^/]+)$/i;

/**
 * Reads the definition (or initiative) behind each source, so its parameters can be checked before
 * anything is written. A custom initiative's members are read too (a second round trip, only then): a
 * member that modifies or deploys resources makes the assignment need an identity. The built-in
 * initiatives this task offers hold only Kubernetes Audit/Deny policies (PSPBaselineStandard.json,
 * PSPRestrictedStandard.json in Azure/azure-policy f4a50bac), so theirs are not read.
 */
export async function readDefinitions(clients: AzureClients, sources: readonly AssignmentSource[]): Promise<DefinitionInfo[]> {
  const definitions = await readTogether(sources.map((source) => readDefinition(clients, source)));
  const memberIds = [
    ...new Set(
      definitions.flatMap((definition, i) =>
        sources[i]!.kind === "custom" ? (definition.members ?? []).map((m) => m.definitionId.toLowerCase()) : [],
      ),
    ),
  ];
  if (memberIds.length === 0) return definitions;
  const members = await readTogether(
    memberIds.map((id) =>
      readDefinition(clients, { kind: "custom", definitionId: id }, "a policy definition of an initiative in customPolicyDefinitionIds"),
    ),
  );
  return definitions.map((definition, i) =>
    sources[i]!.kind === "custom" && definition.members
      ? {
          ...definition,
          members: definition.members.map((member) => {
            const read = members[memberIds.indexOf(member.definitionId.toLowerCase())];
            return read?.rule ? { ...member, definition: { parameters: read.parameters, rule: read.rule } } : member;
          }),
        }
      : definition,
  );
}

async function readDefinition(clients: AzureClients, source: AssignmentSource, what?: string): Promise<DefinitionInfo> {
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
    const info: DefinitionInfo = {
      id: found.id ?? id,
      displayName: found.displayName ?? name,
      kind: initiative ? "initiative" : "policy",
      parameters: found.parameters ?? {},
    };
    if ("policyDefinitions" in found) {
      info.members = (found.policyDefinitions ?? []).map((m) => ({
        definitionId: m.policyDefinitionId,
        parameters: Object.fromEntries(Object.entries(m.parameters ?? {}).map(([key, v]) => [key, v.value])),
      }));
    } else {
      info.rule = ruleOf((found as PolicyDefinition).policyRule);
    }
    return info;
  } catch (error) {
    const { status } = azureErrorDetails(error);
    if (status === 404 && source.kind === "custom") {
      throw new InputError(
        "customPolicyDefinitionIds",
        `${what ?? `the policy ${initiative ? "initiative" : "definition"}`} '${id}' was not found. Check the ID (Azure portal > Policy > Definitions) and that the service connection can read it.`,
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

/** A rule's effect and the roles its `then.details.roleDefinitionIds` names (both as the definition states them). */
function ruleOf(policyRule: unknown): PolicyRuleInfo {
  const then = (policyRule as { then?: { effect?: unknown; details?: { roleDefinitionIds?: unknown } } } | undefined)?.then;
  const roles = then?.details?.roleDefinitionIds;
  return {
    ...(then?.effect === undefined ? {} : { effect: then.effect }),
    roleDefinitionIds: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === "string") : [],
  };
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
    ...(assignment.identity?.type
      ? {
          identity: {
            type: assignment.identity.type,
            ...(assignment.identity.principalId ? { principalId: assignment.identity.principalId } : {}),
            ...(assignment.identity.userAssignedIdentities ? { userAssignedIdentities: assignment.identity.userAssignedIdentities } : {}),
          },
        }
      : {}),
    ...(assignment.location ? { location: assignment.location } : {}),
  };
}

export interface WrittenAssignment {
  id: string;
  name: string;
  changedAt: Date;
  /** The assignment's system-assigned identity, when it has one. */
  principalId?: string;
}

/**
 * Creates or updates the task's assignments that need it, at the cluster's scope. The metadata keeps
 * what Azure and others put there and adds the task's marker. An assignment that modifies or deploys
 * resources gets a system-assigned identity and the cluster's location (ARM refuses it without:
 * ResourceIdentityRequired; the location comes with the identity, spec example
 * createPolicyAssignmentWithIdentity 2025-03-01); an identity and location the assignment already has are
 * sent back as they are, as a PUT replaces the assignment.
 */
export async function writeAssignments(
  clients: AzureClients,
  cluster: { id: string; location: string },
  changes: readonly AssignmentChange[],
): Promise<WrittenAssignment[]> {
  const clusterId = cluster.id;
  // The SDK puts the scope after a slash of its own.
  const scope = clusterId.replace(/^\/+/, "");
  const toWrite = changes.filter((change) => change.action === "create" || change.action === "update");
  // The assignments are independent of each other: written together, one round trip for all.
  const settled = await Promise.allSettled(
    toWrite.map(async (change): Promise<WrittenAssignment> => {
      const wanted = change.wanted;
      const before = change.before;
      const identity = before?.identity
        ? {
            type: before.identity.type,
            ...(before.identity.userAssignedIdentities ? { userAssignedIdentities: before.identity.userAssignedIdentities } : {}),
          }
        : wanted.remediation
          ? { type: "SystemAssigned" }
          : undefined;
      const location = before?.location ?? (identity ? cluster.location : undefined);
      const body: PolicyAssignment = {
        ...(identity ? { identity: identity as PolicyAssignment["identity"] } : {}),
        ...(location ? { location } : {}),
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
        ...(result.identity?.principalId ? { principalId: result.identity.principalId } : {}),
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
