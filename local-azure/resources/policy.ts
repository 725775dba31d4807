import { ArmError } from "../http";
import { newGuid } from "../jwt";
import type { ArmResource } from "./arm-resource";
import { isPlainObject } from "./merge";

/** What the policy model reads of the resource store (which satisfies it: resource models never import the store). */
export interface ResourceReader {
  readonly subscriptionId: string;
  get(id: string): ArmResource | undefined;
  list(parentId: string, type?: string): ArmResource[];
}

export const POLICY_ASSIGNMENT_TYPE = "Microsoft.Authorization/policyAssignments";
const ASSIGNMENTS = "/providers/Microsoft.Authorization/policyAssignments/";

export function policyAssignmentId(scope: string, name: string): string {
  return `${scope.replace(/\/+$/, "")}${ASSIGNMENTS}${name}`;
}

/** The scope part of an assignment ID (everything before /providers/Microsoft.Authorization/policyAssignments/). */
export function scopeOfAssignment(id: string): string {
  const at = id.toLowerCase().lastIndexOf(ASSIGNMENTS.toLowerCase());
  return at < 0 ? id : id.slice(0, at);
}

interface ParameterSchema {
  type?: string;
  allowedValues?: unknown[];
  defaultValue?: unknown;
}

/** A policy definition or initiative by ID: built-in, subscription or management group. */
export function findDefinition(store: ResourceReader, definitionId: string): ArmResource | undefined {
  if (!/\/providers\/Microsoft\.Authorization\/policy(Set)?Definitions\/[^/]+$/i.test(definitionId)) return undefined;
  return store.get(definitionId);
}

const parameterTypes: Record<string, (value: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  array: Array.isArray,
  object: isPlainObject,
  boolean: (v) => typeof v === "boolean",
  integer: (v) => Number.isInteger(v),
  float: (v) => typeof v === "number",
  datetime: (v) => typeof v === "string",
};

/**
 * What Azure Policy checks when an assignment is written: the definition exists, every parameter given is
 * declared, has the declared type and one of the allowed values, every parameter without a default is
 * given, and an assignment whose policies modify or deploy resources carries an identity.
 */
export function validateAssignment(
  store: ResourceReader,
  name: string,
  properties: Record<string, unknown>,
  identity?: unknown,
): ArmResource {
  const definitionId = properties["policyDefinitionId"];
  if (typeof definitionId !== "string" || definitionId.length === 0) {
    throw new ArmError(400, "InvalidRequestContent", "The policy assignment must have a 'policyDefinitionId'.");
  }
  const definition = findDefinition(store, definitionId);
  if (!definition) {
    const kind = /policySetDefinitions/i.test(definitionId) ? "PolicySetDefinitionNotFound" : "PolicyDefinitionNotFound";
    throw new ArmError(404, kind, `The policy definition '${definitionId.split("/").pop()}' could not be found.`);
  }
  const declared = (definition.properties?.["parameters"] ?? {}) as Record<string, ParameterSchema>;
  const given = properties["parameters"] ?? {};
  if (!isPlainObject(given)) throw new ArmError(400, "InvalidRequestContent", "The policy assignment 'parameters' must be an object.");
  const declaredName = (key: string) => Object.keys(declared).find((d) => d.toLowerCase() === key.toLowerCase());
  for (const [key, entry] of Object.entries(given)) {
    const schemaName = declaredName(key);
    if (!schemaName) {
      throw new ArmError(
        400,
        "UndefinedPolicyParameter",
        `The policy assignment '${name}' has the parameter(s) '${key}' which are not defined in the policy definition '${definition.name}'.`,
      );
    }
    const schema = declared[schemaName]!;
    const value = isPlainObject(entry) ? entry["value"] : undefined;
    const check = parameterTypes[(schema.type ?? "string").toLowerCase()];
    if (check && !check(value)) {
      throw new ArmError(
        400,
        "InvalidPolicyParameters",
        `The policy assignment '${name}' parameter '${key}' is of type '${typeof value}' but the policy definition '${definition.name}' expects '${schema.type}'.`,
      );
    }
    if (schema.allowedValues && !schema.allowedValues.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
      throw new ArmError(
        400,
        "InvalidPolicyParameters",
        `The policy assignment '${name}' parameter '${key}' value '${String(value)}' is not allowed. Allowed values: ${schema.allowedValues.map(String).join(", ")}.`,
      );
    }
  }
  const missing = Object.entries(declared)
    .filter(([key, schema]) => schema.defaultValue === undefined && !Object.keys(given).some((g) => g.toLowerCase() === key.toLowerCase()))
    .map(([key]) => key);
  if (missing.length) {
    throw new ArmError(
      400,
      "MissingPolicyParameter",
      `The policy assignment '${name}' is missing the parameter(s) '${missing.join("', '")}' as defined in the policy definition '${definition.name}'.`,
    );
  }
  const identityType = isPlainObject(identity) ? String(identity["type"] ?? "None") : "None";
  if (identityType.toLowerCase() === "none") {
    const remediating = assignedEffects(store, definition, given).find((e) => REMEDIATING_EFFECTS.includes(e.toLowerCase()));
    if (remediating) {
      // The answer quoted in Azure/azure-powershell#11996 and Azure/azure-cli#13150 (for Modify); the same
      // rule holds for DeployIfNotExists (hashicorp/terraform-provider-azurerm#4950, PR #2549's docs).
      throw new ArmError(
        400,
        "ResourceIdentityRequired",
        `The policy assignment '${name}' request is invalid. Policy assignments must include a resource identity when assigning '${remediating.toLowerCase() === "modify" ? "Modify" : "DeployIfNotExists"}' policy definitions.`,
      );
    }
  }
  return definition;
}

/** Effects that change resources, which Azure Policy carries out with the assignment's identity. */
const REMEDIATING_EFFECTS = ["modify", "deployifnotexists"];

const PARAMETER_REFERENCE = /^\[parameters\('([^']+)'\)\]$/i;

/** A value as a definition resolves it: `[parameters('x')]` takes the given value of `x`, else its default. */
function resolveValue(value: unknown, given: Record<string, unknown>, declared: Record<string, ParameterSchema>): unknown {
  if (typeof value !== "string") return value;
  const reference = PARAMETER_REFERENCE.exec(value.trim());
  if (!reference) return value;
  const name = reference[1]!.toLowerCase();
  const givenKey = Object.keys(given).find((k) => k.toLowerCase() === name);
  if (givenKey !== undefined) {
    const entry = given[givenKey];
    return isPlainObject(entry) ? entry["value"] : undefined;
  }
  const declaredKey = Object.keys(declared).find((k) => k.toLowerCase() === name);
  return declaredKey === undefined ? undefined : declared[declaredKey]!.defaultValue;
}

/** The effects an assignment with these parameters applies: the definition's, or each member's of an initiative. */
function assignedEffects(store: ResourceReader, definition: ArmResource, given: Record<string, unknown>): string[] {
  const properties = definition.properties ?? {};
  const declared = (properties["parameters"] ?? {}) as Record<string, ParameterSchema>;
  const members = properties["policyDefinitions"];
  if (!Array.isArray(members)) {
    const rule = properties["policyRule"] as { then?: { effect?: unknown } } | undefined;
    const effect = resolveValue(rule?.then?.effect, given, declared);
    return typeof effect === "string" ? [effect] : [];
  }
  return (members as { policyDefinitionId?: string; parameters?: Record<string, unknown> }[]).flatMap((member) => {
    const memberDefinition = member.policyDefinitionId ? findDefinition(store, member.policyDefinitionId) : undefined;
    if (!memberDefinition) return [];
    // What the initiative passes its member, resolved against the assignment's values and the initiative's defaults.
    const passed = Object.fromEntries(
      Object.entries(member.parameters ?? {}).map(([key, entry]) => [
        key,
        { value: resolveValue(isPlainObject(entry) ? entry["value"] : undefined, given, declared) },
      ]),
    );
    return assignedEffects(store, memberDefinition, passed);
  });
}

/**
 * The assignment as Azure stores it after a PUT, after the spec example createPolicyAssignment (2025-03-01):
 * scope and notScopes filled in, enforcement mode defaulted, Azure's own metadata (createdBy/On, updatedBy/On)
 * and systemData kept up to date.
 */
export function composeAssignment(p: {
  scope: string;
  name: string;
  requested: Record<string, unknown>;
  current: ArmResource | undefined;
  callerId: string;
  /** The tenant a system-assigned identity's service principal is made in. */
  tenantId: string;
  /** The store's clock (ResourceStore.now). */
  now: Date;
}): ArmResource {
  const requestedProperties = isPlainObject(p.requested["properties"]) ? structuredClone(p.requested["properties"]) : {};
  const now = p.now.toISOString();
  const currentProperties = p.current?.properties ?? {};
  const currentMetadata = isPlainObject(currentProperties["metadata"]) ? currentProperties["metadata"] : {};
  const metadata = {
    ...(isPlainObject(requestedProperties["metadata"]) ? requestedProperties["metadata"] : {}),
    createdBy: currentMetadata["createdBy"] ?? p.callerId,
    createdOn: currentMetadata["createdOn"] ?? now,
    updatedBy: p.current ? p.callerId : null,
    updatedOn: p.current ? now : null,
  };
  const currentSystemData = isPlainObject(p.current?.["systemData"]) ? p.current["systemData"] : undefined;
  const resource: ArmResource = {
    id: policyAssignmentId(p.scope, p.name),
    name: p.name,
    type: POLICY_ASSIGNMENT_TYPE,
    properties: {
      ...requestedProperties,
      metadata,
      scope: p.scope,
      notScopes: Array.isArray(requestedProperties["notScopes"]) ? requestedProperties["notScopes"] : [],
      parameters: isPlainObject(requestedProperties["parameters"]) ? requestedProperties["parameters"] : {},
      enforcementMode: typeof requestedProperties["enforcementMode"] === "string" ? requestedProperties["enforcementMode"] : "Default",
      instanceId: currentProperties["instanceId"] ?? newGuid(),
    },
    systemData: {
      createdBy: currentSystemData?.["createdBy"] ?? p.callerId,
      createdByType: currentSystemData?.["createdByType"] ?? "Application",
      createdAt: currentSystemData?.["createdAt"] ?? now,
      lastModifiedBy: p.callerId,
      lastModifiedByType: "Application",
      lastModifiedAt: now,
    },
  };
  if (typeof p.requested["location"] === "string") resource.location = p.requested["location"];
  const identity = p.requested["identity"];
  if (isPlainObject(identity) && String(identity["type"]).toLowerCase() === "systemassigned") {
    // As the spec example createPolicyAssignmentWithIdentity (2025-03-01) answers: a service principal of
    // the assignment's own, kept while the assignment keeps its system-assigned identity.
    const current = isPlainObject(p.current?.["identity"]) ? p.current["identity"] : undefined;
    const kept = String(current?.["type"]).toLowerCase() === "systemassigned" ? current : undefined;
    resource["identity"] = {
      type: "SystemAssigned",
      principalId: kept?.["principalId"] ?? newGuid(),
      tenantId: kept?.["tenantId"] ?? p.tenantId,
    };
  } else if (isPlainObject(identity)) {
    resource["identity"] = identity;
  }
  return resource;
}

/** Assignments that apply to a resource: at its own scope and at every scope above it. */
export function assignmentsApplyingTo(store: ResourceReader, resourceId: string): ArmResource[] {
  const target = resourceId.toLowerCase().replace(/\/+$/, "");
  return store.list(`/subscriptions/${store.subscriptionId}`, POLICY_ASSIGNMENT_TYPE).filter((a) => {
    const scope = String(a.properties?.["scope"] ?? scopeOfAssignment(a.id)).toLowerCase();
    return target === scope || target.startsWith(`${scope}/`);
  });
}

export type ComplianceState = "Compliant" | "NonCompliant";

/** One row of `policyStates/latest/queryResults`, after the spec example PolicyStates_QueryResourceScope (2024-10-01). */
export interface PolicyStateRecord {
  timestamp: string;
  resourceId: string;
  policyAssignmentId: string;
  policyDefinitionId: string;
  policySetDefinitionId: string;
  policyDefinitionReferenceId: string;
  complianceState: ComplianceState;
  isCompliant: boolean;
  [field: string]: unknown;
}

/**
 * What the Azure Policy add-on reports after a sync at `now`: one state per assignment applying to the
 * resource (one per member policy for an initiative). `nonCompliant` picks which come out non-compliant,
 * by assignment name, or assignment name + "/" + the member's policyDefinitionReferenceId.
 */
export function evaluatePolicies(
  store: ResourceReader,
  resourceId: string,
  nonCompliant: readonly string[],
  now: Date,
): PolicyStateRecord[] {
  const resource = store.get(resourceId);
  if (!resource) throw new Error(`evaluatePolicies: no resource ${resourceId}`);
  const timestamp = now.toISOString();
  const isNonCompliant = (key: string) => nonCompliant.some((k) => k.toLowerCase() === key.toLowerCase());
  const records: PolicyStateRecord[] = [];
  for (const assignment of assignmentsApplyingTo(store, resourceId)) {
    const properties = assignment.properties ?? {};
    const definitionId = String(properties["policyDefinitionId"]);
    const definition = findDefinition(store, definitionId);
    const isSet = /policySetDefinitions/i.test(definitionId);
    const members = isSet
      ? ((definition?.properties?.["policyDefinitions"] ?? []) as { policyDefinitionId: string; policyDefinitionReferenceId: string }[])
      : [{ policyDefinitionId: definitionId, policyDefinitionReferenceId: "" }];
    for (const member of members) {
      const state: ComplianceState =
        isNonCompliant(assignment.name) ||
        (member.policyDefinitionReferenceId && isNonCompliant(`${assignment.name}/${member.policyDefinitionReferenceId}`))
          ? "NonCompliant"
          : "Compliant";
      records.push({
        timestamp,
        resourceId: resource.id,
        policyAssignmentId: assignment.id,
        policyDefinitionId: member.policyDefinitionId,
        effectiveParameters: "",
        isCompliant: state === "Compliant",
        subscriptionId: store.subscriptionId,
        resourceType: resource.type,
        resourceLocation: resource.location ?? "",
        resourceGroup: /\/resourceGroups\/([^/]+)/i.exec(resource.id)?.[1] ?? "",
        resourceTags: "tbd",
        policyAssignmentName: assignment.name,
        policyAssignmentOwner: "tbd",
        policyAssignmentParameters: JSON.stringify(properties["parameters"] ?? {}),
        policyAssignmentScope: String(properties["scope"] ?? ""),
        policyDefinitionName: member.policyDefinitionId.split("/").pop() ?? "",
        policyDefinitionAction: "audit",
        policyDefinitionCategory: "tbd",
        policySetDefinitionId: isSet ? definitionId : "",
        policySetDefinitionName: isSet ? (definitionId.split("/").pop() ?? "") : "",
        policySetDefinitionOwner: "",
        policySetDefinitionCategory: "",
        policySetDefinitionParameters: "",
        managementGroupIds: "",
        policyDefinitionReferenceId: member.policyDefinitionReferenceId,
        complianceState: state,
      });
    }
  }
  return records;
}
