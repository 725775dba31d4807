import * as os from "node:os";
import * as tl from "azure-pipelines-task-lib/task";
import { containsCidr } from "cidr-tools";
import type { AzureClients } from "../../core/azure";
import { getText } from "../../core/azure";
import { clusterClient, updateCluster, type ClusterRef, type ClusterUpdateResult, type ManagedCluster } from "../../core/cluster";
import { TaskError } from "../../core/errors";
import { holderOf } from "../../core/job-scoped-ips";
import { clusterAccess, type AuthorizedRangesPlan, type ClusterAccess, type JobIdentity } from "./plan";
import { isRangeError, parseIpv4Range, type Ipv4Range } from "./ranges";

export { AGENT_IP_TASK_VARIABLE, LEFT_BEHIND_TASK_VARIABLE } from "./task-variables";

/** The cluster as read, with only its authorized IP ranges (and the job-scoped marker tag) replaced. */
export function withPlan(cluster: ManagedCluster, plan: Pick<AuthorizedRangesPlan, "after" | "tags">): ManagedCluster {
  return {
    ...cluster,
    ...(plan.tags ? { tags: plan.tags } : {}),
    apiServerAccessProfile: { ...cluster.apiServerAccessProfile, authorizedIPRanges: plan.after },
  };
}

export interface RangesUpdate<P extends AuthorizedRangesPlan> {
  ref: ClusterRef;
  dryRun: boolean;
  busyTimeoutMs: number;
  plan(access: ClusterAccess): P;
  beforeWrite?(plan: P): void;
}

export function applyRanges<P extends AuthorizedRangesPlan>(
  clients: AzureClients,
  update: RangesUpdate<P>,
): Promise<ClusterUpdateResult<P>> {
  return updateCluster<P>(clusterClient(clients), update.ref, {
    plan: (cluster) => update.plan(clusterAccess(cluster)),
    apply: (cluster, plan) => withPlan(cluster, plan),
    ...(update.beforeWrite ? { beforeWrite: update.beforeWrite } : {}),
    dryRun: update.dryRun,
    busyTimeoutMs: update.busyTimeoutMs,
  });
}

/** Azure Pipelines' default job timeout, when the agent does not say (minutes). */
const DEFAULT_JOB_TIMEOUT_MINUTES = 60;
/** A job with no timeout (0) holds its address this long at most before a later run may close it. */
const UNLIMITED_JOB_HOLD_MINUTES = 7 * 24 * 60;
/** After the timeout the agent still gives a cancelled job time to finish and runs post-job steps. */
const CANCEL_GRACE_MINUTES = 5;

/**
 * This job as the marker records it. The holder names the agent: an agent runs one job at a time,
 * so its own earlier hold belongs to a finished job. The hold ends with the job's timeout
 * (`System.JobTimeout`, minutes), the longest the job can still need the address.
 */
export function currentJob(now = new Date()): JobIdentity {
  const holder = holderOf({
    collectionId: tl.getVariable("System.CollectionId"),
    agentId: tl.getVariable("Agent.Id"),
    agentName: tl.getVariable("Agent.Name") ?? os.hostname(),
  });
  const timeout = Number(tl.getVariable("System.JobTimeout") ?? DEFAULT_JOB_TIMEOUT_MINUTES);
  const minutes =
    !Number.isFinite(timeout) || timeout < 0 ? DEFAULT_JOB_TIMEOUT_MINUTES : timeout === 0 ? UNLIMITED_JOB_HOLD_MINUTES : timeout;
  return { holder, now, until: new Date(now.getTime() + (minutes + CANCEL_GRACE_MINUTES) * 60_000) };
}

/**
 * Addresses that are not one public host on the internet (RFC 6890's special-purpose registry):
 * written into the firewall they would authorize a private network, the cluster's own outbound IP
 * (AKS reads 0.0.0.0 so), or nothing at all. The IP service's answer is untrusted input.
 */
const NOT_PUBLIC: readonly { cidr: string; what: string }[] = [
  { cidr: "0.0.0.0/8", what: "'this network' (0.0.0.0 means the cluster's own outbound IP to AKS)" },
  { cidr: "10.0.0.0/8", what: "a private address (RFC 1918)" },
  { cidr: "172.16.0.0/12", what: "a private address (RFC 1918)" },
  { cidr: "192.168.0.0/16", what: "a private address (RFC 1918)" },
  { cidr: "100.64.0.0/10", what: "a carrier-grade NAT address (RFC 6598)" },
  { cidr: "127.0.0.0/8", what: "a loopback address" },
  { cidr: "169.254.0.0/16", what: "a link-local address" },
  { cidr: "224.0.0.0/4", what: "a multicast address" },
  { cidr: "255.255.255.255/32", what: "the broadcast address" },
  { cidr: "240.0.0.0/4", what: "a reserved address (240/4)" },
];

/** An IP service answers a dotted quad and perhaps a new line; anything much longer is not an answer. */
export const MAX_AGENT_IP_ANSWER_BYTES = 256;

/** Asks the public-IP service which address the agent's traffic leaves from; accepts one public unicast IPv4 address only. */
export async function lookUpAgentIp(serviceUrl: string): Promise<Ipv4Range> {
  let answer: string;
  try {
    answer = (await getText(serviceUrl, { maxBytes: MAX_AGENT_IP_ANSWER_BYTES })).trim();
  } catch (error) {
    throw new TaskError(
      `Could not look up the agent's public IP at ${serviceUrl} (agentIpServiceUrl): ${(error as Error).message}. Check that the agent can reach it (through its proxy), or set agentIpServiceUrl to a service your network allows.`,
    );
  }
  const shown = answer.length > 60 ? `${answer.slice(0, 60)}…` : answer;
  const parsed = parseIpv4Range(answer);
  if (isRangeError(parsed) || !parsed.cidr.endsWith("/32") || answer.includes("/")) {
    throw new TaskError(
      `agentIpServiceUrl: ${serviceUrl} answered '${shown}', which is not a public IPv4 address (AKS authorized IP ranges are IPv4 only). Nothing was changed. Use a service that answers the caller's IPv4 address as plain text, such as https://api.ipify.org.`,
    );
  }
  const special = NOT_PUBLIC.find((range) => containsCidr(range.cidr, parsed.cidr));
  if (special) {
    throw new TaskError(
      `agentIpServiceUrl: ${serviceUrl} answered '${shown}', ${special.what}, not the agent's public IPv4 address; authorizing it would open the API server to the wrong hosts, so nothing was changed. Point agentIpServiceUrl to a service that sees the agent's traffic from the internet, such as https://api.ipify.org.`,
    );
  }
  tl.debug(`Agent public IP: ${parsed.cidr}`);
  return parsed;
}
