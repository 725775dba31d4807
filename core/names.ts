import { InputError } from "./errors";

// ARM's naming rules for the resource names the tasks put into request paths. Kept free of task-lib, so
// pure planners can use them.

/**
 * ARM's naming rule for resource groups (and management group IDs): 1-90 letters, digits, '_', '-',
 * '.', '(' or ')', not ending in '.' — so never `.` or `..`, which would collapse a request path.
 */
export const RESOURCE_GROUP_RULE = "1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'";

export function isResourceGroupName(value: string): boolean {
  return /^[-\w.()]{1,90}$/u.test(value) && !value.endsWith(".");
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
