import * as tl from "azure-pipelines-task-lib/task";
import type { AzureClients } from "../../core/azure";
import { getText } from "../../core/azure";
import { clusterClient, updateCluster, type ClusterRef, type ClusterUpdateResult, type ManagedCluster } from "../../core/cluster";
import { TaskError } from "../../core/errors";
import { clusterAccess, type AuthorizedRangesPlan } from "./plan";
import { isRangeError, parseIpv4Range, type Ipv4Range } from "./ranges";

export { AGENT_IP_TASK_VARIABLE } from "./task-variables";

/** The cluster as read, with only its authorized IP ranges replaced. */
export function withAuthorizedRanges(cluster: ManagedCluster, ranges: string[]): ManagedCluster {
  return { ...cluster, apiServerAccessProfile: { ...cluster.apiServerAccessProfile, authorizedIPRanges: ranges } };
}

export interface RangesUpdate {
  ref: ClusterRef;
  dryRun: boolean;
  busyTimeoutMs: number;
  plan(access: ReturnType<typeof clusterAccess>): AuthorizedRangesPlan;
  beforeWrite?(plan: AuthorizedRangesPlan): void;
}

export function applyRanges(clients: AzureClients, update: RangesUpdate): Promise<ClusterUpdateResult<AuthorizedRangesPlan>> {
  return updateCluster(clusterClient(clients), update.ref, {
    plan: (cluster) => update.plan(clusterAccess(cluster)),
    apply: (cluster, plan) => withAuthorizedRanges(cluster, plan.after),
    ...(update.beforeWrite ? { beforeWrite: update.beforeWrite } : {}),
    dryRun: update.dryRun,
    busyTimeoutMs: update.busyTimeoutMs,
  });
}

/** Asks the public-IP service which address the agent's traffic leaves from. */
export async function lookUpAgentIp(serviceUrl: string): Promise<Ipv4Range> {
  let answer: string;
  try {
    answer = (await getText(serviceUrl)).trim();
  } catch (error) {
    throw new TaskError(
      `Could not look up the agent's public IP at ${serviceUrl} (agentIpServiceUrl): ${(error as Error).message}. Check that the agent can reach it (through its proxy), or set agentIpServiceUrl to a service your network allows.`,
    );
  }
  const parsed = parseIpv4Range(answer);
  if (isRangeError(parsed) || !parsed.cidr.endsWith("/32")) {
    const shown = answer.length > 60 ? `${answer.slice(0, 60)}…` : answer;
    throw new TaskError(
      `agentIpServiceUrl: ${serviceUrl} answered '${shown}', which is not a public IPv4 address (AKS authorized IP ranges are IPv4 only). Use a service that answers the caller's IPv4 address as plain text, such as https://api.ipify.org.`,
    );
  }
  tl.debug(`Agent public IP: ${parsed.cidr}`);
  return parsed;
}
