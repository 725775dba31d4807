import * as tl from "azure-pipelines-task-lib/task";
import { InputError } from "./errors";

/** Readers for task inputs. Only a task's `inputs.ts` calls these; everything below it gets typed values. */

export function readString(name: string): string | undefined {
  const value = tl.getInput(name, false)?.trim();
  return value ? value : undefined;
}

export function readRequired(name: string, hint: string): string {
  const value = readString(name);
  if (!value) throw new InputError(name, `is required: ${hint}`);
  return value;
}

export function readBoolean(name: string, defaultValue: boolean): boolean {
  const value = readString(name);
  if (value === undefined) return defaultValue;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  throw new InputError(name, `'${value}' is not a boolean; use true or false.`);
}

export function readChoice<T extends string>(name: string, choices: readonly T[], defaultValue: T): T {
  const value = readString(name);
  if (value === undefined) return defaultValue;
  const match = choices.find((choice) => choice.toLowerCase() === value.toLowerCase());
  if (!match) throw new InputError(name, `'${value}' is not one of ${choices.map((c) => `'${c}'`).join(", ")}.`);
  return match;
}

/**
 * ARM's naming rule for resource groups (and management group IDs): 1-90 letters, digits, '_', '-',
 * '.', '(' or ')', not ending in '.' — so never `.` or `..`, which would collapse a request path.
 */
export const RESOURCE_GROUP_RULE = "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'";

export function isResourceGroupName(value: string): boolean {
  return /^[-\w.()]{1,90}$/u.test(value) && !value.endsWith(".");
}

export function readResourceGroupName(name = "resourceGroupName"): string {
  const value = readRequired(name, "enter the name of the resource group that holds the resource.");
  if (!isResourceGroupName(value)) throw new InputError(name, `'${value}' is not a valid resource group name (${RESOURCE_GROUP_RULE}).`);
  return value;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One variable segment of a resource ID and the ARM naming rule it must follow. */
export interface SegmentRule {
  /** What the segment is, for the message, e.g. "resource group". */
  what: string;
  test: (segment: string) => boolean;
  rule: string;
}

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export const SUBSCRIPTION_SEGMENT: SegmentRule = { what: "subscription ID", test: isGuid, rule: "a GUID" };
export const RESOURCE_GROUP_SEGMENT: SegmentRule = { what: "resource group", test: isResourceGroupName, rule: RESOURCE_GROUP_RULE };

/**
 * Checks each variable segment of a resource ID typed in an input, before any request: a `.` or
 * `..` segment (or `%2e`, `/` tricks) would make the request path collapse into another resource.
 * Throws an InputError naming the input, the segment and the rule it breaks.
 */
export function checkResourceIdSegments(input: string, value: string, segments: readonly [string, SegmentRule][]): void {
  for (const [segment, rule] of segments) {
    if (!rule.test(segment)) {
      throw new InputError(input, `'${value}' has the ${rule.what} '${segment}', which is not a valid ${rule.what} (${rule.rule}).`);
    }
  }
}

/** AKS cluster names: 1-63 letters, digits, '_' and '-', starting and ending with a letter or digit. */
export function readClusterName(name = "clusterName"): string {
  const value = readRequired(name, "enter the name of the AKS cluster.");
  if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$/.test(value)) {
    throw new InputError(
      name,
      `'${value}' is not a valid AKS cluster name (1-63 letters, digits, '_' or '-', starting and ending with a letter or digit).`,
    );
  }
  return value;
}

/** A pipeline variable holding a whole number of seconds, for tuning waits without a task input. */
export function readSecondsVariable(variable: string, defaultSeconds: number): number {
  const raw = tl.getVariable(variable)?.trim();
  if (!raw) return defaultSeconds;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new InputError(variable, `'${raw}' is not a number of seconds.`);
  }
  return seconds;
}
