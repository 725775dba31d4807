/**
 * The marker RestrictApiServer leaves on a cluster for every agent IP it opened for one job only,
 * written in the same cluster PUT as the authorized ranges. It lets the post-job step, a later run
 * and AksHardeningReport tell a job-scoped IP (to be closed) from one a user authorized on purpose
 * (never touched). One module owns the tag's name and format so writer and readers cannot drift.
 *
 * The value is a list of holds, `; `-separated: `<cidr> <holder> <until>`, e.g.
 * `203.0.113.10/32 3f9a1c2b 2026-11-29T21:05Z`. `holder` identifies the agent (an agent runs one job
 * at a time, so a hold by the agent that is running now was left behind by an earlier job); `until`
 * is when the holding job must have ended (its timeout), after which the hold is left behind too.
 * Several jobs may hold the same CIDR: it is closed when the last hold goes.
 *
 * Azure tag limits (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations):
 * name ≤ 512 characters without `<>%&\?/`, value ≤ 256 characters. Every other tag is user data
 * and is kept as read.
 */
import { createHash } from "node:crypto";

export const JOB_SCOPED_IPS_TAG = "aks-hardening-job-scoped-ips";
export const MAX_TAG_VALUE_LENGTH = 256;

export interface JobScopedIpHold {
  /** Canonical IPv4 CIDR, in practice the agent's /32. */
  cidr: string;
  /** 8 hex digits naming the agent that holds it. */
  holder: string;
  /** When the holding job has ended at the latest. */
  until: Date;
}

export interface JobScopedIps {
  holds: JobScopedIpHold[];
  /** Entries that are not holds (edited by hand): kept verbatim, never acted on. */
  unreadable: string[];
}

const HOLD = /^(\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}) ([0-9a-f]{8}) (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z)$/;

/** Reads the marker from a cluster's tags (case-insensitively by name, as ARM treats tag names). */
export function readJobScopedIps(tags: Record<string, string> | undefined): JobScopedIps {
  const entry = Object.entries(tags ?? {}).find(([name]) => name.toLowerCase() === JOB_SCOPED_IPS_TAG);
  return parseJobScopedIps(entry?.[1]);
}

export function parseJobScopedIps(value: string | undefined): JobScopedIps {
  const holds: JobScopedIpHold[] = [];
  const unreadable: string[] = [];
  for (const text of (value ?? "").split(";").map((part) => part.trim())) {
    if (!text) continue;
    const match = HOLD.exec(text);
    const until = match ? new Date(match[3]!.replace("Z", ":00Z")) : undefined;
    if (match && until && !Number.isNaN(until.getTime())) holds.push({ cidr: match[1]!, holder: match[2]!, until });
    else unreadable.push(text);
  }
  return { holds, unreadable };
}

export function formatJobScopedIps(marker: JobScopedIps): string {
  return [...marker.unreadable, ...marker.holds.map((hold) => `${hold.cidr} ${hold.holder} ${formatUntil(hold.until)}`)].join("; ");
}

/** The cluster's tags with the marker replaced (removed when it holds nothing); every other tag as read. */
export function withJobScopedIps(tags: Record<string, string> | undefined, marker: JobScopedIps): Record<string, string> {
  const others = Object.fromEntries(Object.entries(tags ?? {}).filter(([name]) => name.toLowerCase() !== JOB_SCOPED_IPS_TAG));
  const value = formatJobScopedIps(marker);
  return value ? { ...others, [JOB_SCOPED_IPS_TAG]: value } : others;
}

/**
 * A hold whose job is over: the agent that wrote it is running another job now, or its job's
 * timeout has passed. Its IP is closed after the current job.
 */
export function isLeftBehind(hold: JobScopedIpHold, now: Date, currentHolder: string | undefined): boolean {
  return hold.holder === currentHolder || hold.until.getTime() <= now.getTime();
}

/**
 * The holder an agent writes: 8 hex digits of a hash of the organisation and the agent's ID and name
 * (`System.CollectionId`, `Agent.Id`, `Agent.Name`), so the tag names no agent in clear text.
 */
export function holderOf(agent: {
  collectionId?: string | undefined;
  agentId?: string | undefined;
  agentName?: string | undefined;
}): string {
  return createHash("sha256")
    .update([agent.collectionId ?? "", agent.agentId ?? "", agent.agentName ?? ""].join("|"))
    .digest("hex")
    .slice(0, 8);
}

/** Minute precision, rounded up, so a hold never ends before its job could. */
export function formatUntil(until: Date): string {
  const minute = new Date(Math.ceil(until.getTime() / 60_000) * 60_000);
  return `${minute.toISOString().slice(0, 16)}Z`;
}
