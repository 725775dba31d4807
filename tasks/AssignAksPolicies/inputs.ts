import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError } from "../../core/errors";
import {
  readBoolean,
  readChoice,
  readClusterName,
  readListEntries,
  readResourceGroupName,
  readSecondsVariable,
  readString,
  whereTyped,
} from "../../core/inputs";
import { checkResourceIdSegments, RESOURCE_GROUP_SEGMENT, SUBSCRIPTION_SEGMENT, type SegmentRule } from "../../core/names";
import { POLICY_KEYS, type PolicyKey } from "./catalogue";

export type Effect = "Audit" | "Deny";
export type EnforcementMode = "Default" | "DoNotEnforce";

export interface AssignAksPoliciesRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  dryRun: boolean;
  enableAddon: boolean;
  policies: PolicyKey[];
  /** Full resource IDs of custom (or other built-in) policy definitions or initiatives. */
  customPolicyDefinitionIds: string[];
  effect: Effect;
  enforcementMode: EnforcementMode;
  /** Parameter values as the user typed them, already checked for form; whether a definition takes them is checked against it. */
  values: PolicyValues;
  reportCompliance: boolean;
  busyTimeoutMs: number;
}

/** The values this task can give a definition's parameters. */
export interface PolicyValues {
  /** Only when the user sets some: otherwise each definition keeps its own default list. */
  excludedNamespaces?: string[];
  cpuLimit?: string;
  memoryLimit?: string;
  allowedImagesRegex?: string;
}

export function readRequest(): AssignAksPoliciesRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  const clusterName = readClusterName();
  const policies = parsePolicies(readString("policies") ?? "");
  const customPolicyDefinitionIds = parseDefinitionIds(readString("customPolicyDefinitionIds") ?? "");
  const enableAddon = readBoolean("enableAddon", true);
  if (policies.length === 0 && customPolicyDefinitionIds.length === 0) {
    throw new InputError(
      "policies",
      `is required: select at least one policy (${POLICY_KEYS.join(", ")}) or enter a line in customPolicyDefinitionIds. The add-on alone enforces nothing.`,
    );
  }
  const cpuLimit = readString("cpuLimit");
  const memoryLimit = readString("memoryLimit");
  const allowedImagesRegex = readString("allowedImagesRegex");
  const excludedNamespaces = parseNamespaces(readString("excludedNamespaces"));
  const values: PolicyValues = {
    ...(excludedNamespaces === undefined ? {} : { excludedNamespaces }),
    ...(cpuLimit === undefined ? {} : { cpuLimit: checkCpuQuantity(cpuLimit) }),
    ...(memoryLimit === undefined ? {} : { memoryLimit: checkMemoryQuantity(memoryLimit) }),
    ...(allowedImagesRegex === undefined ? {} : { allowedImagesRegex: checkImageRegex(allowedImagesRegex) }),
  };
  return {
    connection,
    resourceGroupName,
    clusterName,
    dryRun: readBoolean("dryRun", false),
    enableAddon,
    policies,
    customPolicyDefinitionIds,
    effect: readChoice<Effect>("effect", ["Audit", "Deny"], "Audit"),
    enforcementMode: readChoice<EnforcementMode>("enforcementMode", ["Default", "DoNotEnforce"], "Default"),
    values,
    reportCompliance: readBoolean("reportCompliance", false),
    // Enabling the add-on is a cluster update like any other: wait for a busy cluster as the other tasks do.
    busyTimeoutMs: readSecondsVariable("AksHardening.ClusterBusyTimeoutSeconds", 1200) * 1000,
  };
}

/** The multi-select arrives as a comma-separated list of option keys; YAML may put them on lines, with comments. */
export function parsePolicies(text: string): PolicyKey[] {
  const keys: PolicyKey[] = [];
  const bad: string[] = [];
  for (const entry of readListEntries(text)) {
    const key = POLICY_KEYS.find((k) => k.toLowerCase() === entry.text.toLowerCase());
    if (!key) bad.push(`${whereTyped(text, entry)}'${entry.text}'`);
    else if (!keys.includes(key)) keys.push(key);
  }
  if (bad.length) {
    throw new InputError(
      "policies",
      `${bad.join(", ")} ${bad.length === 1 ? "is not a policy this task knows" : "are not policies this task knows"}; use ${POLICY_KEYS.map((k) => `'${k}'`).join(", ")} (other definitions go in customPolicyDefinitionIds).`,
    );
  }
  return keys;
}

const DEFINITION_ID =
  /^(?:\/subscriptions\/([^/]+)|\/providers\/Microsoft\.Management\/managementGroups\/([^/]+))?\/providers\/Microsoft\.Authorization\/policy(?:Set)?Definitions\/([^/]+)$/i;
const MANAGEMENT_GROUP_SEGMENT: SegmentRule = { ...RESOURCE_GROUP_SEGMENT, what: "management group ID" };
/** Policy (set) definition names: 1-64 characters, none of <>*%&:\?.+/ nor control characters, not ending in a space. */
const DEFINITION_NAME_SEGMENT: SegmentRule = {
  what: "definition name",
  test: (s) => /^[^<>*%&:\\?.+/\x00-\x1f\x7f]{1,64}$/.test(s) && !s.endsWith(" "),
  rule: "1-64 characters, none of <>*%&:\\?.+/ or control characters, not ending in a space",
};

/** One resource ID a line (or separated by commas); duplicates (in any case) are kept once. */
export function parseDefinitionIds(text: string): string[] {
  const ids: string[] = [];
  const bad: string[] = [];
  for (const entry of readListEntries(text, /[\s,]+/)) {
    const id = entry.text.replace(/\/+$/, "");
    const match = DEFINITION_ID.exec(id);
    if (!match) {
      bad.push(`${whereTyped(text, entry)}'${entry.text}'`);
      continue;
    }
    const [, subscriptionId, managementGroup, name] = match as unknown as [string, string | undefined, string | undefined, string];
    checkResourceIdSegments("customPolicyDefinitionIds", id, [
      ...(subscriptionId === undefined ? [] : [[subscriptionId, SUBSCRIPTION_SEGMENT] as [string, SegmentRule]]),
      ...(managementGroup === undefined ? [] : [[managementGroup, MANAGEMENT_GROUP_SEGMENT] as [string, SegmentRule]]),
      [name, DEFINITION_NAME_SEGMENT],
    ]);
    if (!ids.some((known) => known.toLowerCase() === id.toLowerCase())) ids.push(id);
  }
  if (bad.length) {
    throw new InputError(
      "customPolicyDefinitionIds",
      `${bad.join(", ")} ${bad.length === 1 ? "is not a policy definition ID" : "are not policy definition IDs"}; enter one resource ID a line, e.g. /subscriptions/<id>/providers/Microsoft.Authorization/policyDefinitions/<name> (or policySetDefinitions for an initiative).`,
    );
  }
  return ids;
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The namespaces the user typed, or undefined when none (empty, or only comments): then no value is
 * sent, and each definition keeps its own default (the five built-ins exclude kube-system,
 * gatekeeper-system, azure-arc and azure-extensions-usage-system; other definitions have their own).
 */
export function parseNamespaces(typed: string | undefined): string[] | undefined {
  const text = typed ?? "";
  const entries = readListEntries(text);
  if (entries.length === 0) return undefined;
  const bad = entries.filter((entry) => !NAMESPACE.test(entry.text)).map((entry) => `${whereTyped(text, entry)}'${entry.text}'`);
  if (bad.length) {
    throw new InputError(
      "excludedNamespaces",
      `${bad.join(", ")} ${bad.length === 1 ? "is not a Kubernetes namespace name" : "are not Kubernetes namespace names"} (lower-case letters, digits and '-', at most 63 characters).`,
    );
  }
  return [...new Set(entries.map((entry) => entry.text))];
}

/** Kubernetes CPU quantity as the policy compares it: cores (`1`, `0.5`) or whole millicores (`500m`), above zero. */
export function checkCpuQuantity(value: string): string {
  const match = /^(?:(\d+(?:\.\d+)?|\.\d+)|(\d+)m)$/.exec(value);
  if (!match || Number(match[1] ?? match[2]) <= 0) {
    throw new InputError(
      "cpuLimit",
      `'${value}' is not a Kubernetes CPU quantity. Use cores (e.g. 1, 0.5) or whole millicores (e.g. 500m), above zero.`,
    );
  }
  return value;
}

const MEMORY_SUFFIXES = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E"];

/** Kubernetes memory quantity: bytes with an optional binary (`Mi`, `Gi`) or decimal (`M`, `G`) suffix, above zero. */
export function checkMemoryQuantity(value: string): string {
  const match = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(value);
  if (!match || !["", ...MEMORY_SUFFIXES].includes(match[2]!) || Number(match[1]) <= 0) {
    const suggestion = suggestMemory(value);
    throw new InputError(
      "memoryLimit",
      `'${value}' is not a Kubernetes memory quantity${suggestion ? ` — did you mean ${suggestion}?` : ""}. Use e.g. 512Mi or 1Gi (binary suffixes Ki, Mi, Gi, Ti; decimal k, M, G, T), above zero.`,
    );
  }
  return value;
}

function suggestMemory(value: string): string | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtpe])i?b?$/i.exec(value);
  if (!match) return undefined;
  const unit = match[2]!.toUpperCase();
  return `${match[1]}${unit === "K" ? "Ki" : `${unit}i`}`;
}

/**
 * Gatekeeper matches the image against the regex with Go's RE2: it must compile, and RE2 has no
 * look-around or back-references, which JavaScript would accept.
 */
export function checkImageRegex(value: string): string {
  try {
    new RegExp(value);
  } catch (error) {
    throw new InputError(
      "allowedImagesRegex",
      `'${value}' is not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}.`,
    );
  }
  if (/\(\?<?[=!]|\\[1-9]|\\k</.test(value)) {
    throw new InputError(
      "allowedImagesRegex",
      `'${value}' uses look-around or back-references, which the policy's regular expression engine (RE2) does not support; rewrite it without them.`,
    );
  }
  return value;
}

/**
 * Why an allowed-images regex admits more than it seems to, or undefined: RE2 (Go's regexp, which
 * Gatekeeper's Rego `re_match` uses) finds a match anywhere in the image name, so without `^…$` around
 * the whole expression (and without a top-level `|`, which splits the anchors)
 * 'evil.example/x/myregistry.azurecr.io/app' matches `myregistry\.azurecr\.io/`. The built-in's own
 * examples are anchored (allowedContainerImagesRegex in ContainerAllowedImages.json 9.3.0).
 */
export function unanchoredRegexProblem(value: string): string | undefined {
  let depth = 0;
  let inClass = false;
  let topLevelAlternation = false;
  let endsAnchored = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    endsAnchored = false;
    if (char === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      continue;
    }
    if (char === "[") inClass = true;
    else if (char === "(") depth++;
    else if (char === ")") depth = Math.max(0, depth - 1);
    else if (char === "|" && depth === 0) topLevelAlternation = true;
    else if (char === "$" && depth === 0) endsAnchored = true;
  }
  if (value.startsWith("^") && endsAnchored && !topLevelAlternation) return undefined;
  return `allowedImagesRegex '${value}' is not anchored as a whole (^…$${topLevelAlternation ? ", with any alternatives inside one group" : ""}): the policy admits every image whose name merely contains a match. Write e.g. ^(myregistry\\.azurecr\\.io|mcr\\.microsoft\\.com)/.+$.`;
}
