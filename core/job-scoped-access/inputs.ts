import * as tl from "azure-pipelines-task-lib/task";
import { InputError } from "../errors";
import { readString } from "../inputs";
import { DEFAULT_AGENT_IP_LOOKUPS } from "./egress";

/** The inputs and pipeline variables of job-scoped access, the same in every task that opens it. */

export const DEFAULT_AGENT_IP_SERVICE = "https://api.ipify.org";

/** `agentIpServiceUrl`: an https URL whose answer is the caller's public IPv4 address. */
export function readAgentIpServiceUrl(): string {
  const value = readString("agentIpServiceUrl") ?? DEFAULT_AGENT_IP_SERVICE;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(
      "agentIpServiceUrl",
      `'${value}' is not a URL; enter an https URL that answers the caller's public IPv4 address as text, e.g. ${DEFAULT_AGENT_IP_SERVICE}.`,
    );
  }
  // Its answer is written into a firewall: over plain http anyone on the path could choose it.
  if (url.protocol !== "https:") {
    throw new InputError(
      "agentIpServiceUrl",
      `'${value}' must be an https URL (its answer is written into the firewall), e.g. ${DEFAULT_AGENT_IP_SERVICE}.`,
    );
  }
  return url.toString();
}

/** Pipeline variable `AksHardening.AgentIpLookups`: how many times the agent's address is looked up (1-16). */
export function readAgentIpLookups(): number {
  const raw = tl.getVariable("AksHardening.AgentIpLookups")?.trim();
  if (!raw) return DEFAULT_AGENT_IP_LOOKUPS;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 16) {
    throw new InputError(
      "AksHardening.AgentIpLookups",
      `'${raw}' is not a whole number from 1 to 16; leave it unset for ${DEFAULT_AGENT_IP_LOOKUPS}.`,
    );
  }
  return Number(raw);
}
