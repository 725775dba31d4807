import { canonicalEntry, entryCovers, sameEntry } from "./addresses";
import type { JobRef } from "./job";
import { holdLinkName, type Hold, type Ledger, type UntrustedHold } from "./ledger";

/**
 * Job-scoped access as a pure plan: given a firewall's allow-list as Azure returned it and the
 * trusted holds on the resource, which entries the list should have and which holds to write and
 * delete. The same plan serves every firewall (an API server's authorized IP ranges, a vault's IP
 * rules) and every step (a main step that opens access, a post-job step that closes it, any run that
 * only changes the lasting list).
 *
 * The one rule: the list holds the lasting entries (those no trusted hold accounts for, after the
 * task's own change) and the address of every hold of a job that is really running. A hold whose
 * job is over (released by its post-job step, past its job's timeout, or by an agent that has moved
 * on to another job) is left behind: its address is closed unless a running job holds it too. An
 * entry no trusted hold accounts for is never closed.
 */

/** own: this job's; live: another running job's; leftover: its job is over. */
export type HoldState = "own" | "live" | "leftover";

export function holdState(hold: Hold, job: Pick<JobRef, "agent" | "job" | "now">): HoldState {
  if (hold.released || hold.until.getTime() <= job.now.getTime()) return "leftover";
  if (hold.agent === job.agent) return hold.job === job.job ? "own" : "leftover";
  return "live";
}

/** A firewall's allow-list seen through its ledger. */
export interface FirewallView {
  /** As Azure returned them, in order. */
  entries: string[];
  /** Entries no trusted hold accounts for: the resource's lasting configuration. */
  lasting: string[];
  holds: Hold[];
  untrusted: UntrustedHold[];
}

export function viewFirewall(entries: readonly string[], ledger: Ledger): FirewallView {
  const held = new Set(ledger.holds.map((hold) => hold.address));
  return {
    entries: [...entries],
    lasting: entries.filter((entry) => !held.has(canonicalEntry(entry) ?? entry)),
    holds: ledger.holds,
    untrusted: ledger.untrusted,
  };
}

export interface JobScopedRequest {
  view: FirewallView;
  job: JobRef;
  /** The lasting entries after the task's own change; default: as they are. */
  lastingAfter?: readonly string[];
  /** Addresses the task's own change settles (authorized for good, or removed): their holds go. */
  settled?: (address: string) => boolean;
  /** Addresses this job opens for itself. */
  open?: readonly string[];
  /** Why the firewall admits every address anyway (nothing needs opening), if it does. */
  admitsEveryone?: string | undefined;
  /** An empty list admits every address (AKS): the last entry is never closed. */
  emptyListAdmitsEveryone: boolean;
}

export interface OpenedAddress {
  address: string;
  /** Other running jobs that hold it too: it stays until the last of them ends. */
  sharedWith: Hold[];
  /** Not listed before: this job's write adds it. */
  added: boolean;
}

export interface ClosedAddress {
  address: string;
  /** The holds let go of: the job(s) the address was opened for. */
  holds: Hold[];
}

export interface JobScopedPlan {
  /** The list as read. */
  before: string[];
  /** The whole list after: lasting entries, then the addresses running jobs hold; entries already listed keep their spelling. */
  after: string[];
  added: string[];
  removed: string[];
  /** Holds to write before the firewall is written (this job's). */
  write: Hold[];
  /** Holds to delete once the firewall is written (jobs that are over, addresses settled or gone). */
  remove: Hold[];
  opened: OpenedAddress[];
  /** This job's addresses the list already admits, and by what. */
  alreadyAuthorized: { address: string; by: string }[];
  /** Addresses taken off the list because no running job holds them any more. */
  closed: ClosedAddress[];
  /** Addresses of jobs that are over, kept because a running job holds them too. */
  kept: { address: string; holds: Hold[]; heldBy: Hold[] }[];
  /** Running jobs' addresses missing from the list (a concurrent write lost them), put back. */
  restored: string[];
  /** Addresses of jobs that are over that stay because closing them would leave the list empty. */
  lastEntryKept: string[];
  untrusted: UntrustedHold[];
  /** Addresses open for a job that the task's own change authorizes for good (their holds go). */
  madeLasting: string[];
}

export function planJobScoped(request: JobScopedRequest): JobScopedPlan {
  const { view, job } = request;
  const lastingAfter = [...(request.lastingAfter ?? view.lasting)];
  const settled = request.settled ?? (() => false);
  const listed = (address: string) => view.entries.some((entry) => sameEntry(entry, address));
  const states = view.holds.map((hold) => ({ hold, state: holdState(hold, job) }));

  const write: Hold[] = [];
  const opened: OpenedAddress[] = [];
  const alreadyAuthorized: { address: string; by: string }[] = [];
  for (const address of unique(request.open ?? [])) {
    const coveredBy = lastingAfter.find((entry) => entryCovers(entry, address));
    if (request.admitsEveryone) alreadyAuthorized.push({ address, by: request.admitsEveryone });
    else if (coveredBy) alreadyAuthorized.push({ address, by: coveredBy });
    else {
      // A hold this job already has (an earlier step of the same job opened it) is not written again.
      if (!states.some((s) => s.state === "own" && s.hold.address === address))
        write.push({ address, agent: job.agent, job: job.job, until: job.until, released: false });
      const sharedWith = states.filter((s) => s.state === "live" && s.hold.address === address).map((s) => s.hold);
      opened.push({ address, sharedWith, added: !listed(address) });
    }
  }

  // The holds that keep their address open: running jobs' and this job's (its new ones included).
  const running = [...states.filter((s) => s.state !== "leftover" && !settled(s.hold.address)).map((s) => s.hold), ...write];
  const wanted = unique(running.map((hold) => hold.address)).filter(
    // An address a wider lasting entry admits needs no entry of its own, unless it has one already.
    (address) =>
      !lastingAfter.some((entry) => sameEntry(entry, address)) && (listed(address) || !lastingAfter.some((e) => entryCovers(e, address))),
  );
  const spelled = (address: string) => view.entries.find((entry) => sameEntry(entry, address)) ?? address;
  const jobScoped = [
    ...view.entries.filter((entry) => wanted.some((address) => sameEntry(entry, address))),
    ...wanted.filter((address) => !listed(address)),
  ];
  let after = [...lastingAfter, ...jobScoped.filter((entry) => !lastingAfter.some((kept) => sameEntry(kept, entry)))].map((entry) =>
    canonicalEntry(entry) === undefined ? entry : spelled(entry),
  );
  // Other running jobs' addresses missing from the list: a write made at the same time dropped them.
  const restored = unique(states.filter((s) => s.state === "live" && !settled(s.hold.address)).map((s) => s.hold.address)).filter(
    (address) => wanted.includes(address) && !listed(address),
  );

  // Holds whose job is over: their address closes unless a running job (or the lasting list) keeps it.
  const leftovers = states.filter((s) => s.state === "leftover").map((s) => s.hold);
  const kept: JobScopedPlan["kept"] = [];
  const closed: ClosedAddress[] = [];
  for (const address of unique(leftovers.map((hold) => hold.address))) {
    if (!listed(address)) continue;
    const holds = leftovers.filter((hold) => hold.address === address);
    const heldBy = running.filter((hold) => hold.address === address);
    if (heldBy.length) kept.push({ address, holds, heldBy });
    else if (!after.some((entry) => sameEntry(entry, address))) closed.push({ address, holds });
  }
  const lastEntryKept: string[] = [];
  if (request.emptyListAdmitsEveryone && view.entries.length > 0 && after.length === 0 && closed.length > 0) {
    // Closing the last entries would open the firewall to every address: they stay, and so do their holds.
    lastEntryKept.push(...closed.map((c) => c.address));
    after = closed.map((c) => spelled(c.address));
    closed.length = 0;
  }

  const writing = (hold: Hold) => write.some((mine) => holdLinkName(mine) === holdLinkName(hold));
  const remove = view.holds.filter((hold) => {
    if (writing(hold) || lastEntryKept.includes(hold.address)) return false;
    const state = holdState(hold, job);
    if (state === "leftover") return true;
    // Settled by the task's own change, or no longer listed and never to be (closed some other way).
    return settled(hold.address);
  });
  const madeLasting = unique(view.holds.filter((hold) => settled(hold.address) && listed(hold.address)).map((hold) => hold.address)).filter(
    (address) => lastingAfter.some((entry) => sameEntry(entry, address)),
  );

  const added = after.filter((entry) => !view.entries.some((before) => sameEntry(before, entry)));
  const removed = view.entries.filter((entry) => !after.some((kept) => sameEntry(kept, entry)));
  return {
    before: [...view.entries],
    after: added.length === 0 && removed.length === 0 ? [...view.entries] : after,
    added,
    removed,
    write,
    remove,
    opened,
    alreadyAuthorized,
    closed,
    kept,
    restored,
    lastEntryKept,
    untrusted: view.untrusted,
    madeLasting,
  };
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
