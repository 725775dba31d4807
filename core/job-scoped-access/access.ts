import * as tl from "azure-pipelines-task-lib/task";
import { readTogether } from "../azure";
import { describeFailure, TaskError } from "../errors";
import { missingPermissions, type CallerPermissions, type PlannedWrite } from "../permissions";
import type { JobRef } from "./job";
import {
  holdLinkName,
  isRefused,
  LINK_PERMISSIONS,
  MAX_LINKS_PER_RESOURCE,
  readLedger,
  type Hold,
  type HoldLinks,
  type Ledger,
  type ResourceLinkBody,
} from "./ledger";
import { holdState, planJobScoped, viewFirewall, type FirewallView, type JobScopedPlan } from "./plan";
import type { OpenedForJob } from "./task-variable";

/**
 * The order in which job-scoped access touches Azure, the same for every firewall. The allow-list
 * and the holds are two resources with no transaction between them, so the order is what keeps them
 * consistent when jobs run at once or a step dies half-way:
 * - a job writes its hold before the address goes on the list, and the post-job step marks it
 *   released before it reads which holds remain: whichever of two jobs sharing an address reads
 *   last sees the other's hold gone or released and closes the address, and a step that dies
 *   leaves at worst a hold whose address a later run closes, never an address no hold accounts for;
 * - a hold is deleted only after its address is off the list;
 * - where the resource takes no conditional write (a vault has no eTag), and when a job joined an
 *   address without writing the list, the list is read again afterwards: a concurrent write that
 *   lost a running job's address is repaired (the plan puts every running job's address back).
 */

/** One firewall that job-scoped access opens: an API server's authorized IP ranges, a vault's IP rules. */
export interface JobScopedFirewall<S> {
  /** What messages call the resource, e.g. "managed cluster 'aks-1' in resource group 'rg'". */
  target: string;
  links: HoldLinks;
  /** The operation `update` writes with, e.g. "Microsoft.ContainerService/managedClusters/write". */
  writeAction: string;
  /** What the list is called in a sentence, e.g. "the API server's authorized IP ranges". */
  listName: string;
  read(): Promise<S>;
  entries(state: S): string[];
  /** The resource's tags, to warn about holds earlier versions kept there. */
  tags(state: S): Record<string, string> | undefined;
  /** An empty list admits every address (AKS): its last entry is never closed. */
  emptyListAdmitsEveryone: boolean;
  /** Whether `update` refuses to overwrite a concurrent change (eTag) and re-plans: then a write needs no second look. */
  conditional: boolean;
  /**
   * Writes the list the plan asks for when it differs from the state (re-planning on the resource's
   * own conflicts); returns the plan it wrote and the state after.
   */
  update<P extends PlannedList>(state: S, plan: (state: S) => P): Promise<{ plan: P; written: boolean; state: S; contended?: boolean }>;
}

/** A firewall change: the whole list after, and whether it is one. */
export interface PlannedList {
  after: string[];
  readonly empty: boolean;
}

/** A change that includes job-scoped access. */
export interface JobScopedChange extends PlannedList {
  jobScoped: JobScopedPlan;
}

/** The firewall and its holds, as read together. */
export interface FirewallRead<S> {
  state: S;
  ledger: Ledger;
  links: ResourceLinkBody[];
  /** Why the holds could not be read, when a run that opens nothing went on without them. */
  holdsUnread?: string;
}

/**
 * Reads the firewall and its holds together (one round trip). A run that opens no job-scoped access
 * may go on when the connection may not read links: it then treats every entry as lasting and says so.
 */
export async function readFirewall<S>(
  firewall: JobScopedFirewall<S>,
  now: Date,
  options: { holdsRequired: boolean } = { holdsRequired: true },
): Promise<FirewallRead<S>> {
  let holdsUnread: string | undefined;
  const [state, links] = await readTogether([
    firewall.read(),
    firewall.links.list().catch((error: unknown) => {
      if (options.holdsRequired || !isRefused(error)) throw error;
      holdsUnread = `The service connection may not read the job-scoped access records of ${firewall.target} (${LINK_PERMISSIONS.read}), so every listed address is treated as authorized for good: an address opened for a running job is neither kept by nor closed for it. Grant that permission (Reader has it).`;
      return [] as ResourceLinkBody[];
    }),
  ]);
  return {
    state,
    links,
    ledger: readLedger({ resourceId: firewall.links.resourceId, links, tags: firewall.tags(state), now }),
    ...(holdsUnread ? { holdsUnread } : {}),
  };
}

export function firewallView<S>(firewall: JobScopedFirewall<S>, read: FirewallRead<S>): FirewallView {
  return viewFirewall(firewall.entries(read.state), read.ledger);
}

export interface JobScopedResult<S, P> {
  plan: P;
  written: boolean;
  contended?: boolean;
  state: S;
  /** Holds whose deletion failed (their address is closed; a later run deletes them). */
  warnings: string[];
}

/**
 * The writes a change makes, each at the resource (core/permissions.ts): this job's holds, the list,
 * and the deletion of holds no running job needs. Nothing when the change writes nothing.
 */
export function jobScopedWrites<S>(firewall: JobScopedFirewall<S>, change: JobScopedChange): PlannedWrite[] {
  const scope = firewall.links.resourceId;
  const { write, remove } = change.jobScoped;
  return [
    ...(write.length
      ? [
          {
            action: LINK_PERMISSIONS.write,
            scope,
            purpose: `record this job's access for ${write.map((hold) => hold.address).join(", ")} (a resource link)`,
          },
        ]
      : []),
    ...(change.empty ? [] : [{ action: firewall.writeAction, scope, purpose: `change ${firewall.listName}` }]),
    ...(remove.length
      ? [
          {
            action: LINK_PERMISSIONS.delete,
            scope,
            purpose: "delete the records (resource links) of job-scoped access no running job needs",
          },
        ]
      : []),
  ];
}

/**
 * Applies a change that includes job-scoped access: this job's holds first, then the list, then the
 * holds of jobs that are over. `check` gets the writes the plan makes before anything is written, in
 * a dry run too (the task's permission check: it throws to refuse). `beforeWrite` runs before the
 * first write (the main step leaves its post-job step what to close there).
 */
export async function applyJobScoped<S, P extends JobScopedChange>(
  firewall: JobScopedFirewall<S>,
  p: {
    read: FirewallRead<S>;
    job: JobRef;
    plan(state: S, view: FirewallView): P;
    dryRun: boolean;
    check?(writes: PlannedWrite[]): Promise<void>;
    beforeWrite?(plan: P): void;
  },
): Promise<JobScopedResult<S, P>> {
  let ledger = p.read.ledger;
  const first = p.plan(p.read.state, viewFirewall(firewall.entries(p.read.state), ledger));
  await p.check?.(jobScopedWrites(firewall, first));
  if (p.dryRun || (first.empty && first.jobScoped.write.length === 0 && first.jobScoped.remove.length === 0)) {
    return { plan: first, written: false, state: p.read.state, warnings: [] };
  }
  p.beforeWrite?.(first);
  const writes = first.jobScoped.write;
  if (writes.length) {
    const ours = new Set(p.read.links.map((link) => (link.name ?? "").toLowerCase()));
    const newLinks = writes.filter((hold) => !ours.has(holdLinkName(hold).toLowerCase())).length;
    if (p.read.links.length + newLinks > MAX_LINKS_PER_RESOURCE) {
      throw new TaskError(
        `The ${firewall.target} has ${p.read.links.length} resource links, and this job would need ${newLinks} more to record its access, over Azure's limit of ${MAX_LINKS_PER_RESOURCE} per resource; nothing was changed. Remove links that are no longer needed (az resource link list --scope <resource ID>), or let running jobs end.`,
      );
    }
    await Promise.all(writes.map((hold) => firewall.links.write(hold)));
    ledger = withHolds(ledger, writes);
  }
  const known = ledger;
  let result = await firewall.update(p.read.state, (state) => p.plan(state, viewFirewall(firewall.entries(state), known)));
  // A vault write may have overwritten a concurrent one; a job that joined an address wrote no list at all;
  // a write that met another one (refused, then re-planned) was planned without that one's holds.
  const secondLook =
    (result.written && !firewall.conditional) || (!result.written && writes.length > 0) || (result.contended && writes.length > 0);
  // The holds of jobs that are over go at the same time: the second look does not depend on them.
  const [warnings, second] = await Promise.all([
    removeHolds(firewall, first.jobScoped.remove, writes),
    secondLook ? reconcile(firewall, p.job, (state, view) => p.plan(state, view), result) : undefined,
  ]);
  if (second) {
    result = second.result;
    // What the second look saw of other running jobs is newer than what the plan was made from.
    result.plan.jobScoped.opened = result.plan.jobScoped.opened.map((opened) => ({
      ...opened,
      sharedWith: second.read.ledger.holds.filter((hold) => hold.address === opened.address && holdState(hold, p.job) === "live"),
    }));
  }
  return { ...result, warnings };
}

export interface ReleaseResult<S> {
  plan: JobScopedPlan;
  written: boolean;
  state: S;
  /** The holds of this job found (and released). */
  released: Hold[];
  warnings: string[];
}

/** A post-job step that stopped before it closed; `released` says whether it had let go of this job's holds first. */
export class CloseStopped extends TaskError {
  constructor(
    message: string,
    readonly released: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The post-job step: lets go of this job's holds and closes every address no running job holds any
 * more (this job's, and those jobs that are over left behind). `opened` is what the main step left
 * in its task variable: the job and the addresses. Only holds that exist are let go of: a hold is
 * never created here, so an address someone authorized for good since is never closed.
 *
 * A missing permission (`permissions`, read with the holds: no round trip of its own) does not stop
 * the step from doing what it may: each of its writes only narrows access. A step that may not write
 * links writes nothing (closing an address while its hold still looks alive would let a run of
 * another job put it back); one that may write links but not the list lets go of its holds, so the
 * next run closes the address at once, and stops before the list; one that may not delete links
 * closes, and says the records stay. A stop throws `CloseStopped`, which the task turns into a
 * sentence naming what stays open and how to close it.
 */
export async function releaseJobScopedAccess<S>(
  firewall: JobScopedFirewall<S>,
  p: { opened: OpenedForJob; job: JobRef; permissions?: CallerPermissions },
): Promise<ReleaseResult<S>> {
  const job: JobRef = { ...p.job, job: p.opened.job };
  const scope = firewall.links.resourceId;
  const release: PlannedWrite = {
    action: LINK_PERMISSIONS.write,
    scope,
    purpose: `let go of this job's hold on ${p.opened.addresses.join(", ")} (its resource link)`,
  };
  p.permissions?.prefetch([release]);
  let released = false;
  try {
    const links = await firewall.links.list();
    const own = readLedger({ resourceId: firewall.links.resourceId, links, now: job.now }).holds.filter(
      (hold) => hold.agent === job.agent && hold.job === job.job && p.opened.addresses.includes(hold.address) && !hold.released,
    );
    if (own.length) {
      await refuseMissing(p.permissions, [release]);
      await Promise.all(own.map((hold) => firewall.links.write({ ...hold, released: true })));
      released = true;
    }
    const read = await readFirewall(firewall, job.now);
    const plan = (state: S, view: FirewallView): JobScopedChange => {
      const jobScoped = planJobScoped({ view, job, emptyListAdmitsEveryone: firewall.emptyListAdmitsEveryone });
      return { after: jobScoped.after, empty: jobScoped.added.length === 0 && jobScoped.removed.length === 0, jobScoped };
    };
    const first = plan(read.state, firewallView(firewall, read));
    if (!first.empty) {
      const closing = first.jobScoped.removed;
      await refuseMissing(p.permissions, [
        {
          action: firewall.writeAction,
          scope,
          purpose: closing.length ? `take ${closing.join(", ")} off ${firewall.listName}` : `change ${firewall.listName}`,
        },
      ]);
    }
    let result = await firewall.update(read.state, (state) => plan(state, viewFirewall(firewall.entries(state), read.ledger)));
    const [warnings, second] = await Promise.all([
      removeHolds(firewall, first.jobScoped.remove, []),
      result.written ? reconcile(firewall, job, plan, result) : undefined,
    ]);
    if (second) result = second.result;
    return { plan: result.plan.jobScoped, written: result.written, state: result.state, released: own, warnings };
  } catch (error) {
    throw new CloseStopped(describeFailure(error), released, { cause: error });
  }
}

/** Stops a post-job step before a write its identity surely may not make (Azure would refuse it). */
async function refuseMissing(permissions: CallerPermissions | undefined, writes: PlannedWrite[]): Promise<void> {
  const missing = permissions ? await permissions.missing(writes) : [];
  if (missing.length) throw new TaskError(missingPermissions(missing).replace(/, then re-run\.$/, "."));
}

/**
 * A second look after a write: the list and the holds are read again and planned again; when the
 * list lacks a running job's address (a write made at the same time lost it) the plan puts it back.
 * Bounded: concurrent writers settle within a few rounds.
 */
async function reconcile<S, P extends JobScopedChange>(
  firewall: JobScopedFirewall<S>,
  job: JobRef,
  plan: (state: S, view: FirewallView) => P,
  previous: { plan: P; written: boolean; state: S },
): Promise<{ result: { plan: P; written: boolean; state: S }; read: FirewallRead<S> }> {
  let result = previous;
  for (let round = 0; ; round++) {
    const read = await readFirewall(firewall, job.now);
    const again = await firewall.update(read.state, (state) => plan(state, viewFirewall(firewall.entries(state), read.ledger)));
    if (again.written) {
      tl.debug(`A second look at ${firewall.target} found the list short of running jobs' addresses; written again.`);
      result = { plan: result.plan, written: true, state: again.state };
    }
    if (!again.written || round === 2) return { result, read };
  }
}

async function removeHolds<S>(firewall: JobScopedFirewall<S>, holds: readonly Hold[], kept: readonly Hold[]): Promise<string[]> {
  const keptNames = new Set(kept.map(holdLinkName));
  const settled = await Promise.allSettled(
    holds.filter((hold) => !keptNames.has(holdLinkName(hold))).map((hold) => firewall.links.remove(hold)),
  );
  return settled.flatMap((outcome) =>
    outcome.status === "rejected"
      ? [`${describeFailure(outcome.reason).replace(/\.$/, "")}. The address is closed; a later run deletes the record.`]
      : [],
  );
}

function withHolds(ledger: Ledger, holds: readonly Hold[]): Ledger {
  const names = new Set(holds.map(holdLinkName));
  return { ...ledger, holds: [...ledger.holds.filter((hold) => !names.has(holdLinkName(hold))), ...holds] };
}
