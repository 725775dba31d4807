import { v5 as uuidv5 } from "uuid";
import { code, rich, toPlainText, type Span, type Text } from "../../core/report";
import { clusterWrite, type ManagedCluster } from "../../core/cluster";
import type { PlannedWrite } from "../../core/permissions";
import { InputError } from "../../core/errors";
import { parameterKey, referencedParameter } from "../../core/policy-assignments";
import { BUILT_IN_POLICIES, type PolicyKey } from "./catalogue";
import type { Effect, EnforcementMode, PolicyValues } from "./inputs";

/** A parameter as a policy definition declares it. */
export interface ParameterSchema {
  type?: string;
  allowedValues?: unknown[];
  defaultValue?: unknown;
}

/** What a policy definition's rule does: its `then.effect` (often `[parameters('effect')]`) and the roles remediation needs. */
export interface PolicyRuleInfo {
  effect?: unknown;
  /** `then.details.roleDefinitionIds`: the roles a Modify or DeployIfNotExists policy's identity needs. */
  roleDefinitionIds: string[];
}

/** An initiative's member: the values the initiative passes it and, when read, the definition itself. */
export interface MemberInfo {
  definitionId: string;
  parameters: Record<string, unknown>;
  definition?: { parameters: Record<string, ParameterSchema>; rule: PolicyRuleInfo };
}

/** What the task needs of a policy definition or initiative, as read from Azure. */
export interface DefinitionInfo {
  id: string;
  displayName: string;
  kind: "policy" | "initiative";
  parameters: Record<string, ParameterSchema>;
  /** A policy's rule; absent for an initiative. */
  rule?: PolicyRuleInfo;
  /** An initiative's members (their definitions read only where the task must know their effects). */
  members?: MemberInfo[];
}

/** Where an assignment comes from: a `policies` option or a `customPolicyDefinitionIds` line. */
export type AssignmentSource = { kind: "builtIn"; key: PolicyKey } | { kind: "custom"; definitionId: string };

export type ParameterValues = Record<string, { value: unknown }>;

/** The assignment the task wants at the cluster's scope. */
export interface WantedAssignment {
  name: string;
  source: AssignmentSource;
  definition: DefinitionInfo;
  displayName: string;
  parameters: ParameterValues;
  enforcementMode: EnforcementMode;
  /** The marker that proves the task made an assignment (kept in its metadata). */
  marker: AssignmentMarker;
  /** Inputs that reached this assignment's parameters. */
  inputsUsed: string[];
  /** Set when a policy it assigns modifies or deploys resources: the assignment needs an identity, which needs these roles. */
  remediation?: Remediation;
}

/** A Modify or DeployIfNotExists effect an assignment applies, and the roles its identity needs to carry it out. */
export interface Remediation {
  effect: string;
  roleDefinitionIds: string[];
}

export interface AssignmentMarker {
  task: "AssignAksPolicies";
  policy: string;
}

/** An assignment as read from Azure. */
export interface ExistingAssignment {
  id: string;
  name: string;
  policyDefinitionId: string;
  parameters: ParameterValues;
  enforcementMode: string;
  metadata: Record<string, unknown>;
  displayName?: string;
  /** When it was last written (systemData), to tell fresh compliance results from stale ones. */
  changedAt?: Date;
  /** Its managed identity (kept as it is on every update: a PUT without it would drop it). */
  identity?: { type: string; principalId?: string; userAssignedIdentities?: Record<string, unknown> };
  location?: string;
}

/** The metadata key that marks an assignment as made by this task. */
export const MARKER_KEY = "aksHardeningTasks";
const NAME_PREFIX = "aks-hardening-";
/** UUID v5 namespace for the names of custom definitions' assignments. */
const CUSTOM_NAME_NAMESPACE = "5195824e-8196-48c9-bbd1-15bb8c890097";

/**
 * The assignment's name at the cluster's scope: the same on every run, so a re-run updates instead of
 * duplicating. Built-ins get a readable name; other definitions a UUID v5 of their ID.
 */
export function assignmentName(source: AssignmentSource): string {
  if (source.kind === "builtIn") return `${NAME_PREFIX}${source.key}`;
  return `${NAME_PREFIX}${uuidv5(source.definitionId.toLowerCase(), CUSTOM_NAME_NAMESPACE)}`;
}

/** The sources a request asks for, built-ins first; a custom ID naming a built-in of the list counts once. */
export function assignmentSources(policies: readonly PolicyKey[], customIds: readonly string[]): AssignmentSource[] {
  const sources: AssignmentSource[] = policies.map((key) => ({ kind: "builtIn", key }));
  for (const id of customIds) {
    const builtIn = Object.values(BUILT_IN_POLICIES).find((p) => p.definitionId.toLowerCase() === id.toLowerCase());
    if (builtIn) {
      if (!policies.includes(builtIn.key)) sources.push({ kind: "builtIn", key: builtIn.key });
    } else sources.push({ kind: "custom", definitionId: id });
  }
  return sources;
}

export function definitionIdOf(source: AssignmentSource): string {
  return source.kind === "builtIn" ? BUILT_IN_POLICIES[source.key].definitionId : source.definitionId;
}

/** How the summary names a source. */
export function describeSource(source: AssignmentSource, definition?: DefinitionInfo): Span[] {
  if (source.kind === "builtIn") return rich`${BUILT_IN_POLICIES[source.key].title} (${code(source.key)})`;
  return rich`${definition?.displayName ?? source.definitionId} (custom)`;
}

/** The task's values and the definition parameters they fill, with the input each comes from. */
const PARAMETER_INPUTS = [
  { parameter: "effect", input: "effect" },
  { parameter: "excludedNamespaces", input: "excludedNamespaces" },
  { parameter: "cpuLimit", input: "cpuLimit" },
  { parameter: "memoryLimit", input: "memoryLimit" },
  { parameter: "allowedContainerImagesRegex", input: "allowedImagesRegex" },
] as const;

const REQUIRED_HINTS: Record<string, string> = {
  cpuLimit: "enter the most CPU a container may set as its limit, e.g. 500m or 1",
  memoryLimit: "enter the most memory a container may set as its limit, e.g. 512Mi or 1Gi",
  allowedImagesRegex: "enter a regular expression that allowed images match, e.g. ^myregistry\\.azurecr\\.io/.+$",
};

export interface AssignmentRequest {
  effect: Effect;
  enforcementMode: EnforcementMode;
  values: PolicyValues;
}

/**
 * Checks the request against a definition as read from Azure and returns the assignment to make.
 * Pure. Only parameters the definition declares are given; the effect is spelled as the definition
 * allows it (Kubernetes built-ins accept `Audit` and `audit`, some older or custom ones only the
 * lower-case form). Throws InputError naming the input when a parameter cannot be given.
 */
export function resolveAssignment(request: AssignmentRequest, source: AssignmentSource, definition: DefinitionInfo): WantedAssignment {
  const what = toPlainText(describeSource(source, definition));
  const declared = definition.parameters;
  const declaredName = (name: string) => parameterKey(declared, name);
  const valueFor: Record<string, unknown> = {
    effect: request.effect,
    excludedNamespaces: request.values.excludedNamespaces,
    cpuLimit: request.values.cpuLimit,
    memoryLimit: request.values.memoryLimit,
    allowedContainerImagesRegex: request.values.allowedImagesRegex,
  };

  const parameters: ParameterValues = {};
  const inputsUsed: string[] = [];
  for (const { parameter, input } of PARAMETER_INPUTS) {
    const name = declaredName(parameter);
    if (!name) continue;
    const schema = declared[name]!;
    let value = valueFor[parameter];
    if (value === undefined) {
      if (schema.defaultValue === undefined) {
        throw new InputError(
          input,
          `is required by ${what}, whose parameter '${name}' has no default: ${REQUIRED_HINTS[input] ?? "enter a value"}.`,
        );
      }
      continue;
    }
    if (parameter === "effect") value = effectSpelling(request.effect, schema, what);
    const expected = (schema.type ?? "String").toLowerCase();
    const actual = Array.isArray(value) ? "array" : "string";
    if (expected !== actual) {
      throw new InputError(
        input,
        `cannot be given to ${what}: its parameter '${name}' is of type ${schema.type}, not ${actual === "array" ? "Array" : "String"}.`,
      );
    }
    if (parameter !== "effect" && schema.allowedValues && !schema.allowedValues.some((allowed) => sameJson(allowed, value))) {
      throw new InputError(
        input,
        `'${String(value)}' is not allowed by ${what}; its parameter '${name}' allows ${schema.allowedValues.map((v) => `'${String(v)}'`).join(", ")}.`,
      );
    }
    parameters[name] = { value };
    inputsUsed.push(input);
  }

  const unfillable = Object.entries(declared)
    .filter(([name, schema]) => schema.defaultValue === undefined && !(name in parameters))
    .map(([name]) => name);
  if (unfillable.length) {
    throw new InputError(
      source.kind === "custom" ? "customPolicyDefinitionIds" : "policies",
      `${what} needs the parameter(s) ${unfillable.map((n) => `'${n}'`).join(", ")}, which have no default and which this task cannot set (it sets ${PARAMETER_INPUTS.map((p) => p.parameter).join(", ")}). Assign this definition another way, or give its parameters defaults.`,
    );
  }

  const remediation = remediationOf(definition, parameters);
  return {
    name: assignmentName(source),
    source,
    definition,
    displayName: `${definition.displayName} (AKS Hardening)`.slice(0, 128),
    parameters,
    enforcementMode: request.enforcementMode,
    marker: { task: "AssignAksPolicies", policy: source.kind === "builtIn" ? source.key : source.definitionId },
    inputsUsed,
    ...(remediation ? { remediation } : {}),
  };
}

/** Effects Azure Policy carries out with the assignment's identity: such an assignment must have one (ResourceIdentityRequired). */
const REMEDIATING_EFFECTS = ["modify", "deployifnotexists"];
/** A rule's or member's value as Azure Policy resolves it: `[parameters('x')]` is the value given for `x`, else its default. */
function resolveValue(value: unknown, given: Record<string, unknown>, declared: Record<string, ParameterSchema>): unknown {
  const name = referencedParameter(value);
  if (name === undefined) return value;
  const givenKey = parameterKey(given, name);
  if (givenKey !== undefined) return given[givenKey];
  const declaredKey = parameterKey(declared, name);
  return declaredKey === undefined ? undefined : declared[declaredKey]!.defaultValue;
}

/**
 * Whether the assignment, with these parameter values, applies a Modify or DeployIfNotExists effect (its
 * own rule's, or any member's of an initiative), and the roles those policies name for remediation. Pure.
 */
export function remediationOf(definition: DefinitionInfo, parameters: ParameterValues): Remediation | undefined {
  const given = Object.fromEntries(Object.entries(parameters).map(([name, { value }]) => [name, value]));
  const effects: { effect: string; roleDefinitionIds: string[] }[] = [];
  const consider = (rule: PolicyRuleInfo, values: Record<string, unknown>, declared: Record<string, ParameterSchema>) => {
    const effect = resolveValue(rule.effect, values, declared);
    if (typeof effect === "string" && REMEDIATING_EFFECTS.includes(effect.toLowerCase()))
      effects.push({ effect, roleDefinitionIds: rule.roleDefinitionIds });
  };
  if (definition.rule) consider(definition.rule, given, definition.parameters);
  for (const member of definition.members ?? []) {
    if (!member.definition) continue;
    const passed = Object.fromEntries(
      Object.entries(member.parameters).map(([name, value]) => [name, resolveValue(value, given, definition.parameters)]),
    );
    consider(member.definition.rule, passed, member.definition.parameters);
  }
  if (!effects.length) return undefined;
  return {
    effect: [...new Set(effects.map((e) => e.effect))].join(", "),
    roleDefinitionIds: [...new Set(effects.flatMap((e) => e.roleDefinitionIds))],
  };
}

/** `Deny` as the definition spells it: the exact value when allowed, else the allowed value that differs only in case. */
function effectSpelling(effect: Effect, schema: ParameterSchema, what: string): string {
  const allowed = schema.allowedValues?.filter((v): v is string => typeof v === "string");
  if (!allowed) return effect;
  const match = allowed.find((v) => v === effect) ?? allowed.find((v) => v.toLowerCase() === effect.toLowerCase());
  if (!match) {
    throw new InputError("effect", `'${effect}' is not an effect ${what} allows (it allows ${allowed.map((v) => `'${v}'`).join(", ")}).`);
  }
  return match;
}

/** Inputs the user gave that no selected definition takes: worth a warning, as they do nothing. */
export function unusedInputs(values: PolicyValues, wanted: readonly WantedAssignment[]): string[] {
  const given = [
    values.cpuLimit !== undefined && "cpuLimit",
    values.memoryLimit !== undefined && "memoryLimit",
    values.allowedImagesRegex !== undefined && "allowedImagesRegex",
  ].filter((v): v is string => typeof v === "string");
  return given.filter((input) => !wanted.some((w) => w.inputsUsed.includes(input)));
}

export type AssignmentAction = "create" | "update" | "unchanged" | "nameTaken";

export interface AssignmentChange {
  wanted: WantedAssignment;
  action: AssignmentAction;
  before?: ExistingAssignment;
  /** What differs, for the summary, e.g. "effect: Audit → Deny". */
  differences: string[];
}

export interface AssignmentsPlan {
  readonly empty: boolean;
  changes: AssignmentChange[];
  /** Assignments at the cluster's scope that the task did not make: never touched, listed for the reader. */
  others: ExistingAssignment[];
  /** Assignments the task made earlier whose policy is no longer selected: left as they are. */
  noLongerSelected: ExistingAssignment[];
}

export function isMadeByTask(assignment: ExistingAssignment): boolean {
  const marker = assignment.metadata[MARKER_KEY] as Partial<AssignmentMarker> | undefined;
  return marker?.task === "AssignAksPolicies";
}

/**
 * The writes needed to make the cluster's assignments as wanted. Pure. An assignment of the task's
 * that already has the definition, parameters and enforcement mode wanted is left alone; an
 * assignment the task did not make is never changed, even when it holds the task's name.
 */
export function planAssignments(wanted: readonly WantedAssignment[], existing: readonly ExistingAssignment[]): AssignmentsPlan {
  const byName = (name: string) => existing.find((e) => e.name.toLowerCase() === name.toLowerCase());
  const changes = wanted.map((w): AssignmentChange => {
    const before = byName(w.name);
    if (!before) return { wanted: w, action: "create", differences: [] };
    if (!isMadeByTask(before)) return { wanted: w, action: "nameTaken", before, differences: [] };
    const differences = describeDifferences(w, before);
    return { wanted: w, action: differences.length ? "update" : "unchanged", before, differences };
  });
  const wantedNames = new Set(wanted.map((w) => w.name.toLowerCase()));
  return {
    empty: changes.every((c) => c.action === "unchanged" || c.action === "nameTaken"),
    changes,
    others: existing.filter((e) => !isMadeByTask(e)),
    noLongerSelected: existing.filter((e) => isMadeByTask(e) && !wantedNames.has(e.name.toLowerCase())),
  };
}

function describeDifferences(wanted: WantedAssignment, before: ExistingAssignment): string[] {
  const differences: string[] = [];
  if (before.policyDefinitionId.toLowerCase() !== wanted.definition.id.toLowerCase()) {
    differences.push(`definition: ${before.policyDefinitionId} → ${wanted.definition.id}`);
  }
  const names = [...new Set([...Object.keys(before.parameters), ...Object.keys(wanted.parameters)])];
  for (const name of names) {
    const was = before.parameters[name]?.value;
    const now = wanted.parameters[name]?.value;
    if (!sameJson(was, now)) differences.push(`${name}: ${showValue(was)} → ${showValue(now)}`);
  }
  if ((before.enforcementMode || "Default") !== wanted.enforcementMode) {
    differences.push(`enforcementMode: ${before.enforcementMode || "Default"} → ${wanted.enforcementMode}`);
  }
  if (wanted.remediation && !hasIdentity(before)) differences.push("identity: none → SystemAssigned");
  return differences;
}

export function hasIdentity(assignment: ExistingAssignment): boolean {
  return assignment.identity !== undefined && assignment.identity.type.toLowerCase() !== "none";
}

function showValue(value: unknown): string {
  if (value === undefined) return "(the definition's default)";
  if (Array.isArray(value)) return value.length ? value.map(String).join(", ") : "(empty)";
  return String(value);
}

/** Equal as JSON, with object keys in any order. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/** The Azure Policy add-on: on, or to be turned on. */
export interface AddonPlan {
  readonly empty: boolean;
  enabledBefore: boolean;
  enabledAfter: boolean;
}

export const ADDON_KEY = "azurepolicy";

export function addonEnabled(cluster: ManagedCluster): boolean {
  const profiles = cluster.addonProfiles ?? {};
  const key = Object.keys(profiles).find((k) => k.toLowerCase() === ADDON_KEY);
  return key !== undefined && profiles[key]?.enabled === true;
}

export function planAddon(cluster: ManagedCluster, enableAddon: boolean): AddonPlan {
  const enabledBefore = addonEnabled(cluster);
  const enabledAfter = enabledBefore || enableAddon;
  return { empty: enabledBefore === enabledAfter, enabledBefore, enabledAfter };
}

/** The writes the plans make: the add-on (a cluster write) and each assignment created or updated at the cluster. */
export function plannedWrites(clusterId: string, addon: AddonPlan, assignments: AssignmentsPlan): PlannedWrite[] {
  return [
    ...(addon.empty ? [] : [clusterWrite(clusterId, "turn on the Azure Policy add-on")]),
    ...assignments.changes
      .filter((c) => c.action === "create" || c.action === "update")
      .map((c) => ({
        action: "Microsoft.Authorization/policyAssignments/write",
        scope: clusterId,
        purpose: `${c.action} the policy assignment '${c.wanted.name}'`,
      })),
  ];
}

/** The cluster as read with only the add-on turned on (its other settings, if any, kept). */
export function withAddonEnabled(cluster: ManagedCluster): ManagedCluster {
  const profiles = { ...cluster.addonProfiles };
  const key = Object.keys(profiles).find((k) => k.toLowerCase() === ADDON_KEY) ?? ADDON_KEY;
  profiles[key] = { ...profiles[key], enabled: true };
  return { ...cluster, addonProfiles: profiles };
}

/** One policy state row from Policy Insights, reduced to what the report needs. */
export interface PolicyStateInfo {
  policyAssignmentId: string;
  complianceState: string;
  timestamp?: Date;
  policyDefinitionReferenceId?: string;
}

export type ComplianceStatus = "evaluated" | "pending" | "addonOff" | "addonJustEnabled";

export interface ComplianceRow {
  assignmentId: string;
  assignmentName: string;
  title: Text;
  status: ComplianceStatus;
  compliant: number;
  nonCompliant: number;
  other: number;
  lastEvaluated?: Date;
}

export interface ComplianceReport {
  rows: ComplianceRow[];
  /** Every assignment has results newer than its last change. */
  synced: boolean;
}

/**
 * Compliance per assignment from the latest policy states. Pure. Results only count when they are
 * newer than the assignment's last change and the add-on was already running before this run:
 * until the add-on syncs (every ~15 minutes) Azure has nothing, or only stale results, to show,
 * and reporting those as compliant would mislead.
 */
export function summarizeCompliance(
  assignments: readonly { id: string; name: string; title: Text; changedAt?: Date }[],
  states: readonly PolicyStateInfo[],
  addon: AddonPlan,
): ComplianceReport {
  const rows = assignments.map((a): ComplianceRow => {
    const base = { assignmentId: a.id, assignmentName: a.name, title: a.title, compliant: 0, nonCompliant: 0, other: 0 };
    if (!addon.enabledAfter) return { ...base, status: "addonOff" };
    if (!addon.enabledBefore) return { ...base, status: "addonJustEnabled" };
    const mine = states.filter((s) => s.policyAssignmentId.toLowerCase() === a.id.toLowerCase());
    const fresh = mine.filter((s) => !a.changedAt || !s.timestamp || s.timestamp.getTime() >= a.changedAt.getTime());
    if (fresh.length === 0) return { ...base, status: "pending" };
    const count = (state: string) => fresh.filter((s) => s.complianceState.toLowerCase() === state.toLowerCase()).length;
    const compliant = count("Compliant");
    const nonCompliant = count("NonCompliant");
    const times = fresh.map((s) => s.timestamp?.getTime() ?? 0).filter((t) => t > 0);
    return {
      ...base,
      status: "evaluated",
      compliant,
      nonCompliant,
      other: fresh.length - compliant - nonCompliant,
      ...(times.length ? { lastEvaluated: new Date(Math.max(...times)) } : {}),
    };
  });
  return { rows, synced: rows.every((r) => r.status === "evaluated") };
}
