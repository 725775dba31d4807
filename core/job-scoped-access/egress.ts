import * as tl from "azure-pipelines-task-lib/task";
import { getText } from "../azure";
import { TaskError } from "../errors";
import { bareAddress, canonicalEntry, notPublic } from "./addresses";

/**
 * The public addresses the agent's traffic leaves from. One lookup is not enough: Microsoft-hosted
 * agents leave through a pool of outbound addresses, and the address an IP-echo service reported is
 * not always the one the next connection leaves from. Users who authorized it still saw intermittent
 * "dial tcp …:443: i/o timeout" (MicrosoftDocs/azure-devops-docs#7844, Azure/AKS#4849; "the source
 * IP with MS-hosted agents is randomly changed", MicrosoftDocs/azure-docs#68469). So the service is
 * asked several times, each over a connection of its own (a connection keeps its address; a new one
 * may get another), and every distinct answer is opened, up to a bound: an agent whose traffic
 * leaves from more addresses than that needs a fixed egress (a NAT gateway, a self-hosted agent)
 * rather than a firewall that grows with every job.
 */

/** An IP service answers a dotted quad and perhaps a new line; anything much longer is not an answer. */
export const MAX_AGENT_IP_ANSWER_BYTES = 256;
/** Lookups per run, unless the pipeline variable says otherwise. */
export const DEFAULT_AGENT_IP_LOOKUPS = 4;
/** Distinct addresses a job opens at most. */
export const MAX_AGENT_ADDRESSES = 4;

export interface AgentEgress {
  /** Distinct addresses, `a.b.c.d/32`, in numeric order. */
  addresses: string[];
  /** How many lookups saw each address. */
  seen: Map<string, number>;
  lookups: number;
  serviceUrl: string;
}

/** Asks the service `lookups` times at once, each over its own connection; accepts public unicast IPv4 addresses only. */
export async function findAgentEgress(serviceUrl: string, lookups: number): Promise<AgentEgress> {
  // getText makes a new HTTP client (its own connection pool) for every call.
  const answers = await Promise.all(Array.from({ length: lookups }, () => lookUp(serviceUrl)));
  const seen = new Map<string, number>();
  for (const address of answers) seen.set(address, (seen.get(address) ?? 0) + 1);
  // Lookups run at once, so the order they answer in says nothing: addresses in numeric order.
  const addresses = [...seen.keys()].sort((a, b) => numeric(a) - numeric(b));
  if (addresses.length > MAX_AGENT_ADDRESSES) {
    throw new TaskError(
      `agentIpServiceUrl: ${lookups} lookups at ${serviceUrl} saw the agent's traffic leave from ${addresses.length} addresses (${addresses.map(bareAddress).join(", ")}), more than the ${MAX_AGENT_ADDRESSES} a job opens; nothing was changed. Give the agent a fixed outbound address (a NAT gateway or a self-hosted agent) and authorize that, or use a service that reports one address.`,
    );
  }
  tl.debug(`Agent egress: ${addresses.map((a) => `${a} ×${seen.get(a)}`).join(", ")}`);
  return { addresses, seen, lookups, serviceUrl };
}

/** One line for the summary: what the lookups saw. */
export function describeEgress(egress: AgentEgress): string {
  const counts = egress.addresses.map((address) => `${bareAddress(address)} (${egress.seen.get(address)}×)`).join(", ");
  return `${egress.lookups} lookups of ${egress.serviceUrl}, each over its own connection, saw ${egress.addresses.length === 1 ? "one address" : `${egress.addresses.length} addresses`}: ${counts}`;
}

async function lookUp(serviceUrl: string): Promise<string> {
  let answer: string;
  try {
    answer = (await getText(serviceUrl, { maxBytes: MAX_AGENT_IP_ANSWER_BYTES })).trim();
  } catch (error) {
    throw new TaskError(
      `Could not look up the agent's public IP at ${serviceUrl} (agentIpServiceUrl): ${(error as Error).message}. Check that the agent can reach it (through its proxy), or set agentIpServiceUrl to a service your network allows.`,
    );
  }
  const shown = answer.length > 60 ? `${answer.slice(0, 60)}…` : answer;
  const address = answer.includes("/") ? undefined : canonicalEntry(answer);
  if (!address || !address.endsWith("/32")) {
    throw new TaskError(
      `agentIpServiceUrl: ${serviceUrl} answered '${shown}', which is not a public IPv4 address (the firewalls this task opens take IPv4 only). Nothing was changed. Use a service that answers the caller's IPv4 address as plain text, such as https://api.ipify.org.`,
    );
  }
  const special = notPublic(address);
  if (special) {
    throw new TaskError(
      `agentIpServiceUrl: ${serviceUrl} answered '${shown}', ${special}, not the agent's public IPv4 address; authorizing it would open the firewall to the wrong hosts, so nothing was changed. Point agentIpServiceUrl to a service that sees the agent's traffic from the internet, such as https://api.ipify.org.`,
    );
  }
  return address;
}

function numeric(address: string): number {
  return address
    .replace(/\/32$/, "")
    .split(".")
    .reduce((value, octet) => value * 256 + Number(octet), 0);
}
