import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { parseRanges } from "../../tasks/RestrictApiServer/inputs";
import { parseJobScopedIps } from "../../core/job-scoped-ips";
import {
  planAuthorizedRanges,
  planJobScopedRelease,
  type ClusterAccess,
  type JobIdentity,
  type RangesRequest,
} from "../../tasks/RestrictApiServer/plan";
import { isRangeError, parseIpv4Range, type Ipv4Range } from "../../tasks/RestrictApiServer/ranges";

describe("test/unit/plan", () => {
  const AGENT = "198.51.100.23/32";
  const TAG = "aks-hardening-job-scoped-ips";
  const JOB: JobIdentity = { holder: "aaaa0001", now: new Date("2026-11-29T18:00:00Z"), until: new Date("2026-11-29T19:05:00Z") };
  const OUR_HOLD = `${AGENT} aaaa0001 2026-11-29T19:05Z`;
  /** Another agent's job, still running (its timeout far ahead). */
  const OTHER_LIVE = `${AGENT} bbbb0002 2099-01-01T00:00Z`;
  /** Another agent's job whose timeout has passed: its post-job step never closed the address. */
  const OTHER_EXPIRED = `192.0.2.77/32 cccc0003 2020-01-01T00:00Z`;

  function cluster(ranges: string[], extra: Partial<Omit<ClusterAccess, "marker">> = {}, tag?: string): ClusterAccess {
    const tags: Record<string, string> = tag === undefined ? { owner: "team-a" } : { owner: "team-a", [TAG]: tag };
    return {
      authorizedIPRanges: ranges,
      privateCluster: false,
      basicLoadBalancer: false,
      vnetIntegration: false,
      tags,
      ...extra,
      marker: parseJobScopedIps(tag),
    };
  }

  function request(action: RangesRequest["action"], ranges: string, extra: Partial<RangesRequest> = {}): RangesRequest {
    return { action, ranges: ranges ? parseRanges(ranges) : [], agentIpScope: "job", job: JOB, ...extra };
  }

  function agent(cidr = AGENT): Ipv4Range {
    const parsed = parseIpv4Range(cidr);
    if (isRangeError(parsed)) throw new Error(parsed.error);
    return parsed;
  }

  it("set replaces the list", () => {
    const plan = planAuthorizedRanges(request("set", "203.0.113.0/24, 192.0.2.8"), cluster(["10.9.0.0/16"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.8/32"]);
    assert.deepEqual(plan.added, ["203.0.113.0/24", "192.0.2.8/32"]);
    assert.deepEqual(plan.removed, ["10.9.0.0/16"]);
    assert.equal(plan.empty, false);
  });

  it("set warns, naming every range it takes off that nobody listed (the agent passes a left-out action as 'set')", () => {
    const plan = planAuthorizedRanges(request("set", "203.0.113.0/24"), cluster(["10.9.0.0/16", "203.0.113.0/24", "192.0.2.8"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24"]);
    assert.ok(
      plan.warnings.some((w) =>
        /^Action 'set' keeps only the ranges in authorizedIpRanges, .*: 10\.9\.0\.0\/16, 192\.0\.2\.8 are not listed\. Use action 'add'/.test(
          w,
        ),
      ),
      plan.warnings.join("\n"),
    );
    assert.deepEqual(planAuthorizedRanges(request("set", "203.0.113.0/24, 10.9.0.0/16"), cluster(["10.9.0.0/16"])).warnings, []);
    assert.deepEqual(planAuthorizedRanges(request("add", "203.0.113.0/24"), cluster(["10.9.0.0/16"])).warnings, []);
  });

  it("set and add warn on ranges broader than /8, naming them", () => {
    for (const action of ["set", "add"] as const) {
      const plan = planAuthorizedRanges(request(action, "0.0.0.0/2, 10.0.0.0/8, 203.0.113.0/24"), cluster(["198.51.100.0/24"]));
      assert.ok(
        plan.warnings.some((w) => /^0\.0\.0\.0\/2 is broader than \/8/.test(w)),
        `${action}: ${plan.warnings.join("\n")}`,
      );
    }
  });

  it("0.0.0.0/32 never shares the list with other ranges: refused before any write, whichever side brings them", () => {
    assert.throws(
      () => planAuthorizedRanges(request("add", "203.0.113.0/24"), cluster(["0.0.0.0/32"])),
      /authorizedIpRanges: 0\.0\.0\.0\/32 .* cannot share the list with 203\.0\.113\.0\/24 \(the cluster's list holds 0\.0\.0\.0\/32 now\): AKS refuses that/,
    );
    assert.throws(
      () => planAuthorizedRanges(request("add", "0.0.0.0/32"), cluster(["203.0.113.0/24"])),
      /authorizedIpRanges: .* cannot share the list with 203\.0\.113\.0\/24 \(the cluster's list holds the others now\)/,
    );
    assert.throws(
      () => planAuthorizedRanges(request("set", "0.0.0.0/32", { agentIp: agent(), agentIpScope: "permanent" }), cluster([])),
      /includeAgentIp: .* cannot share the list with 198\.51\.100\.23\/32 \(includeAgentIp adds this agent's address\)/,
    );
    assert.deepEqual(planAuthorizedRanges(request("remove", "203.0.113.0/24"), cluster(["0.0.0.0/32", "203.0.113.0/24"])).after, [
      "0.0.0.0/32",
    ]);
  });

  it("an add whose result, with the cluster's ranges, covers every IPv4 address is refused", () => {
    assert.throws(
      () => planAuthorizedRanges(request("add", "128.0.0.0/1"), cluster(["0.0.0.0/1"])),
      /authorizedIpRanges: with the cluster's current ranges the list would authorize every IPv4 address \(0\.0\.0\.0\/1, 128\.0\.0\.0\/1\)/,
    );
  });

  it("set with the same ranges in another order or spelling is no change", () => {
    const plan = planAuthorizedRanges(request("set", "192.0.2.8, 203.0.113.0/24"), cluster(["203.0.113.0/24", "192.0.2.8"]));
    assert.equal(plan.empty, true);
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.8"]);
  });

  it("add keeps every existing entry exactly as Azure returned it, and skips what is already covered", () => {
    const plan = planAuthorizedRanges(request("add", "203.0.113.5, 192.0.2.0/24"), cluster(["203.0.113.0/24", "not-a-cidr"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "not-a-cidr", "192.0.2.0/24"]);
    assert.deepEqual(plan.added, ["192.0.2.0/24"]);
    assert.deepEqual(plan.removed, []);
    assert.ok(plan.notes.some((n) => n.includes("203.0.113.5/32 is already authorized (by 203.0.113.0/24)")));
  });

  it("add to an unrestricted cluster restricts it, and says so", () => {
    const plan = planAuthorizedRanges(request("add", "192.0.2.0/24"), cluster([]));
    assert.deepEqual(plan.after, ["192.0.2.0/24"]);
    assert.ok(plan.warnings.some((w) => /was open to every address/.test(w)));
  });

  it("remove drops listed entries and entries inside a removed range, keeps the rest", () => {
    const plan = planAuthorizedRanges(
      request("remove", "10.0.0.0/8, 192.0.2.1"),
      cluster(["10.1.0.0/16", "10.2.3.4/32", "203.0.113.0/24", "192.0.2.1/32"]),
    );
    assert.deepEqual(plan.after, ["203.0.113.0/24"]);
    assert.deepEqual(plan.removed, ["10.1.0.0/16", "10.2.3.4/32", "192.0.2.1/32"]);
  });

  it("remove of a range that is only partly listed warns instead of splitting a range it does not own", () => {
    const plan = planAuthorizedRanges(request("remove", "10.0.1.0/24"), cluster(["10.0.0.0/16", "203.0.113.0/24"]));
    assert.equal(plan.empty, true);
    assert.ok(plan.warnings.some((w) => w.includes("10.0.1.0/24 stays partly authorized through 10.0.0.0/16")));
  });

  it("remove of something not listed is a no-op with a note", () => {
    const plan = planAuthorizedRanges(request("remove", "192.0.2.9"), cluster(["203.0.113.0/24"]));
    assert.equal(plan.empty, true);
    assert.ok(plan.notes.some((n) => n.includes("192.0.2.9/32 is not in the list")));
  });

  it("remove that would empty the list is refused: an empty list opens the API server", () => {
    assert.throws(
      () => planAuthorizedRanges(request("remove", "203.0.113.0/24"), cluster(["203.0.113.0/24"])),
      /authorizedIpRanges: removing these ranges would leave the list empty.*'disable'/,
    );
  });

  it("disable clears the list with a warning; on an open cluster it is no change", () => {
    const plan = planAuthorizedRanges(request("disable", ""), cluster(["203.0.113.0/24"]));
    assert.deepEqual(plan.after, []);
    assert.ok(plan.warnings.some((w) => /every address on the internet/.test(w)));
    assert.equal(planAuthorizedRanges(request("disable", ""), cluster([])).empty, true);
  });

  it("private clusters and Basic load balancers are refused before anything is planned", () => {
    assert.throws(() => planAuthorizedRanges(request("set", "192.0.2.0/24"), cluster([], { privateCluster: true })), /private cluster/);
    assert.throws(
      () => planAuthorizedRanges(request("set", "192.0.2.0/24"), cluster([], { basicLoadBalancer: true })),
      /Basic load balancer/,
    );
  });

  it("input duplicates and overlaps are folded, with notes", () => {
    const plan = planAuthorizedRanges(request("set", "192.0.2.0/24 192.0.2.0/24 192.0.2.128/25 203.0.113.1"), cluster([]));
    assert.deepEqual(plan.after, ["192.0.2.0/24", "203.0.113.1/32"]);
    assert.equal(plan.notes.filter((n) => /kept/.test(n)).length, 2);
  });

  it("0.0.0.0/32 is accepted and its meaning explained", () => {
    const plan = planAuthorizedRanges(request("set", "0.0.0.0/32"), cluster([]));
    assert.deepEqual(plan.after, ["0.0.0.0/32"]);
    assert.ok(plan.notes.some((n) => /cluster's own outbound IP/.test(n)));
  });

  function slash24s(count: number, second = 0): string[] {
    return Array.from({ length: count }, (_, i) => `10.${second + (i >> 8)}.${i & 255}.0/24`);
  }

  it("more than 200 ranges are joined into adjacent blocks covering the same addresses", () => {
    const plan = planAuthorizedRanges(request("set", slash24s(256).join(",")), cluster([]));
    assert.deepEqual(plan.after, ["10.0.0.0/16"]);
    assert.ok(plan.notes.some((n) => /256 ranges are over AKS's limit of 200/.test(n)));
  });

  it("exactly 200 ranges are kept as typed", () => {
    const plan = planAuthorizedRanges(request("set", slash24s(200).join(",")), cluster([]));
    assert.equal(plan.after.length, 200);
  });

  it("a list that stays over 200 after joining is refused, naming the limit", () => {
    const scattered = Array.from({ length: 201 }, (_, i) => `10.${i}.0.0/24`);
    assert.throws(
      () => planAuthorizedRanges(request("set", scattered.join(",")), cluster([])),
      /authorizedIpRanges: the cluster would need 201 .*limit of 200 \(2,000 with API server VNet integration\)/,
    );
  });

  it("API server VNet integration raises the limit to 2,000", () => {
    const scattered = Array.from({ length: 201 }, (_, i) => `10.${i}.0.0/24`);
    assert.equal(planAuthorizedRanges(request("set", scattered.join(",")), cluster([], { vnetIntegration: true })).after.length, 201);
  });

  it("aggregation leaves the job's agent entry alone so the post-job step finds it", () => {
    const plan = planAuthorizedRanges(request("set", slash24s(256).join(","), { agentIp: agent() }), cluster([]));
    assert.deepEqual(plan.after, ["10.0.0.0/16", AGENT]);
    assert.equal(plan.agentIp?.removeAfterJob, true);
  });

  it("the agent IP is added for the job and marked for removal after it", () => {
    const plan = planAuthorizedRanges(request("set", "203.0.113.0/24", { agentIp: agent() }), cluster(["203.0.113.0/24"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", AGENT]);
    assert.deepEqual(plan.agentIp, {
      cidr: AGENT,
      scope: "job",
      alreadyAuthorized: false,
      listedBefore: false,
      removeAfterJob: true,
      sharedWith: [],
    });
    assert.deepEqual(plan.tags, { owner: "team-a", [TAG]: OUR_HOLD }, "the marker is written in the same PUT, every other tag kept");
    assert.deepEqual(plan.lastingAdded, [], "job-scoped access is not a lasting change");
  });

  it("an agent IP listed before the task ran is not removed after the job", () => {
    const plan = planAuthorizedRanges(request("add", "", { agentIp: agent() }), cluster(["203.0.113.0/24", AGENT]));
    assert.equal(plan.empty, true);
    assert.equal(plan.agentIp?.alreadyAuthorized, true);
    assert.equal(plan.agentIp?.removeAfterJob, false);
  });

  it("set that drops a previously listed agent IP re-adds it and keeps it after the job", () => {
    const plan = planAuthorizedRanges(request("set", "203.0.113.0/24", { agentIp: agent() }), cluster([AGENT, "192.0.2.0/24"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", AGENT]);
    assert.equal(plan.agentIp?.listedBefore, true);
    assert.equal(plan.agentIp?.removeAfterJob, false);
  });

  it("an agent IP covered by a wider range needs no entry of its own", () => {
    const plan = planAuthorizedRanges(request("add", "", { agentIp: agent() }), cluster(["198.51.100.0/24"]));
    assert.equal(plan.empty, true);
    assert.equal(plan.agentIp?.alreadyAuthorized, true);
  });

  it("on an unrestricted cluster the agent can already connect: nothing is added", () => {
    const plan = planAuthorizedRanges(request("add", "", { agentIp: agent() }), cluster([]));
    assert.equal(plan.empty, true);
    assert.equal(plan.agentIp?.removeAfterJob, false);
  });

  it("permanent scope adds the agent IP and never schedules its removal", () => {
    const plan = planAuthorizedRanges(request("add", "", { agentIp: agent(), agentIpScope: "permanent" }), cluster(["203.0.113.0/24"]));
    assert.deepEqual(plan.added, [AGENT]);
    assert.equal(plan.agentIp?.removeAfterJob, false);
  });

  it("a second job from the same address joins the hold instead of adding the address again", () => {
    const plan = planAuthorizedRanges(request("add", "", { agentIp: agent() }), cluster(["203.0.113.0/24", AGENT], {}, OTHER_LIVE));
    assert.deepEqual(plan.added, []);
    assert.equal(plan.agentIp?.removeAfterJob, true);
    assert.equal(plan.agentIp?.sharedWith.length, 1);
    assert.equal(plan.tags?.[TAG], `${OTHER_LIVE}; ${OUR_HOLD}`);
  });

  it("a hold this agent left behind (its earlier job is over) is replaced by this job's", () => {
    const leftByUs = `${AGENT} aaaa0001 2026-11-29T10:00Z`;
    const plan = planAuthorizedRanges(request("add", "", { agentIp: agent() }), cluster(["203.0.113.0/24", AGENT], {}, leftByUs));
    assert.equal(plan.agentIp?.removeAfterJob, true, "the address is job-scoped, not 'listed before'");
    assert.equal(plan.tags?.[TAG], OUR_HOLD);
    assert.deepEqual(plan.leftBehind, []);
  });

  it("an expired hold of another agent is reported as left behind and kept in the list until the post-job step", () => {
    const plan = planAuthorizedRanges(request("set", "203.0.113.0/24"), cluster(["203.0.113.0/24", "192.0.2.77/32"], {}, OTHER_EXPIRED));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.77/32"], "set keeps job-scoped entries; they are not the user's list");
    assert.deepEqual(
      plan.leftBehind.map((hold) => hold.cidr),
      ["192.0.2.77/32"],
    );
    assert.equal(plan.empty, true);
  });

  it("naming a job-scoped address in authorizedIpRanges authorizes it on purpose: its hold goes", () => {
    const plan = planAuthorizedRanges(request("add", "192.0.2.77"), cluster(["203.0.113.0/24", "192.0.2.77/32"], {}, OTHER_EXPIRED));
    assert.deepEqual(plan.tags, { owner: "team-a" });
    assert.deepEqual(plan.leftBehind, []);
    assert.deepEqual(plan.lastingAdded, ["192.0.2.77/32"], "taking it over is a lasting change");
    assert.ok(plan.notes.some((note) => /now authorized for good/.test(note)));
  });

  it("permanent scope takes a job-scoped address over: no post-job step closes it", () => {
    const plan = planAuthorizedRanges(
      request("add", "", { agentIp: agent(), agentIpScope: "permanent" }),
      cluster(["203.0.113.0/24", AGENT], {}, OTHER_LIVE),
    );
    assert.deepEqual(plan.tags, { owner: "team-a" });
    assert.equal(plan.agentIp?.removeAfterJob, false);
  });

  it("naming a job-scoped address authorizes it for good; a dry run says it would, and that a forgotten hold would leave the marker", () => {
    const tag = `${OUR_HOLD}; 192.0.2.99/32 cccc0003 2099-01-01T00:00Z`;
    const real = planAuthorizedRanges(request("add", AGENT), cluster(["10.0.0.0/8", AGENT], {}, tag));
    assert.ok(real.notes.includes(`${AGENT} was open for a job only; it is now authorized for good.`), real.notes.join("\n"));
    assert.ok(real.notes.includes("192.0.2.99/32 no longer authorized; removed from the job-scoped marker."), real.notes.join("\n"));
    const dry = planAuthorizedRanges(request("add", AGENT, { dryRun: true }), cluster(["10.0.0.0/8", AGENT], {}, tag));
    assert.ok(dry.notes.includes(`${AGENT} is open for a job only; a real run would authorize it for good.`), dry.notes.join("\n"));
    assert.ok(
      dry.notes.includes("192.0.2.99/32 no longer authorized; a real run would remove it from the job-scoped marker."),
      dry.notes.join("\n"),
    );
  });

  it("a full marker refuses before any write rather than open an address no one would close", () => {
    const holds = Array.from({ length: 6 }, (_, i) => `198.51.100.${i + 1}/32 dddd000${i} 2099-01-01T00:00Z`).join("; ");
    const listed = ["203.0.113.0/24", ...Array.from({ length: 6 }, (_, i) => `198.51.100.${i + 1}/32`)];
    assert.throws(
      () => planAuthorizedRanges(request("add", "", { agentIp: agent() }), cluster(listed, {}, holds)),
      /has no room for another .* nothing was changed/,
    );
  });

  it("post-job release takes out only the agent entry this job holds, and its marker, keeping every other tag", () => {
    const plan = planJobScopedRelease(JOB, cluster(["203.0.113.0/24", AGENT, "192.0.2.0/24"], {}, OUR_HOLD));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.0/24"]);
    assert.deepEqual(plan.closed, [AGENT]);
    assert.deepEqual(plan.tags, { owner: "team-a" });
  });

  it("post-job release keeps an address another running job still holds", () => {
    const plan = planJobScopedRelease(JOB, cluster(["203.0.113.0/24", AGENT], {}, `${OTHER_LIVE}; ${OUR_HOLD}`));
    assert.deepEqual(plan.after, ["203.0.113.0/24", AGENT]);
    assert.deepEqual(plan.closed, []);
    assert.equal(plan.stillHeld.length, 1);
    assert.equal(plan.tags?.[TAG], OTHER_LIVE);
  });

  it("post-job release closes what earlier jobs left behind too", () => {
    const plan = planJobScopedRelease(JOB, cluster(["203.0.113.0/24", AGENT, "192.0.2.77/32"], {}, `${OTHER_EXPIRED}; ${OUR_HOLD}`));
    assert.deepEqual(plan.after, ["203.0.113.0/24"]);
    assert.deepEqual(plan.closed.sort(), ["192.0.2.77/32", AGENT]);
  });

  it("post-job release never closes an address without a hold (authorized on purpose)", () => {
    assert.equal(planJobScopedRelease(JOB, cluster(["203.0.113.0/24", AGENT])).empty, true);
  });

  it("post-job release is a no-op when the entry is gone, and never empties the list", () => {
    const gone = planJobScopedRelease(JOB, cluster(["203.0.113.0/24"], {}, OUR_HOLD));
    assert.deepEqual(gone.removed, []);
    assert.deepEqual(gone.tags, { owner: "team-a" }, "the stale hold is forgotten");
    const last = planJobScopedRelease(JOB, cluster([AGENT], {}, OUR_HOLD));
    assert.equal(last.empty, true);
    assert.ok(last.warnings.some((w) => /only authorized range left/.test(w)));
  });
});
