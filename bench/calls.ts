/**
 * Calls per task run, from the local Azure's request log, against the minimum the work needs. Sign-in
 * (token, authority metadata, Key Vault's 401 challenge) is counted apart from the work itself
 * (reads, writes, long-running-operation polls), whose minimum is stated per scenario with its reason.
 */
import * as path from "node:path";
import type { Fixture } from "../test/harness/fixture";
import type { RequestLogEntry } from "../local-azure/index";
import { assertSucceeded, classify, countCalls, median, runTask, sequentialRoundTrips, type CallCounts } from "./measure";
import { articleScenario, articleScenarioWhat, TASKS, type TaskName } from "./scenarios";

export interface Work {
  read: number;
  write: number;
  poll: number;
}

export interface CallsRow {
  task: TaskName;
  run: "first run" | "compliant re-run";
  what: string;
  counts: CallCounts;
  minimum: Work;
  why: string;
  /** Requests beyond the minimum, described. */
  extra: string[];
  totalMs: number;
  /** Sequential round trips of the run at the injected latency (medians over the repetitions). */
  roundTrips: number;
  /** The fewest sequential round trips the work allows, and why. */
  minRoundTrips: { count: number; why: string };
  /** Wall time (median) with no injected latency and with `latencyMs` per request. */
  wallMs: { none: number; latency: number };
}

/** Latency injected per request for the round-trip figures. */
export const INJECTED_LATENCY_MS = 50;

/**
 * The fewest sequential round trips the work allows: what must wait for an answer before it can be
 * sent. Sign-in is one (token); Key Vault's data plane adds its 401 challenge, which is how the
 * client learns its token's scope. A write the operation of which answers InProgress `operationPolls`
 * times needs that many polls and one more.
 */
export function minimumRoundTrips(task: TaskName, first: boolean, operationPolls: number): { count: number; why: string } {
  const polls = operationPolls + 1;
  switch (task) {
    case "RestrictApiServer":
      return first
        ? { count: 3 + 1 + polls, why: "token; GET cluster, links; the cluster's permissions (before the first write); PUT cluster; polls" }
        : { count: 2, why: "token; GET cluster, links" };
    case "EnablePodIdentity":
      return first
        ? {
            count: 4 + 3 + polls,
            why: "token; identity, cluster, feature; role assignments (need the identity's and the cluster's principals), with the cluster's permissions; the permissions where the missing grants go (before the first write); Managed Identity Operator (before the add-on, as az does); PUT cluster; polls; Reader (after the cluster write, which must not leave a grant behind when it fails)",
          }
        : { count: 3, why: "token; identity, cluster, feature; role assignments (need the identity's and the cluster's principals)" };
    case "KeyVaultSecrets":
      return first
        ? {
            count: 6,
            why: "tokens; vault, identity; challenge (needs the vaultUri); secrets; the vault's permissions (before the first write); access policy with secret PUTs",
          }
        : { count: 4, why: "tokens; vault, identity; challenge (needs the vaultUri); secrets" };
    case "AssignAksPolicies":
      return first
        ? {
            count: 3 + 2 + polls,
            why: "token; definitions, cluster, assignments; the cluster's permissions (before the first write); PUT cluster; polls; the assignment PUTs (after the cluster write, which must not leave assignments behind when it fails)",
          }
        : { count: 2, why: "token; definitions, cluster, assignments" };
  }
}

/** Polls needed to see an operation that answers InProgress `operationPolls` times reach its end. */
const pollsFor = (operationPolls: number, writes: number) => writes * (operationPolls + 1);

/** The least work each article step needs, first run and re-run, with the reason. */
export function minimumFor(task: TaskName, first: boolean, operationPolls: number): { work: Work; why: string } {
  switch (task) {
    case "RestrictApiServer":
      return first
        ? {
            work: { read: 3, write: 1, poll: pollsFor(operationPolls, 1) },
            why: "GET cluster and its resource links (the addresses other jobs hold open, which a run must keep), the permissions at the cluster, PUT cluster, poll to the end",
          }
        : { work: { read: 2, write: 0, poll: 0 }, why: "GET cluster and its resource links" };
    case "EnablePodIdentity":
      return first
        ? {
            work: { read: 8, write: 3, poll: pollsFor(operationPolls, 1) },
            why: "GET feature, identity, cluster, and the 2 role assignments by their deterministic names; the permissions at the cluster, the identity and the node resource group; PUT cluster (poll to the end), PUT 2 role assignments",
          }
        : { work: { read: 5, write: 0, poll: 0 }, why: "the same 5 reads" };
    case "KeyVaultSecrets":
      return first
        ? {
            work: { read: 6, write: 4, poll: 0 },
            why: "GET vault, GET identity, GET 3 secrets, the permissions at the vault; PUT access policy (add), PUT 3 secrets",
          }
        : { work: { read: 5, write: 0, poll: 0 }, why: "GET vault, GET identity, GET 3 secrets" };
    case "AssignAksPolicies":
      return first
        ? {
            work: { read: 6, write: 4, poll: pollsFor(operationPolls, 1) },
            why: "GET 3 definitions, GET cluster, LIST assignments at the cluster, the permissions at the cluster; PUT cluster for the add-on (poll to the end), PUT 3 assignments",
          }
        : { work: { read: 5, write: 0, poll: 0 }, why: "the same 5 reads" };
  }
}

export function describeRequest(r: RequestLogEntry): string {
  const p = r.path
    .replace(/^\/subscriptions\/[^/]+/, "")
    .replace(/\/resourceGroups\/[^/]+/, "")
    .replace(/\/providers\/Microsoft\.ContainerService\/managedClusters\/[^/]+/, "{cluster}")
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "{id}");
  const host = /\.vault\.azure\.net/i.test(r.host) ? "{vault}" : "";
  return `${r.method} ${host}${p}${r.status >= 400 ? ` → ${r.status}` : ""}`;
}

/** What a run did beyond the minimum, by kind. */
function extras(requests: RequestLogEntry[], counts: CallCounts, minimum: Work): string[] {
  const out: string[] = [];
  for (const kind of ["read", "write", "poll"] as const) {
    const over = counts[kind] - minimum[kind];
    if (over > 0) {
      const seen = new Map<string, { n: number; described: string }>();
      for (const r of requests.filter((q) => classify(q) === kind)) {
        const key = `${r.method} ${r.host}${r.path}`.toLowerCase();
        seen.set(key, { n: (seen.get(key)?.n ?? 0) + 1, described: describeRequest(r) });
      }
      const repeated = [...seen.values()].filter((v) => v.n > 1).map((v) => `${v.described} ×${v.n}`);
      out.push(`+${over} ${kind}${over > 1 ? "s" : ""}${repeated.length ? ` (${repeated.join("; ")})` : ""}`);
    }
  }
  return out;
}

export async function callsPerTask(
  fx: Fixture,
  operationPolls: number,
  repetitions: number,
  log: (line: string) => void,
): Promise<CallsRow[]> {
  const rows: CallsRow[] = [];
  for (const task of TASKS) {
    const script = path.join(fx.taskDir(task), "index.js");
    type Pass = { totalMs: number; roundTrips: number; run: Awaited<ReturnType<typeof runTask>> };
    const passes: Record<"first" | "again", Record<"none" | "latency", Pass[]>> = {
      first: { none: [], latency: [] },
      again: { none: [], latency: [] },
    };
    for (let i = 0; i < repetitions; i++) {
      for (const latency of i % 2 ? (["latency", "none"] as const) : (["none", "latency"] as const)) {
        fx.azure.latencyMs = latency === "latency" ? INJECTED_LATENCY_MS : 0;
        try {
          const scenario = articleScenario(fx, task);
          for (const which of ["first", "again"] as const) {
            const run = assertSucceeded(await runTask(fx, script, scenario.spec), `${task} ${which === "first" ? "first run" : "re-run"}`);
            passes[which][latency].push({ totalMs: run.totalMs, roundTrips: sequentialRoundTrips(run.requests), run });
          }
        } finally {
          fx.azure.latencyMs = 0;
        }
      }
    }
    for (const which of ["first", "again"] as const) {
      const first = which === "first";
      const run = passes[which].none[0]!.run;
      const counts = countCalls(run.requests);
      const { work, why } = minimumFor(task, first, operationPolls);
      const row: CallsRow = {
        task,
        run: first ? "first run" : "compliant re-run",
        what: articleScenarioWhat(task),
        counts,
        minimum: work,
        why,
        extra: extras(run.requests, counts, work),
        totalMs: run.totalMs,
        roundTrips: median(passes[which].latency.map((p) => p.roundTrips)),
        minRoundTrips: minimumRoundTrips(task, first, operationPolls),
        wallMs: { none: median(passes[which].none.map((p) => p.totalMs)), latency: median(passes[which].latency.map((p) => p.totalMs)) },
      };
      rows.push(row);
      log(
        `  ${task} ${row.run}: ${row.roundTrips} round trips (min ${row.minRoundTrips.count}), ${row.wallMs.none.toFixed(0)} / ${row.wallMs.latency.toFixed(0)} ms; ${run.requests.map((r) => `${classify(r)}:${describeRequest(r)}`).join(" | ")}`,
      );
    }
  }
  return rows;
}
