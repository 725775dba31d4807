import * as tl from "azure-pipelines-task-lib/task";
import type { AzureClients } from "./azure";
import { armList } from "./arm-json";
import { azureErrorDetails, listProblems, TaskError } from "./errors";
import type { RunReport, Text } from "./report";

/**
 * A missing permission found before the first write, not after a half-applied change. A task
 * declares the writes its plan will make (`PlannedWrite`: an action at a scope); `checkPermissions`
 * reads the caller's permissions at those scopes and refuses the run, naming each missing action and
 * its scope, before anything is written.
 *
 * The list is ARM's Permissions_ListForResourceGroup / Permissions_ListForResource
 * (`GET {scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`, pageable by
 * `nextLink`; azure-rest-api-specs, specification/authorization/resource-manager/Microsoft.Authorization/
 * stable/2022-04-01/authorization-RoleDefinitionsCalls.json): one entry per role the caller holds at
 * the scope or above it, each with `actions`, `notActions`, `dataActions`, `notDataActions`. The spec
 * has no such list for a subscription, so a subscription-wide write is checked at a scope under it
 * (`listedAt`): everything granted at the subscription is inherited there, so what is missing there
 * is missing at the subscription too.
 *
 * How the entries combine ("Understand Azure role definitions", MicrosoftDocs/azure-docs,
 * articles/role-based-access-control/role-definitions.md): within one entry, the effective actions
 * are `actions` minus `notActions` (likewise data actions); `*` is a wildcard matching any characters
 * (`Microsoft.Authorization/*\/read`, `*\/read`), and action names compare without case
 * (`Microsoft.Authorization/policyassignments/*` in Resource Policy Contributor). Across entries the
 * union holds: a `notActions` entry is "not a deny rule", so another role that grants the action grants it.
 *
 * The check refuses only what is surely missing. Deny assignments and conditions are not in this
 * list: they can only take away, so a listed action may still be refused by Azure at the write,
 * exactly as without the check. An action granted on a child resource alone (a role on one
 * maintenance configuration) is not seen, as each write is checked at the resource it writes.
 *
 * Cost: no write planned, no request (a compliant re-run makes none). Otherwise one GET per scope
 * written, all sent together; `prefetch` sends them with an earlier read when the task already knows
 * it will write there.
 *
 * When the list cannot be read (403: the caller lacks Microsoft.Authorization/permissions/read, which
 * Reader, Contributor and Owner include; or any other failure) the run says so and goes on without
 * the check: a role that cannot read its own permissions may still hold the ones the run needs, and
 * Azure still refuses a write that it does not hold.
 */

/** Microsoft.Authorization permissions, the stable api-version of the spec file above. */
export const PERMISSIONS_API_VERSION = "2022-04-01";

/** One write the run's plan will make. */
export interface PlannedWrite {
  /** The operation, e.g. "Microsoft.ContainerService/managedClusters/write". */
  action: string;
  /** Where it lands: the resource written (for a child resource, its parent), a resource group or the subscription. */
  scope: string;
  /** What it is for, e.g. "turn on the Azure Policy add-on". */
  purpose: string;
  /** A scope at or under `scope` whose permissions list answers for it (a subscription-wide write has no list of its own). */
  listedAt?: string;
  /** A data action (Key Vault secrets, for one), checked against `dataActions`. */
  dataAction?: boolean;
  /**
   * A scope above `scope` whose list is read first, one list for many writes (a vault for each of its
   * secrets): what it grants is inherited at `scope`. Only a write it lacks is looked up at `scope`
   * itself, where a role given on that one resource shows.
   */
  inheritsFrom?: string;
}

/** One entry of the permissions list (the spec's Permission). */
export interface PermissionEntry {
  actions?: string[];
  notActions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );

/** Pure: whether any one entry grants the action (or data action) and does not take it out again. */
export function permits(entries: readonly PermissionEntry[], action: string, kind: "action" | "dataAction" = "action"): boolean {
  return entries.some((entry) => {
    const [allowed, excluded] = kind === "action" ? [entry.actions, entry.notActions] : [entry.dataActions, entry.notDataActions];
    return (allowed ?? []).some((p) => wildcard(p).test(action)) && !(excluded ?? []).some((p) => wildcard(p).test(action));
  });
}

type ListRead = { ok: true; entries: PermissionEntry[] } | { ok: false; reason: string };

/** What the check found; `warnings` go into a dry run's report. */
export interface PermissionCheck {
  /** Scopes whose list was read (none when nothing is written). */
  checked: string[];
  /** Scopes whose list could not be read: the check was skipped there. */
  unreadable: string[];
  /** In a dry run, the refusal a real run would meet. */
  warnings: Text[];
}

/**
 * The caller's permissions lists for the run, each read at most once. `prefetch` starts reading the
 * scope of a write the run will surely make, so the request travels with the run's other reads.
 */
export class CallerPermissions {
  private readonly lists = new Map<string, Promise<ListRead>>();

  constructor(private readonly clients: AzureClients) {}

  /** Starts reading the lists for writes the run will surely make, before the rest of its plan is known. */
  prefetch(writes: readonly PlannedWrite[]): void {
    for (const write of writes) void this.list(listScope(write));
  }

  /**
   * Refuses the run (TaskError) when a planned write's action is surely missing at its scope; a dry
   * run gets the same sentence as a warning instead. Nothing is requested when nothing is written.
   * `writtenBefore` names what the run wrote before this check (job-scoped access a post-job step
   * closes), so the refusal does not claim that nothing was written.
   */
  async check(writes: readonly PlannedWrite[], options: { dryRun: boolean; writtenBefore?: string }): Promise<PermissionCheck> {
    const { missing, checked, unreadable } = await this.examine(writes);
    const result: PermissionCheck = { checked, unreadable, warnings: [] };
    if (missing.length === 0) return result;
    const sentence = missingPermissions(missing);
    if (!options.dryRun)
      throw new TaskError(
        `${sentence} ${options.writtenBefore ? `Nothing was written besides ${options.writtenBefore}.` : "Nothing was written."}`,
      );
    result.warnings.push(`A real run would be refused before its first write: ${sentence}`);
    return result;
  }

  /** The planned writes whose action is surely missing, for a step that goes on without them (a post-job step closing what it can). */
  async missing(writes: readonly PlannedWrite[]): Promise<PlannedWrite[]> {
    return (await this.examine(writes)).missing;
  }

  private async examine(writes: readonly PlannedWrite[]): Promise<{ missing: PlannedWrite[]; checked: string[]; unreadable: string[] }> {
    const first = await this.read(writes.map(listScope));
    // A write its inherited list lacks may still be granted on the resource itself: that list is read too, only then.
    const lacking = writes.filter((write) => write.inheritsFrom && lacks(first.get(key(listScope(write))), write));
    const own = await this.read(lacking.map((write) => write.scope));
    const reads = new Map([...first, ...own]);
    const missing = writes.filter((write) => lacks(reads.get(key(lacking.includes(write) ? write.scope : listScope(write))), write));
    const lists = [...reads.values()];
    return {
      missing,
      checked: lists.filter((list) => list.read.ok).map((list) => list.scope),
      unreadable: lists.filter((list) => !list.read.ok).map((list) => list.scope),
    };
  }

  /** The lists of the scopes, read together (each at most once per run); an unreadable one is said once in the log. */
  private async read(scopes: readonly string[]): Promise<Map<string, { scope: string; read: ListRead }>> {
    const unique = [...new Map(scopes.map((scope) => [key(scope), scope])).values()];
    const reads = await Promise.all(unique.map((scope) => this.list(scope)));
    return new Map(unique.map((scope, i) => [key(scope), { scope, read: reads[i]! }]));
  }

  private list(scope: string): Promise<ListRead> {
    let read = this.lists.get(key(scope));
    if (!read) {
      read = armList<PermissionEntry>(this.clients, `${scope}/providers/Microsoft.Authorization/permissions`, PERMISSIONS_API_VERSION).then(
        (entries): ListRead => ({ ok: true, entries }),
        (error: unknown): ListRead => {
          const { status, code, message } = azureErrorDetails(error);
          tl.debug(`Permissions on ${scope} not readable: ${status ?? ""} ${code ?? ""} ${message}`);
          const reason =
            status === 403
              ? "it lacks Microsoft.Authorization/permissions/read there, which Reader, Contributor and Owner include"
              : `${status ? `HTTP ${status}` : "no answer"}${code ? ` ${code}` : ""}`;
          console.log(
            `Could not read the service connection's own permissions on ${scope} (${reason}); going on without checking them first: a missing permission shows as Azure's refusal of the write.`,
          );
          return { ok: false, reason };
        },
      );
      this.lists.set(key(scope), read);
    }
    return read;
  }
}

/** A dry run's report with the refusal a real run would meet among its warnings. */
export function withPermissionWarnings(report: RunReport, check: PermissionCheck): RunReport {
  return check.warnings.length ? { ...report, warnings: [...report.warnings, ...check.warnings] } : report;
}

/** The scope whose list answers for the write first. */
function listScope(write: PlannedWrite): string {
  return write.inheritsFrom ?? write.listedAt ?? write.scope;
}

/** Whether a list that was read surely lacks the write's action (an unreadable one lacks nothing: the check is skipped there). */
function lacks(list: { read: ListRead } | undefined, write: PlannedWrite): boolean {
  return list?.read.ok === true && !permits(list.read.entries, write.action, write.dataAction ? "dataAction" : "action");
}

function key(scope: string): string {
  return scope.toLowerCase().replace(/\/+$/, "");
}

/** Built-in roles that hold the action (MicrosoftDocs/azure-docs, built-in-roles/privileged.md and management-and-governance.md). */
function rolesHolding(action: string): string {
  if (/^Microsoft\.Authorization\/roleAssignments\//i.test(action))
    return "Owner, User Access Administrator or Role Based Access Control Administrator";
  if (/^Microsoft\.Authorization\/policyAssignments\//i.test(action)) return "Owner or Resource Policy Contributor";
  // Data actions: Owner and Contributor hold none (built-in-roles/security.md).
  if (/^Microsoft\.KeyVault\/vaults\/secrets\//i.test(action)) return "Key Vault Secrets Officer or Key Vault Administrator";
  return "Contributor or Owner";
}

/** The sentence that names each missing action, its scope and its purpose, and what to grant. */
export function missingPermissions(missing: readonly PlannedWrite[]): string {
  const lines = [...new Map(missing.map((w) => [`${w.action.toLowerCase()}|${key(w.scope)}`, w])).values()].map(
    (w) => `'${w.action}' on ${w.scope} (to ${w.purpose}; ${rolesHolding(w.action)} has it).`,
  );
  return `The service connection's identity lacks ${lines.length === 1 ? "a permission" : `${lines.length} permissions`} this run needs: ${listProblems(lines)} Grant it a role with ${lines.length === 1 ? "this action" : "these actions"} on that scope or above it, then re-run.`;
}
