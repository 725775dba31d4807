import type { ManagedCluster } from "../../core/cluster";
import { InputError, TaskError } from "../../core/errors";
import type { AgentIpScope, RangeAction } from "./inputs";
import { aggregateRanges, covers, foldRanges, isRangeError, overlaps, parseIpv4Range, type Ipv4Range } from "./ranges";

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
}

/** What the cluster tells us that matters for authorized ranges. */
export interface ClusterAccess {
  authorizedIPRanges: string[];
  privateCluster: boolean;
  basicLoadBalancer: boolean;
  vnetIntegration: boolean;
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
}

export interface AuthorizedRangesPlan {
  readonly empty: boolean;
  action: RangeAction;
  before: string[];
  after: string[];
  added: string[];
  removed: string[];
  agentIp?: AgentIpPlan;
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
 * The authorized-ranges change for a request against a cluster as it is. Pure: no I/O. Entries of
 * the current list that the request does not concern are kept exactly as Azure returned them.
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

  const before = cluster.authorizedIPRanges;
  const notes: string[] = [];
  const warnings: string[] = [];
  const current = before.map((text) => ({ text, range: parsedOrUndefined(text) }));

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
      break;
    case "disable":
      after = [];
      if (before.length > 0) {
        warnings.push(
          "The API server's authorized IP ranges are disabled: the API server now accepts connections from every address on the internet.",
        );
      }
      break;
    case "add": {
      after = [...before];
      for (const range of requested) {
        const coveredBy = current.find((entry) => entry.range && covers(entry.range, range));
        if (coveredBy) notes.push(`${range.cidr} is already authorized (by ${coveredBy.text}); not added again.`);
        else after.push(range.cidr);
      }
      if (before.length === 0 && after.length > 0) {
        warnings.push(
          `The API server was open to every address; it is now restricted to ${after.length} range(s). Make sure everything that needs kubectl access is among them.`,
        );
      }
      break;
    }
    case "remove": {
      after = current
        .filter((entry) => !(entry.range && requested.some((range) => covers(range, entry.range!))))
        .map((entry) => entry.text);
      for (const range of requested) {
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

  const limit = cluster.vnetIntegration ? MAX_RANGES_VNET_INTEGRATION : MAX_RANGES;
  let agentIp: AgentIpPlan | undefined;
  if (request.agentIp) {
    const agent = request.agentIp;
    const listedBefore = current.some((entry) => entry.range?.cidr === agent.cidr);
    const coveredBy = after
      .map((text) => ({ text, range: parsedOrUndefined(text) }))
      .find((entry) => entry.range && covers(entry.range, agent));
    const alreadyAuthorized = after.length === 0 || coveredBy !== undefined;
    if (after.length === 0)
      notes.push(`The agent's address ${agent.cidr} can reach the API server, which accepts every address; not added.`);
    else if (coveredBy) notes.push(`The agent's address ${agent.cidr} is already authorized (by ${coveredBy.text}).`);
    agentIp = {
      cidr: agent.cidr,
      scope: request.agentIpScope,
      alreadyAuthorized,
      listedBefore,
      removeAfterJob: !alreadyAuthorized && request.agentIpScope === "job" && !listedBefore,
    };
  }

  // The job's own agent entry is kept out of aggregation so the post-job step finds it as it was added.
  const agentEntries = agentIp && !agentIp.alreadyAuthorized ? 1 : 0;
  if (after.length + agentEntries > limit) {
    const parsed = after.map((text) => ({ text, range: parsedOrUndefined(text) }));
    const unparsed = parsed.filter((entry) => !entry.range).map((entry) => entry.text);
    const aggregated = aggregateRanges(parsed.flatMap((entry) => (entry.range ? [entry.range] : [])));
    const count = after.length;
    after = [...unparsed, ...aggregated.map((range) => range.cidr)];
    if (after.length + agentEntries > limit) {
      throw new InputError(
        "authorizedIpRanges",
        `the cluster would need ${after.length + agentEntries} authorized ranges even after joining adjacent ones, over AKS's limit of ${limit}${cluster.vnetIntegration ? "" : " (2,000 with API server VNet integration)"}. Use wider CIDRs or fewer entries.`,
      );
    }
    notes.push(
      `${count} ranges are over AKS's limit of ${limit}; adjacent and overlapping ranges were joined into ${after.length} CIDRs covering exactly the same addresses.`,
    );
  }
  if (agentIp && !agentIp.alreadyAuthorized) after.push(agentIp.cidr);

  if (after.includes(OUTBOUND_IP_ONLY)) {
    notes.push(
      `${OUTBOUND_IP_ONLY} is AKS's special entry for the cluster's own outbound IP: alone it allows only the nodes' egress address to reach the API server.`,
    );
  }

  const beforeSet = new Set(before.map(canonical));
  const afterSet = new Set(after.map(canonical));
  const added = after.filter((text) => !beforeSet.has(canonical(text)));
  const removed = before.filter((text) => !afterSet.has(canonical(text)));
  return {
    empty: added.length === 0 && removed.length === 0,
    action: request.action,
    before,
    // A list equal to the current one as a set is written back in its current order.
    after: added.length === 0 && removed.length === 0 ? before : after,
    added,
    removed,
    ...(agentIp ? { agentIp } : {}),
    notes,
    warnings,
  };
}

/**
 * The post-job step's change: remove the agent's /32 that the main step added. When it is the last
 * entry, removing it would open the API server to everyone, so it stays and a warning says so.
 */
export function planAgentIpRemoval(agentCidr: string, cluster: ClusterAccess): AuthorizedRangesPlan {
  const before = cluster.authorizedIPRanges;
  const base = { action: "remove" as const, before, notes: [] as string[], warnings: [] as string[] };
  if (!before.some((text) => canonical(text) === agentCidr)) {
    return {
      ...base,
      empty: true,
      after: before,
      added: [],
      removed: [],
      notes: [`The agent's address ${agentCidr} is no longer in the list; nothing to remove.`],
    };
  }
  const after = before.filter((text) => canonical(text) !== agentCidr);
  if (after.length === 0) {
    return {
      ...base,
      empty: true,
      after: before,
      added: [],
      removed: [],
      warnings: [
        `The agent's address ${agentCidr} is the only authorized range left; removing it would open the API server to every address, so it stays. Add the ranges that should have access and remove it.`,
      ],
    };
  }
  return { ...base, empty: false, after, added: [], removed: before.filter((text) => canonical(text) === agentCidr) };
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
