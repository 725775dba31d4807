import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError, listProblems } from "../../core/errors";
import {
  readBoolean,
  readChoice,
  readClusterName,
  readListEntries,
  readResourceGroupName,
  readSecondsVariable,
  readString,
  whereTyped,
} from "../../core/inputs";
import { readAgentIpLookups, readAgentIpServiceUrl } from "../../core/job-scoped-access/inputs";
import { isRangeError, nameSome, parseIpv4Range, type Ipv4Range } from "../../core/ipv4-ranges";
import { coverEverything, outboundIpOnlyWithOthers } from "./ranges";

export const ACTIONS = ["set", "add", "remove", "disable"] as const;
export type RangeAction = (typeof ACTIONS)[number];
export type AgentIpScope = "job" | "permanent";

export interface RestrictApiServerRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  action: RangeAction;
  /** Parsed from `authorizedIpRanges`, in the order typed (not yet folded). */
  ranges: Ipv4Range[];
  includeAgentIp: boolean;
  agentIpScope: AgentIpScope;
  agentIpServiceUrl: string;
  /** How many times the agent's address is looked up, each over its own connection. */
  agentIpLookups: number;
  dryRun: boolean;
  busyTimeoutMs: number;
  /** How long to wait for the API server to admit the agent after opening it (0: do not wait). */
  apiServerWaitMs: number;
  /** One reachability probe's limit. */
  apiServerProbeTimeoutMs: number;
  /** Inputs that do not apply to the action and were ignored, for a warning. */
  ignored: string[];
}

/** What the post-job step needs: where the cluster is. The agent IP to remove comes from a task variable. */
export interface PostJobRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  busyTimeoutMs: number;
}

export function readRequest(): RestrictApiServerRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  const clusterName = readClusterName();
  const action = readChoice("action", ACTIONS, "set");
  const includeAgentIp = readBoolean("includeAgentIp", false);
  const agentIpScope = readChoice<AgentIpScope>("agentIpScope", ["job", "permanent"], "job");
  const agentIpServiceUrl = readAgentIpServiceUrl();
  const dryRun = readBoolean("dryRun", false);
  const rangesText = readString("authorizedIpRanges") ?? "";
  const ignored: string[] = [];

  let ranges: Ipv4Range[] = [];
  if (action === "disable") {
    if (rangesText) ignored.push("authorizedIpRanges");
    if (includeAgentIp) {
      throw new InputError(
        "includeAgentIp",
        "cannot be used with action 'disable': disabling opens the API server to every address, so there is no list to add the agent to. Set includeAgentIp to false, or use action 'add'.",
      );
    }
  } else {
    ranges = parseRanges(rangesText);
    const others = ranges.filter((range) => range.cidr !== "0.0.0.0/32").map((range) => range.cidr);
    if (action !== "remove" && others.length > 0 && others.length < ranges.length) {
      throw new InputError("authorizedIpRanges", outboundIpOnlyWithOthers(others));
    }
    if (ranges.length === 0 && !(action === "add" && includeAgentIp)) {
      const hint =
        action === "set"
          ? "enter at least one IPv4 address or CIDR. To remove the restriction altogether use action 'disable'."
          : action === "add"
            ? "enter at least one IPv4 address or CIDR to add, or set includeAgentIp to true."
            : "enter at least one IPv4 address or CIDR to remove.";
      throw new InputError("authorizedIpRanges", `is empty; ${hint}`);
    }
  }

  return {
    connection,
    resourceGroupName,
    clusterName,
    action,
    ranges,
    includeAgentIp,
    agentIpScope,
    agentIpServiceUrl,
    agentIpLookups: readAgentIpLookups(),
    dryRun,
    busyTimeoutMs: readBusyTimeoutMs(),
    apiServerWaitMs: readWaitSeconds() * 1000,
    apiServerProbeTimeoutMs: readProbeTimeoutSeconds() * 1000,
    ignored,
  };
}

export function readPostJobRequest(): PostJobRequest {
  return {
    connection: readServiceConnection("azureSubscription"),
    resourceGroupName: readResourceGroupName(),
    clusterName: readClusterName(),
    busyTimeoutMs: readBusyTimeoutMs(),
  };
}

/** Every entry is checked, and all bad ones are reported together so one fix-and-re-run suffices. */
export function parseRanges(text: string, inputName = "authorizedIpRanges"): Ipv4Range[] {
  const ranges: Ipv4Range[] = [];
  const errors: string[] = [];
  for (const entry of readListEntries(text)) {
    const parsed = parseIpv4Range(entry.text);
    if (isRangeError(parsed)) errors.push(`${whereTyped(text, entry)}${parsed.error}`);
    else ranges.push(parsed);
  }
  if (errors.length === 1) throw new InputError(inputName, errors[0]!);
  if (errors.length > 1) throw new InputError(inputName, `${errors.length} entries are not usable: ${listProblems(errors)}`);
  const everything = ranges.find((range) => range.cidr === "0.0.0.0/0");
  if (everything) {
    throw new InputError(
      inputName,
      "'0.0.0.0/0' authorizes every address, which is no restriction at all. To open the API server deliberately use action 'disable'; to allow only the cluster's own outbound IP use 0.0.0.0/32.",
    );
  }
  if (coverEverything(ranges)) {
    throw new InputError(
      inputName,
      `${nameSome(ranges.map((range) => range.cidr))} together authorize every IPv4 address, which is no restriction at all. List only the networks that need the API server; to open it deliberately use action 'disable'.`,
    );
  }
  return ranges;
}

/** AKS documents up to two minutes for authorized ranges to apply; three leave room for a slow region. */
const DEFAULT_API_SERVER_WAIT_SECONDS = 180;

function readWaitSeconds(): number {
  const text = readString("waitForApiServerSeconds");
  if (text === undefined) return DEFAULT_API_SERVER_WAIT_SECONDS;
  if (!/^\d+$/.test(text) || Number(text) > 3600) {
    throw new InputError(
      "waitForApiServerSeconds",
      `'${text}' is not a number of seconds from 0 to 3600; enter e.g. ${DEFAULT_API_SERVER_WAIT_SECONDS}, or 0 to go on without waiting for the API server to admit the agent.`,
    );
  }
  return Number(text);
}

function readProbeTimeoutSeconds(): number {
  // A blocked address gets no answer at all: a probe waits this long before it counts as "not yet".
  const seconds = readSecondsVariable("AksHardening.ApiServerProbeTimeoutSeconds", 10);
  if (seconds <= 0)
    throw new InputError("AksHardening.ApiServerProbeTimeoutSeconds", `'${seconds}' must be a number of seconds above zero.`);
  return seconds;
}

function readBusyTimeoutMs(): number {
  // AKS operations (upgrades, scaling) commonly run 5-15 minutes; a pipeline variable tunes the wait.
  return readSecondsVariable("AksHardening.ClusterBusyTimeoutSeconds", 1200) * 1000;
}
