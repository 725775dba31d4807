import type { ManagedCluster } from "../../core/cluster";
import { InputError, TaskError } from "../../core/errors";
import { describeChange } from "../../core/report";
import type { JobScopedChange } from "../../core/job-scoped-access/access";
import type { JobRef } from "../../core/job-scoped-access/job";
import { planJobScoped, type FirewallView, type JobScopedPlan } from "../../core/job-scoped-access/plan";
import type { AgentIpScope, RangeAction } from "./inputs";
import {
  aggregateRanges,
  covers,
  foldRanges,
  isRangeError,
  nameSome,
  overlaps,
  parseIpv4Range,
  type Ipv4Range,
} from "../../core/ipv4-ranges";
import { BROAD_PREFIX, broadRanges, coverEverything, outboundIpOnlyWithOthers } from "./ranges";

/** AKS's limits on authorized IP ranges: 200, or 2,000 with API server VNet integration. */
export const MAX_RANGES = 200;
export const MAX_RANGES_VNET_INTEGRATION = 2000;
export const OUTBOUND_IP_ONLY = "0.0.0.0/32";

export interface RangesRequest {
  action: RangeAction;
  ranges: readonly Ipv4Range[];
  /** The agent's public addresses (`a.b.c.d/32`), when includeAgentIp is set. */
  agentAddresses?: readonly string[];
  agentIpScope: AgentIpScope;
  job: JobRef;
  /** Notes and warnings then say what a real run would do (core/report.ts describeChange). */
  dryRun?: boolean;
}

/** What the cluster tells us that matters for authorized ranges. */
export interface ClusterAccess {
  authorizedIPRanges: string[];
  privateCluster: boolean;
  basicLoadBalancer: boolean;
  vnetIntegration: boolean;
}

/** The agent's addresses with scope `permanent`: each added to the lasting list, or already authorized. */
export interface PermanentAgentAddress {
  address: string;
  /** The lasting entry that already authorizes it, if one does. */
  authorizedBy?: string;
}

export interface AuthorizedRangesPlan extends JobScopedChange {
  readonly empty: boolean;
  action: RangeAction;
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
  /** Added and removed ranges that are the cluster's lasting configuration (not job-scoped access). */
  lastingAdded: string[];
  lastingRemoved: string[];
  jobScoped: JobScopedPlan;
  permanent: PermanentAgentAddress[];
  /** Explanations for the summary (folding, aggregation, meanings). */
  notes: string[];
  /** Things the user should look at (warnings in the log). */
  warnings: string[];
}

export function clusterAccess(cluster: ManagedCluster): ClusterAccess {
  const profile = cluster.apiServerAccessProfile ?? {};
  return {
    authorizedIPRanges: [...(profile.authorizedIPRanges ?? [])],
    privateCluster: profile.enablePrivateCluster === true,
    basicLoadBalancer: cluster.networkProfile?.loadBalancerSku?.toLowerCase() === "basic",
    vnetIntegration: profile.enableVnetIntegration === true,
  };
}

/**
 * The authorized-ranges change for a request against a cluster as it is. Pure: no I/O. The action
 * changes the lasting list (the entries no trusted hold accounts for); entries it does not concern
 * are kept exactly as Azure returned them. Job-scoped access is planned by the core
 * (core/job-scoped-access/plan.ts): this job's addresses, the addresses of jobs still running, and
 * the addresses jobs that are over left behind, which close.
 */
export function planAuthorizedRanges(request: RangesRequest, cluster: ClusterAccess, view: FirewallView): AuthorizedRangesPlan {
  if (cluster.privateCluster) {
    throw new TaskError(
      "The cluster is a private cluster: its API server has no public endpoint, so authorized IP ranges do not apply (AKS rejects them). Reach it through its virtual network instead, and remove this task from the pipeline.",
    );
  }
  if (cluster.basicLoadBalancer) {
    throw new TaskError(
      "The cluster uses the Basic load balancer SKU, which does not support API server authorized IP ranges. Move the cluster to the Standard load balancer first.",
    );
  }

  const before = cluster.authorizedIPRanges;
  const said = (done: string, planned: string) => describeChange(request.dryRun === true, { done, planned });
  const notes: string[] = [];
  const warnings: string[] = [];
  const lasting = view.lasting.map((text) => ({ text, range: parsedOrUndefined(text) }));
  const held = new Set(view.holds.map((hold) => hold.address));
  const spelled = (range: Ipv4Range) => view.entries.find((entry) => canonical(entry) === range.cidr) ?? range.cidr;
  /** Addresses the action settles for good (named by the user, or removed): the holds on them go. */
  const settled = new Set<string>();

  const { kept: requested, folded } = foldRanges(request.ranges);
  for (const { range, into } of folded) {
    notes.push(
      range.cidr === into.cidr
        ? `${range.cidr} is listed more than once; kept once.`
        : `${range.cidr} lies inside ${into.cidr}; kept ${into.cidr} only.`,
    );
  }

  let lastingAfter: string[];
  switch (request.action) {
    case "set":
      // Entries already present keep the spelling Azure returned, so an equal list is no change.
      lastingAfter = requested.map(spelled);
      for (const range of requested) if (held.has(range.cidr)) settled.add(range.cidr);
      break;
    case "disable":
      lastingAfter = [];
      for (const address of held) settled.add(address);
      if (before.length > 0) {
        warnings.push(
          said(
            "The API server's authorized IP ranges are disabled: the API server now accepts connections from every address on the internet.",
            "A real run would disable the API server's authorized IP ranges: the API server would then accept connections from every address on the internet.",
          ),
        );
      }
      break;
    case "add": {
      lastingAfter = lasting.map((entry) => entry.text);
      for (const range of requested) {
        const coveredBy = lasting.find((entry) => entry.range && covers(entry.range, range));
        if (coveredBy) notes.push(`${range.cidr} is already authorized (by ${coveredBy.text}); not added again.`);
        else {
          if (held.has(range.cidr)) settled.add(range.cidr);
          lastingAfter.push(spelled(range));
        }
      }
      if (before.length === 0 && lastingAfter.length > 0) {
        warnings.push(
          `${said(
            `The API server was open to every address; it is now restricted to ${lastingAfter.length} range(s).`,
            `The API server is open to every address; a real run would restrict it to ${lastingAfter.length} range(s).`,
          )} Make sure everything that needs kubectl access is among them.`,
        );
      }
      break;
    }
    case "remove": {
      lastingAfter = lasting
        .filter((entry) => !(entry.range && requested.some((range) => covers(range, entry.range!))))
        .map((entry) => entry.text);
      const current = view.entries.map((text) => ({ text, range: parsedOrUndefined(text) }));
      // This job's own addresses stay open for it whatever the removal covers, on every run of the job alike.
      const openingNow = new Set(request.agentIpScope === "job" ? (request.agentAddresses ?? []) : []);
      for (const range of requested) {
        for (const address of held) {
          const heldRange = parsedOrUndefined(address);
          if (heldRange && covers(range, heldRange) && !openingNow.has(address)) settled.add(address);
        }
        const removedAny = current.some((entry) => entry.range && covers(range, entry.range));
        const stillAuthorizing = current.filter((entry) => entry.range && overlaps(entry.range, range) && !covers(range, entry.range));
        if (stillAuthorizing.length > 0) {
          warnings.push(
            `${range.cidr} stays partly authorized through ${stillAuthorizing.map((entry) => entry.text).join(", ")}, which the task does not split; remove that range instead if it should go.`,
          );
        } else if (!removedAny) {
          notes.push(`${range.cidr} is not in the list; nothing to remove for it.`);
        }
      }
      break;
    }
  }

  if (request.action === "set" || request.action === "add") {
    const broad = broadRanges(requested).map((range) => range.cidr);
    if (broad.length) {
      warnings.push(
        `${nameSome(broad)} ${broad.length === 1 ? "is" : "are"} broader than /${BROAD_PREFIX} (over 16 million addresses each): the API server stays open to most of the internet. List the networks that need kubectl access instead.`,
      );
    }
  }

  // The agent's addresses for good: part of the lasting list, closed by no job.
  const permanent: PermanentAgentAddress[] = [];
  const agentAddresses = request.agentAddresses ?? [];
  if (request.agentIpScope === "permanent") {
    for (const address of agentAddresses) {
      const range = parsedOrUndefined(address)!;
      const authorizedBy = lastingAfter.find((entry) => {
        const parsed = parsedOrUndefined(entry);
        return parsed !== undefined && covers(parsed, range);
      });
      if (lastingAfter.length === 0 && view.entries.length === 0) {
        notes.push(`The agent's address ${address} can reach the API server, which accepts every address; not added.`);
        permanent.push({ address, authorizedBy: "the API server accepts every address" });
      } else if (authorizedBy) permanent.push({ address, authorizedBy });
      else {
        if (held.has(address)) settled.add(address);
        lastingAfter.push(spelled(range));
        permanent.push({ address });
      }
    }
  } else {
    // An agent address that was a lasting entry before stays one: the job does not close what it did not open.
    for (const address of agentAddresses) {
      const listedBefore = view.lasting.find((entry) => canonical(entry) === address);
      if (listedBefore && !lastingAfter.some((entry) => canonical(entry) === address)) lastingAfter.push(listedBefore);
    }
  }

  const limit = cluster.vnetIntegration ? MAX_RANGES_VNET_INTEGRATION : MAX_RANGES;
  const jobScopedCount = () => view.holds.filter((hold) => !settled.has(hold.address)).length + agentAddresses.length;
  if (request.action !== "disable" && lastingAfter.length + jobScopedCount() > limit) {
    const parsed = lastingAfter.map((text) => ({ text, range: parsedOrUndefined(text) }));
    const unparsed = parsed.filter((entry) => !entry.range).map((entry) => entry.text);
    const aggregated = aggregateRanges(parsed.flatMap((entry) => (entry.range ? [entry.range] : [])));
    const count = lastingAfter.length;
    lastingAfter = [...unparsed, ...aggregated.map((range) => range.cidr)];
    if (lastingAfter.length + jobScopedCount() > limit) {
      throw new InputError(
        "authorizedIpRanges",
        `the cluster would need ${lastingAfter.length + jobScopedCount()} authorized ranges even after joining adjacent ones, over AKS's limit of ${limit}${cluster.vnetIntegration ? "" : " (2,000 with API server VNet integration)"}. Use wider CIDRs or fewer entries.`,
      );
    }
    notes.push(
      `${count} ranges are over AKS's limit of ${limit}; adjacent and overlapping ranges ${said("were", "would be")} joined into ${lastingAfter.length} CIDRs covering exactly the same addresses.`,
    );
  }

  const jobScoped = planJobScoped({
    view,
    job: request.job,
    lastingAfter,
    settled: (address) => settled.has(address),
    open: request.agentIpScope === "job" ? agentAddresses : [],
    admitsEveryone: lastingAfter.length === 0 && view.entries.length === 0 ? "the API server accepts every address" : undefined,
    emptyListAdmitsEveryone: true,
  });
  const after = request.action === "disable" ? [] : jobScoped.after;
  if (request.action === "remove" && before.length > 0 && after.length === 0) {
    throw new InputError(
      "authorizedIpRanges",
      "removing these ranges would leave the list empty, and an empty list opens the API server to every address. Use action 'disable' if that is intended, or keep at least one range.",
    );
  }
  if (jobScoped.lastEntryKept.length) {
    warnings.push(
      `${jobScoped.lastEntryKept.join(", ")} ${jobScoped.lastEntryKept.length === 1 ? "is" : "are"} left behind by a job that is over, but the only authorized range${jobScoped.lastEntryKept.length === 1 ? "" : "s"} left; removing ${jobScoped.lastEntryKept.length === 1 ? "it" : "them"} would open the API server to every address, so ${jobScoped.lastEntryKept.length === 1 ? "it stays" : "they stay"}. Add the ranges that should have access, then re-run.`,
    );
  }
  refuseWhatAksRefuses(request, before, after);
  if (after.some((entry) => canonical(entry) === OUTBOUND_IP_ONLY)) {
    notes.push(
      `${OUTBOUND_IP_ONLY} is AKS's special entry for the cluster's own outbound IP: alone it allows only the nodes' egress address to reach the API server.`,
    );
  }

  const beforeSet = new Set(before.map(canonical));
  const afterSet = new Set(after.map(canonical));
  const added = after.filter((text) => !beforeSet.has(canonical(text)));
  const removed = before.filter((text) => !afterSet.has(canonical(text)));
  const lastingBefore = new Set(view.lasting.map(canonical));
  const lastingAfterSet = new Set(lastingAfter.map(canonical));
  const lastingRemoved = view.lasting.filter((text) => !lastingAfterSet.has(canonical(text)));
  // `set` is the default action, and the agent passes a left-out input as its default
  // (azure-pipelines-agent, src/Agent.Worker/TaskRunner.cs, LoadDefaultInputs): the task cannot
  // tell a pipeline that meant to replace the list from one that forgot `action`, so every range
  // it takes off without being told is named.
  if (request.action === "set" && lastingRemoved.length) {
    warnings.push(
      `Action 'set' keeps only the ranges in authorizedIpRanges, and takes every other range off the API server's authorized IP ranges: ${nameSome(lastingRemoved, 50)} ${lastingRemoved.length === 1 ? "is" : "are"} not listed. Use action 'add' to keep ranges you do not list.`,
    );
  }
  return {
    empty: added.length === 0 && removed.length === 0,
    action: request.action,
    before,
    // A list equal to the current one as a set is written back in its current order.
    after: added.length === 0 && removed.length === 0 ? before : after,
    added,
    removed,
    lastingAdded: lastingAfter.filter((text) => !lastingBefore.has(canonical(text))),
    lastingRemoved,
    jobScoped,
    permanent,
    notes,
    warnings,
  };
}

/**
 * Refuses, before any write, a resulting list AKS would refuse or that restricts nothing: one that
 * holds 0.0.0.0/32 with other entries (the other entries may come from the cluster's list or this
 * agent's addresses), or whose ranges together cover every IPv4 address. A list the cluster already
 * had is left to the actions that edit it.
 */
function refuseWhatAksRefuses(request: RangesRequest, before: readonly string[], after: readonly string[]): void {
  if (after.length === before.length && after.every((entry) => before.includes(entry))) return;
  const agentAdded = (request.agentAddresses ?? []).some(
    (address) => after.some((entry) => canonical(entry) === address) && !before.some((entry) => canonical(entry) === address),
  );
  const input = agentAdded ? "includeAgentIp" : "authorizedIpRanges";
  if (after.includes(OUTBOUND_IP_ONLY) && after.length > 1) {
    const others = after.filter((entry) => entry !== OUTBOUND_IP_ONLY);
    const why =
      input === "includeAgentIp"
        ? "includeAgentIp adds this agent's address"
        : before.includes(OUTBOUND_IP_ONLY)
          ? "the cluster's list holds 0.0.0.0/32 now"
          : "the cluster's list holds the others now";
    throw new InputError(input, outboundIpOnlyWithOthers(others, why));
  }
  const parsed = after.map(parsedOrUndefined).filter((range): range is Ipv4Range => range !== undefined);
  if (coverEverything(parsed)) {
    throw new InputError(
      "authorizedIpRanges",
      `with the cluster's current ranges the list would authorize every IPv4 address (${nameSome([...after])}), which is no restriction at all. Remove the broad ranges first, or use action 'set' with the networks that need the API server.`,
    );
  }
}

/** Ranges read from Azure: an entry this task cannot parse is never touched, only carried along. */
function parsedOrUndefined(text: string): Ipv4Range | undefined {
  const parsed = parseIpv4Range(text.trim());
  return isRangeError(parsed) ? undefined : parsed;
}

/** The canonical CIDR of an entry, or the entry itself when it does not parse. */
function canonical(text: string): string {
  return parsedOrUndefined(text)?.cidr ?? text;
}
