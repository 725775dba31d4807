import type { ManagedCluster } from "../../core/cluster";
import { InputError, TaskError } from "../../core/errors";
import { describeChange } from "../../core/report";
import {
  formatJobScopedIps,
  formatUntil,
  isLeftBehind,
  JOB_SCOPED_IPS_TAG,
  MAX_TAG_VALUE_LENGTH,
  readJobScopedIps,
  withJobScopedIps,
  type JobScopedIpHold,
  type JobScopedIps,
} from "../../core/job-scoped-ips";
import type { AgentIpScope, RangeAction } from "./inputs";
import {
  aggregateRanges,
  BROAD_PREFIX,
  broadRanges,
  covers,
  coverEverything,
  foldRanges,
  isRangeError,
  nameSome,
  outboundIpOnlyWithOthers,
  overlaps,
  parseIpv4Range,
  type Ipv4Range,
} from "./ranges";

/** AKS's limits on authorized IP ranges: 200, or 2,000 with API server VNet integration. */
export const MAX_RANGES = 200;
export const MAX_RANGES_VNET_INTEGRATION = 2000;
export const OUTBOUND_IP_ONLY = "0.0.0.0/32";

export interface RangesRequest {
  action: RangeAction;
  ranges: readonly Ipv4Range[];
  /** The agent's public IP as /32, when includeAgentIp is set. */
  agentIp?: Ipv4Range;
  agentIpScope: AgentIpScope;
  job: JobIdentity;
  /** Notes then say what a real run would do (core/report.ts describeChange). */
  dryRun?: boolean;
}

/** This job, as the job-scoped marker records it. */
export interface JobIdentity {
  /** The agent running the job (core/job-scoped-ips.ts). */
  holder: string;
  /** When this job has ended at the latest (now + the job's timeout). */
  until: Date;
  now: Date;
}

/** What the cluster tells us that matters for authorized ranges. */
export interface ClusterAccess {
  authorizedIPRanges: string[];
  privateCluster: boolean;
  basicLoadBalancer: boolean;
  vnetIntegration: boolean;
  tags: Record<string, string>;
  /** The job-scoped IPs RestrictApiServer recorded on the cluster. */
  marker: JobScopedIps;
}

export interface AgentIpPlan {
  cidr: string;
  scope: AgentIpScope;
  /** Already authorized by the resulting list without an entry of its own (or the API server is open). */
  alreadyAuthorized: boolean;
  /** Its own /32 was in the list before the task ran: the post-job step must leave it. */
  listedBefore: boolean;
  /** The post-job step removes it. */
  removeAfterJob: boolean;
  /** Other live jobs holding the same address: it stays until the last of them ends. */
  sharedWith: JobScopedIpHold[];
}

export interface AuthorizedRangesPlan {
  readonly empty: boolean;
  action: RangeAction;
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
  agentIp?: AgentIpPlan;
  /** Added and removed ranges that are the cluster's lasting configuration (not job-scoped access). */
  lastingAdded: string[];
  lastingRemoved: string[];
  /** The cluster's tags after the change, when the job-scoped marker changes; undefined: tags unchanged. */
  tags?: Record<string, string>;
  /** Job-scoped IPs earlier jobs left behind (their post-job step failed): closed by this job's post-job step. */
  leftBehind: JobScopedIpHold[];
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
    tags: { ...(cluster.tags ?? {}) },
    marker: readJobScopedIps(cluster.tags),
  };
}

/**
 * The authorized-ranges change for a request against a cluster as it is. Pure: no I/O. Entries of
 * the current list that the request does not concern are kept exactly as Azure returned them, and
 * so are addresses other jobs opened for themselves (the job-scoped marker, core/job-scoped-ips.ts).
 */
export function planAuthorizedRanges(request: RangesRequest, cluster: ClusterAccess): AuthorizedRangesPlan {
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

  const { holder: me, now } = request.job;
  const before = cluster.authorizedIPRanges;
  const notes: string[] = [];
  const warnings: string[] = [];
  const current = before.map((text) => ({ text, range: parsedOrUndefined(text) }));
  const listed = new Set(before.map(canonical));

  // Holds on addresses no longer listed were closed some other way (by hand, a `set`): forgotten.
  let holds = cluster.marker.holds.filter((hold) => listed.has(hold.cidr));
  const forgotten = unique(cluster.marker.holds.filter((hold) => !listed.has(hold.cidr)).map((hold) => hold.cidr));
  if (forgotten.length) {
    notes.push(
      `${forgotten.join(", ")} no longer authorized; ${describeChange(request.dryRun === true, { done: "removed from", planned: "a real run would remove it from" })} the job-scoped marker.`,
    );
  }
  const heldBefore = new Set(holds.map((hold) => hold.cidr));
  /** Entries users (or permanent runs) put there: the lasting configuration. */
  const lasting = current.filter((entry) => !heldBefore.has(canonical(entry.text)));
  /** A user who names a job-scoped address authorizes it on purpose: no job closes it any more. */
  const adopt = (cidr: string) => {
    if (!heldBefore.has(cidr) || !holds.some((hold) => hold.cidr === cidr)) return;
    holds = holds.filter((hold) => hold.cidr !== cidr);
    notes.push(
      describeChange(request.dryRun === true, {
        done: `${cidr} was open for a job only; it is now authorized for good.`,
        planned: `${cidr} is open for a job only; a real run would authorize it for good.`,
      }),
    );
  };

  const { kept: requested, folded } = foldRanges(request.ranges);
  for (const { range, into } of folded) {
    notes.push(
      range.cidr === into.cidr
        ? `${range.cidr} is listed more than once; kept once.`
        : `${range.cidr} lies inside ${into.cidr}; kept ${into.cidr} only.`,
    );
  }

  let after: string[];
  switch (request.action) {
    case "set":
      // Entries already present keep the spelling Azure returned, so an equal list is no change.
      after = requested.map((range) => current.find((entry) => entry.range?.cidr === range.cidr)?.text ?? range.cidr);
      for (const range of requested) adopt(range.cidr);
      break;
    case "disable":
      after = [];
      holds = [];
      if (before.length > 0) {
        warnings.push(
          "The API server's authorized IP ranges are disabled: the API server now accepts connections from every address on the internet.",
        );
      }
      break;
    case "add": {
      after = lasting.map((entry) => entry.text);
      for (const range of requested) {
        const coveredBy = lasting.find((entry) => entry.range && covers(entry.range, range));
        if (coveredBy) notes.push(`${range.cidr} is already authorized (by ${coveredBy.text}); not added again.`);
        else if (heldBefore.has(range.cidr)) {
          adopt(range.cidr);
          after.push(current.find((entry) => entry.range?.cidr === range.cidr)?.text ?? range.cidr);
        } else after.push(range.cidr);
      }
      if (before.length === 0 && after.length > 0) {
        warnings.push(
          `The API server was open to every address; it is now restricted to ${after.length} range(s). Make sure everything that needs kubectl access is among them.`,
        );
      }
      break;
    }
    case "remove": {
      after = lasting
        .filter((entry) => !(entry.range && requested.some((range) => covers(range, entry.range!))))
        .map((entry) => entry.text);
      for (const range of requested) {
        for (const cidr of heldBefore) {
          const held = parsedOrUndefined(cidr);
          if (held && covers(range, held)) holds = holds.filter((hold) => hold.cidr !== cidr);
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
      if (before.length > 0 && after.length === 0) {
        throw new InputError(
          "authorizedIpRanges",
          "removing these ranges would leave the list empty, and an empty list opens the API server to every address. Use action 'disable' if that is intended, or keep at least one range.",
        );
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

  let agentIp: AgentIpPlan | undefined;
  let agentHold: JobScopedIpHold | undefined;
  if (request.agentIp) {
    const agent = request.agentIp;
    const listedBefore = lasting.some((entry) => entry.range?.cidr === agent.cidr);
    const open = after.length === 0 && !holds.length;
    const coveredBy = after
      .map((text) => ({ text, range: parsedOrUndefined(text) }))
      .find((entry) => entry.range && covers(entry.range, agent));
    const alreadyAuthorized = open || coveredBy !== undefined;
    if (open) notes.push(`The agent's address ${agent.cidr} can reach the API server, which accepts every address; not added.`);
    else if (coveredBy) notes.push(`The agent's address ${agent.cidr} is already authorized (by ${coveredBy.text}).`);
    const jobScoped = !alreadyAuthorized && !listedBefore && request.agentIpScope === "job";
    if (!alreadyAuthorized && !jobScoped) {
      // Listed by a user before, or wanted permanently: part of the lasting list, closed by no job.
      adopt(agent.cidr);
      after.push(current.find((entry) => entry.range?.cidr === agent.cidr)?.text ?? agent.cidr);
    }
    if (jobScoped) {
      agentHold = { cidr: agent.cidr, holder: me, until: request.job.until };
      holds = [...holds.filter((hold) => !(hold.cidr === agent.cidr && hold.holder === me)), agentHold];
    }
    agentIp = {
      cidr: agent.cidr,
      scope: request.agentIpScope,
      alreadyAuthorized,
      listedBefore,
      removeAfterJob: jobScoped,
      sharedWith: holds.filter((hold) => hold.cidr === agent.cidr && hold !== agentHold && !isLeftBehind(hold, now, me)),
    };
  }

  // Job-scoped entries stay out of joining (each must be found as added, to be closed alone), after the lasting ones.
  const heldEntries = unique(holds.map((hold) => hold.cidr))
    .filter((cidr) => !after.some((text) => canonical(text) === cidr))
    .map((cidr) => current.find((entry) => entry.range?.cidr === cidr)?.text ?? cidr);
  if (request.action === "disable") heldEntries.length = 0;
  const limit = cluster.vnetIntegration ? MAX_RANGES_VNET_INTEGRATION : MAX_RANGES;
  if (after.length + heldEntries.length > limit) {
    const parsed = after.map((text) => ({ text, range: parsedOrUndefined(text) }));
    const unparsed = parsed.filter((entry) => !entry.range).map((entry) => entry.text);
    const aggregated = aggregateRanges(parsed.flatMap((entry) => (entry.range ? [entry.range] : [])));
    const count = after.length;
    after = [...unparsed, ...aggregated.map((range) => range.cidr)];
    if (after.length + heldEntries.length > limit) {
      throw new InputError(
        "authorizedIpRanges",
        `the cluster would need ${after.length + heldEntries.length} authorized ranges even after joining adjacent ones, over AKS's limit of ${limit}${cluster.vnetIntegration ? "" : " (2,000 with API server VNet integration)"}. Use wider CIDRs or fewer entries.`,
      );
    }
    notes.push(
      `${count} ranges are over AKS's limit of ${limit}; adjacent and overlapping ranges were joined into ${after.length} CIDRs covering exactly the same addresses.`,
    );
  }
  after.push(...heldEntries);

  refuseWhatAksRefuses(request, before, after);
  if (after.includes(OUTBOUND_IP_ONLY)) {
    notes.push(
      `${OUTBOUND_IP_ONLY} is AKS's special entry for the cluster's own outbound IP: alone it allows only the nodes' egress address to reach the API server.`,
    );
  }

  const leftBehind = holds.filter((hold) => hold !== agentHold && isLeftBehind(hold, now, me));
  const tags = markerChange(cluster, { holds, unreadable: cluster.marker.unreadable });
  const plan = finishPlan({ action: request.action, before, after, heldBefore, holds, tags, leftBehind, notes, warnings, agentIp });
  // `set` is the default action, and the agent passes a left-out input as its default
  // (azure-pipelines-agent, src/Agent.Worker/TaskRunner.cs, LoadDefaultInputs): the task cannot
  // tell a pipeline that meant to replace the list from one that forgot `action`, so every range
  // it takes off without being told is named.
  if (request.action === "set" && plan.lastingRemoved.length) {
    plan.warnings.push(
      `Action 'set' keeps only the ranges in authorizedIpRanges, and takes every other range off the API server's authorized IP ranges: ${nameSome(plan.lastingRemoved, 50)} ${plan.lastingRemoved.length === 1 ? "is" : "are"} not listed. Use action 'add' to keep ranges you do not list.`,
    );
  }
  return plan;
}

/**
 * Refuses, before any write, a resulting list AKS would refuse or that restricts nothing: one that
 * holds 0.0.0.0/32 with other entries (the other entries may come from the cluster's list or this
 * agent's address), or whose ranges together cover every IPv4 address. A list the cluster already
 * had is left to the actions that edit it.
 */
function refuseWhatAksRefuses(request: RangesRequest, before: readonly string[], after: readonly string[]): void {
  if (after.length === before.length && after.every((entry) => before.includes(entry))) return;
  const input = request.agentIp && after.includes(request.agentIp.cidr) ? "includeAgentIp" : "authorizedIpRanges";
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

/** What the post-job step did or would do, for its summary. */
export interface ReleasePlan extends AuthorizedRangesPlan {
  /** Holds released: this job's, and those earlier jobs left behind. */
  released: JobScopedIpHold[];
  /** Addresses taken off the list because no job holds them any more. */
  closed: string[];
  /** Released addresses that stay because other live jobs still hold them. */
  stillHeld: JobScopedIpHold[];
}

/**
 * The post-job step's change: release this job's hold and any hold an earlier job left behind,
 * and close each address no job holds any more. Addresses without a hold (authorized by a user or
 * permanently) are never touched. Closing the last entry would open the API server to everyone,
 * so then it stays, with its hold, and a warning says so.
 */
export function planJobScopedRelease(job: Pick<JobIdentity, "holder" | "now">, cluster: ClusterAccess): ReleasePlan {
  const before = cluster.authorizedIPRanges;
  const notes: string[] = [];
  const warnings: string[] = [];
  const listed = new Set(before.map(canonical));
  const heldBefore = new Set(cluster.marker.holds.map((hold) => hold.cidr));
  const gone = unique(cluster.marker.holds.filter((hold) => !listed.has(hold.cidr)).map((hold) => hold.cidr));
  if (gone.length) notes.push(`${gone.join(", ")} no longer authorized (closed some other way); removed from the job-scoped marker.`);
  const holdsListed = cluster.marker.holds.filter((hold) => listed.has(hold.cidr));
  const released = holdsListed.filter((hold) => isLeftBehind(hold, job.now, job.holder));
  let holds = holdsListed.filter((hold) => !released.includes(hold));
  let closed = unique(released.map((hold) => hold.cidr)).filter((cidr) => !holds.some((hold) => hold.cidr === cidr));
  const stillHeld = holds.filter((hold) => released.some((mine) => mine.cidr === hold.cidr));
  let after = before.filter((text) => !closed.includes(canonical(text)));
  if (before.length > 0 && after.length === 0) {
    warnings.push(
      `${closed.join(", ")} ${closed.length === 1 ? "is" : "are"} the only authorized range left; removing ${closed.length === 1 ? "it" : "them"} would open the API server to every address, so ${closed.length === 1 ? "it stays" : "they stay"}. Add the ranges that should have access, then re-run.`,
    );
    holds = [...holds, ...released];
    closed = [];
    after = before;
  }
  const tags = markerChange(cluster, { holds, unreadable: cluster.marker.unreadable });
  const plan = finishPlan({ action: "remove", before, after, heldBefore, holds, tags, leftBehind: [], notes, warnings });
  return { ...plan, released: closed.length || tags ? released : [], closed, stillHeld };
}

/** The tags to write when the marker's content changes, every other tag as read; undefined when it does not. */
function markerChange(cluster: ClusterAccess, marker: JobScopedIps): Record<string, string> | undefined {
  const value = formatJobScopedIps(marker);
  if (value === formatJobScopedIps(cluster.marker)) return undefined;
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    throw new TaskError(
      `The cluster's tag '${JOB_SCOPED_IPS_TAG}', which records the addresses opened for running jobs, has no room for another (${marker.holds.length} holds, over Azure's ${MAX_TAG_VALUE_LENGTH}-character limit for a tag value); nothing was changed. Let the running jobs end, or use agentIpScope 'permanent' for an agent address that is always allowed.`,
    );
  }
  const hasTag = Object.keys(cluster.tags).some((name) => name.toLowerCase() === JOB_SCOPED_IPS_TAG);
  if (!hasTag && value && Object.keys(cluster.tags).length >= MAX_TAGS) {
    throw new TaskError(
      `The cluster already has ${MAX_TAGS} tags, Azure's limit, so the task cannot add its tag '${JOB_SCOPED_IPS_TAG}' that records the address opened for this job; nothing was changed. Remove a tag, or use agentIpScope 'permanent'.`,
    );
  }
  return withJobScopedIps(cluster.tags, marker);
}

/** Azure's limit of tag name/value pairs per resource (tag-resources#limitations). */
const MAX_TAGS = 50;

function finishPlan(p: {
  action: RangeAction;
  before: string[];
  after: string[];
  heldBefore: Set<string>;
  holds: JobScopedIpHold[];
  tags: Record<string, string> | undefined;
  leftBehind: JobScopedIpHold[];
  notes: string[];
  warnings: string[];
  agentIp?: AgentIpPlan;
}): AuthorizedRangesPlan {
  const beforeSet = new Set(p.before.map(canonical));
  const afterSet = new Set(p.after.map(canonical));
  const added = p.after.filter((text) => !beforeSet.has(canonical(text)));
  const removed = p.before.filter((text) => !afterSet.has(canonical(text)));
  const heldAfter = new Set(p.holds.map((hold) => hold.cidr));
  return {
    empty: added.length === 0 && removed.length === 0 && !p.tags,
    action: p.action,
    before: p.before,
    // A list equal to the current one as a set is written back in its current order.
    after: added.length === 0 && removed.length === 0 ? p.before : p.after,
    added,
    removed,
    // An address taken over from a job (named by the user, or permanent scope) joins the lasting list.
    lastingAdded: [
      ...added.filter((text) => !heldAfter.has(canonical(text))),
      ...p.after.filter((text) => p.heldBefore.has(canonical(text)) && !heldAfter.has(canonical(text)) && beforeSet.has(canonical(text))),
    ],
    lastingRemoved: removed.filter((text) => !p.heldBefore.has(canonical(text))),
    ...(p.tags ? { tags: p.tags } : {}),
    leftBehind: p.leftBehind,
    ...(p.agentIp ? { agentIp: p.agentIp } : {}),
    notes: p.notes,
    warnings: p.warnings,
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The hold's end, as the summary shows it. */
export function holdUntil(hold: JobScopedIpHold): string {
  return formatUntil(hold.until);
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
