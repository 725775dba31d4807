import { describe, it } from "mocha";
import assert from "node:assert/strict";
import type { JobRef } from "../../core/job-scoped-access/job";
import type { Hold } from "../../core/job-scoped-access/ledger";
import { viewFirewall, type FirewallView } from "../../core/job-scoped-access/plan";
import { parseRanges } from "../../tasks/RestrictApiServer/inputs";
import { planAuthorizedRanges, type ClusterAccess, type RangesRequest } from "../../tasks/RestrictApiServer/plan";

describe("test/unit/plan", () => {
  const AGENT = "198.51.100.23/32";
  const JOB: JobRef = {
    agent: "aaaa0001",
    job: "11110001",
    now: new Date("2026-11-29T18:00:00Z"),
    until: new Date("2026-11-29T19:05:00Z"),
  };
  /** Another agent's job, still running (its timeout far ahead). */
  const otherLive = (address = AGENT): Hold => ({
    address,
    agent: "bbbb0002",
    job: "22220002",
    until: new Date("2099-01-01T00:00Z"),
    released: false,
  });
  /** Another agent's job whose timeout has passed: its post-job step never closed the address. */
  const otherExpired = (address = "192.0.2.77/32"): Hold => ({
    address,
    agent: "cccc0003",
    job: "33330003",
    until: new Date("2020-01-01T00:00Z"),
    released: false,
  });

  function cluster(
    ranges: string[],
    extra: Partial<ClusterAccess> = {},
    holds: Hold[] = [],
  ): { access: ClusterAccess; view: FirewallView } {
    return {
      access: { authorizedIPRanges: ranges, privateCluster: false, basicLoadBalancer: false, vnetIntegration: false, ...extra },
      view: viewFirewall(ranges, { holds, untrusted: [] }),
    };
  }

  function planRanges(request: RangesRequest, state: { access: ClusterAccess; view: FirewallView }) {
    return planAuthorizedRanges(request, state.access, state.view);
  }

  function request(action: RangesRequest["action"], ranges: string, extra: Partial<RangesRequest> = {}): RangesRequest {
    return { action, ranges: ranges ? parseRanges(ranges) : [], agentIpScope: "job", job: JOB, ...extra };
  }

  it("set replaces the list", () => {
    const plan = planRanges(request("set", "203.0.113.0/24, 192.0.2.8"), cluster(["10.9.0.0/16"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.8/32"]);
    assert.deepEqual(plan.added, ["203.0.113.0/24", "192.0.2.8/32"]);
    assert.deepEqual(plan.removed, ["10.9.0.0/16"]);
    assert.equal(plan.empty, false);
  });

  it("set warns, naming every range it takes off that nobody listed (the agent passes a left-out action as 'set')", () => {
    const plan = planRanges(request("set", "203.0.113.0/24"), cluster(["10.9.0.0/16", "203.0.113.0/24", "192.0.2.8"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24"]);
    assert.ok(
      plan.warnings.some((w) =>
        /^Action 'set' keeps only the ranges in authorizedIpRanges, .*: 10\.9\.0\.0\/16, 192\.0\.2\.8 are not listed\. Use action 'add'/.test(
          w,
        ),
      ),
      plan.warnings.join("\n"),
    );
    assert.deepEqual(planRanges(request("set", "203.0.113.0/24, 10.9.0.0/16"), cluster(["10.9.0.0/16"])).warnings, []);
    assert.deepEqual(planRanges(request("add", "203.0.113.0/24"), cluster(["10.9.0.0/16"])).warnings, []);
  });

  it("set and add warn on ranges broader than /8, naming them", () => {
    for (const action of ["set", "add"] as const) {
      const plan = planRanges(request(action, "0.0.0.0/2, 10.0.0.0/8, 203.0.113.0/24"), cluster(["198.51.100.0/24"]));
      assert.ok(
        plan.warnings.some((w) => /^0\.0\.0\.0\/2 is broader than \/8/.test(w)),
        `${action}: ${plan.warnings.join("\n")}`,
      );
    }
  });

  it("0.0.0.0/32 never shares the list with other ranges: refused before any write, whichever side brings them", () => {
    assert.throws(
      () => planRanges(request("add", "203.0.113.0/24"), cluster(["0.0.0.0/32"])),
      /authorizedIpRanges: 0\.0\.0\.0\/32 .* cannot share the list with 203\.0\.113\.0\/24 \(the cluster's list holds 0\.0\.0\.0\/32 now\): AKS refuses that/,
    );
    assert.throws(
      () => planRanges(request("add", "0.0.0.0/32"), cluster(["203.0.113.0/24"])),
      /authorizedIpRanges: .* cannot share the list with 203\.0\.113\.0\/24 \(the cluster's list holds the others now\)/,
    );
    assert.throws(
      () => planRanges(request("set", "0.0.0.0/32", { agentAddresses: [AGENT], agentIpScope: "permanent" }), cluster([])),
      /includeAgentIp: .* cannot share the list with 198\.51\.100\.23\/32 \(includeAgentIp adds this agent's address\)/,
    );
    assert.deepEqual(planRanges(request("remove", "203.0.113.0/24"), cluster(["0.0.0.0/32", "203.0.113.0/24"])).after, ["0.0.0.0/32"]);
  });

  it("an add whose result, with the cluster's ranges, covers every IPv4 address is refused", () => {
    assert.throws(
      () => planRanges(request("add", "128.0.0.0/1"), cluster(["0.0.0.0/1"])),
      /authorizedIpRanges: with the cluster's current ranges the list would authorize every IPv4 address \(0\.0\.0\.0\/1, 128\.0\.0\.0\/1\)/,
    );
  });

  it("set with the same ranges in another order or spelling is no change", () => {
    const plan = planRanges(request("set", "192.0.2.8, 203.0.113.0/24"), cluster(["203.0.113.0/24", "192.0.2.8"]));
    assert.equal(plan.empty, true);
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.8"]);
  });

  it("add keeps every existing entry exactly as Azure returned it, and skips what is already covered", () => {
    const plan = planRanges(request("add", "203.0.113.5, 192.0.2.0/24"), cluster(["203.0.113.0/24", "not-a-cidr"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "not-a-cidr", "192.0.2.0/24"]);
    assert.deepEqual(plan.added, ["192.0.2.0/24"]);
    assert.deepEqual(plan.removed, []);
    assert.ok(plan.notes.some((n) => n.includes("203.0.113.5/32 is already authorized (by 203.0.113.0/24)")));
  });

  it("add to an unrestricted cluster restricts it, and says so", () => {
    const plan = planRanges(request("add", "192.0.2.0/24"), cluster([]));
    assert.deepEqual(plan.after, ["192.0.2.0/24"]);
    assert.ok(plan.warnings.some((w) => /was open to every address/.test(w)));
  });

  it("remove drops listed entries and entries inside a removed range, keeps the rest", () => {
    const plan = planRanges(
      request("remove", "10.0.0.0/8, 192.0.2.1"),
      cluster(["10.1.0.0/16", "10.2.3.4/32", "203.0.113.0/24", "192.0.2.1/32"]),
    );
    assert.deepEqual(plan.after, ["203.0.113.0/24"]);
    assert.deepEqual(plan.removed, ["10.1.0.0/16", "10.2.3.4/32", "192.0.2.1/32"]);
  });

  it("remove of a range that is only partly listed warns instead of splitting a range it does not own", () => {
    const plan = planRanges(request("remove", "10.0.1.0/24"), cluster(["10.0.0.0/16", "203.0.113.0/24"]));
    assert.equal(plan.empty, true);
    assert.ok(plan.warnings.some((w) => w.includes("10.0.1.0/24 stays partly authorized through 10.0.0.0/16")));
  });

  it("remove of something not listed is a no-op with a note", () => {
    const plan = planRanges(request("remove", "192.0.2.9"), cluster(["203.0.113.0/24"]));
    assert.equal(plan.empty, true);
    assert.ok(plan.notes.some((n) => n.includes("192.0.2.9/32 is not in the list")));
  });

  it("remove that would empty the list is refused: an empty list opens the API server", () => {
    assert.throws(
      () => planRanges(request("remove", "203.0.113.0/24"), cluster(["203.0.113.0/24"])),
      /authorizedIpRanges: removing these ranges would leave the list empty.*'disable'/,
    );
  });

  it("disable clears the list with a warning; on an open cluster it is no change", () => {
    const plan = planRanges(request("disable", ""), cluster(["203.0.113.0/24"]));
    assert.deepEqual(plan.after, []);
    assert.ok(plan.warnings.some((w) => /every address on the internet/.test(w)));
    assert.equal(planRanges(request("disable", ""), cluster([])).empty, true);
  });

  it("private clusters and Basic load balancers are refused before anything is planned", () => {
    assert.throws(() => planRanges(request("set", "192.0.2.0/24"), cluster([], { privateCluster: true })), /private cluster/);
    assert.throws(() => planRanges(request("set", "192.0.2.0/24"), cluster([], { basicLoadBalancer: true })), /Basic load balancer/);
  });

  it("input duplicates and overlaps are folded, with notes", () => {
    const plan = planRanges(request("set", "192.0.2.0/24 192.0.2.0/24 192.0.2.128/25 203.0.113.1"), cluster([]));
    assert.deepEqual(plan.after, ["192.0.2.0/24", "203.0.113.1/32"]);
    assert.equal(plan.notes.filter((n) => /kept/.test(n)).length, 2);
  });

  it("0.0.0.0/32 is accepted and its meaning explained", () => {
    const plan = planRanges(request("set", "0.0.0.0/32"), cluster([]));
    assert.deepEqual(plan.after, ["0.0.0.0/32"]);
    assert.ok(plan.notes.some((n) => /cluster's own outbound IP/.test(n)));
  });

  function slash24s(count: number, second = 0): string[] {
    return Array.from({ length: count }, (_, i) => `10.${second + (i >> 8)}.${i & 255}.0/24`);
  }

  it("more than 200 ranges are joined into adjacent blocks covering the same addresses", () => {
    const plan = planRanges(request("set", slash24s(256).join(",")), cluster([]));
    assert.deepEqual(plan.after, ["10.0.0.0/16"]);
    assert.ok(plan.notes.some((n) => /256 ranges are over AKS's limit of 200/.test(n)));
  });

  it("exactly 200 ranges are kept as typed", () => {
    const plan = planRanges(request("set", slash24s(200).join(",")), cluster([]));
    assert.equal(plan.after.length, 200);
  });

  it("a list that stays over 200 after joining is refused, naming the limit", () => {
    const scattered = Array.from({ length: 201 }, (_, i) => `10.${i}.0.0/24`);
    assert.throws(
      () => planRanges(request("set", scattered.join(",")), cluster([])),
      /authorizedIpRanges: the cluster would need 201 .*limit of 200 \(2,000 with API server VNet integration\)/,
    );
  });

  it("API server VNet integration raises the limit to 2,000", () => {
    const scattered = Array.from({ length: 201 }, (_, i) => `10.${i}.0.0/24`);
    assert.equal(planRanges(request("set", scattered.join(",")), cluster([], { vnetIntegration: true })).after.length, 201);
  });

  it("aggregation leaves the job's agent entry alone so the post-job step finds it", () => {
    const plan = planRanges(request("set", slash24s(256).join(","), { agentAddresses: [AGENT] }), cluster([]));
    assert.deepEqual(plan.after, ["10.0.0.0/16", AGENT]);
    assert.deepEqual(
      plan.jobScoped.opened.map((o) => o.address),
      [AGENT],
    );
  });

  it("the agent IP is added for the job and its hold written before the list, apart from the lasting change", () => {
    const plan = planRanges(request("set", "203.0.113.0/24", { agentAddresses: [AGENT] }), cluster(["203.0.113.0/24"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", AGENT]);
    assert.deepEqual(plan.jobScoped.write, [{ address: AGENT, agent: JOB.agent, job: JOB.job, until: JOB.until, released: false }]);
    assert.deepEqual(plan.lastingAdded, [], "job-scoped access is not a lasting change");
  });

  it("every egress address of the agent is opened for the job", () => {
    const plan = planRanges(request("add", "", { agentAddresses: [AGENT, "198.51.100.24/32"] }), cluster(["203.0.113.0/24"]));
    assert.deepEqual(plan.added, [AGENT, "198.51.100.24/32"]);
    assert.equal(plan.jobScoped.write.length, 2);
  });

  it("an agent IP listed before the task ran is not removed after the job", () => {
    const plan = planRanges(request("add", "", { agentAddresses: [AGENT] }), cluster(["203.0.113.0/24", AGENT]));
    assert.equal(plan.empty, true);
    assert.deepEqual(plan.jobScoped.write, []);
    assert.deepEqual(plan.jobScoped.alreadyAuthorized, [{ address: AGENT, by: AGENT }]);
  });

  it("set that drops a previously listed agent IP keeps it, as a lasting entry", () => {
    const plan = planRanges(request("set", "203.0.113.0/24", { agentAddresses: [AGENT] }), cluster([AGENT, "192.0.2.0/24"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", AGENT]);
    assert.deepEqual(plan.jobScoped.write, []);
  });

  it("an agent IP covered by a wider range needs no entry of its own", () => {
    const plan = planRanges(request("add", "", { agentAddresses: [AGENT] }), cluster(["198.51.100.0/24"]));
    assert.equal(plan.empty, true);
    assert.deepEqual(plan.jobScoped.alreadyAuthorized, [{ address: AGENT, by: "198.51.100.0/24" }]);
  });

  it("on an unrestricted cluster the agent can already connect: nothing is added", () => {
    const plan = planRanges(request("add", "", { agentAddresses: [AGENT] }), cluster([]));
    assert.equal(plan.empty, true);
    assert.deepEqual(plan.jobScoped.write, []);
  });

  it("permanent scope adds the agent IP and writes no hold", () => {
    const plan = planRanges(request("add", "", { agentAddresses: [AGENT], agentIpScope: "permanent" }), cluster(["203.0.113.0/24"]));
    assert.deepEqual(plan.added, [AGENT]);
    assert.deepEqual(plan.lastingAdded, [AGENT]);
    assert.deepEqual(plan.jobScoped.write, []);
  });

  it("a second job from the same address joins: its own hold, no second entry", () => {
    const plan = planRanges(request("add", "", { agentAddresses: [AGENT] }), cluster(["203.0.113.0/24", AGENT], {}, [otherLive()]));
    assert.deepEqual(plan.added, []);
    assert.equal(plan.jobScoped.write.length, 1);
    assert.equal(plan.jobScoped.opened[0]?.sharedWith.length, 1);
  });

  it("set keeps the addresses of running jobs, and closes at once what a job that is over left behind", () => {
    const plan = planRanges(
      request("set", "203.0.113.0/24"),
      cluster(["203.0.113.0/24", AGENT, "192.0.2.77/32"], {}, [otherLive(), otherExpired()]),
    );
    assert.deepEqual(plan.after, ["203.0.113.0/24", AGENT]);
    assert.deepEqual(
      plan.jobScoped.closed.map((c) => c.address),
      ["192.0.2.77/32"],
    );
    assert.deepEqual(plan.jobScoped.remove, [otherExpired()]);
    assert.deepEqual(plan.lastingRemoved, [], "closing a job's address is no lasting change");
  });

  it("a running job's address that a concurrent write dropped is put back", () => {
    const plan = planRanges(request("add", "192.0.2.0/24"), cluster(["203.0.113.0/24"], {}, [otherLive()]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.0/24", AGENT]);
    assert.deepEqual(plan.jobScoped.restored, [AGENT]);
  });

  it("naming a job-scoped address in authorizedIpRanges authorizes it on purpose: its hold goes", () => {
    const plan = planRanges(request("add", "192.0.2.77"), cluster(["203.0.113.0/24", "192.0.2.77/32"], {}, [otherExpired()]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.77/32"]);
    assert.deepEqual(plan.jobScoped.remove, [otherExpired()]);
    assert.deepEqual(plan.lastingAdded, ["192.0.2.77/32"], "taking it over is a lasting change");
    assert.deepEqual(plan.jobScoped.madeLasting, ["192.0.2.77/32"], "the summary says it is now authorized for good");
  });

  it("permanent scope takes a job-scoped address over: no post-job step closes it", () => {
    const plan = planRanges(
      request("add", "", { agentAddresses: [AGENT], agentIpScope: "permanent" }),
      cluster(["203.0.113.0/24", AGENT], {}, [otherLive()]),
    );
    assert.deepEqual(plan.jobScoped.remove, [otherLive()]);
    assert.deepEqual(plan.jobScoped.write, []);
  });

  it("remove of a job-scoped address drops its hold too", () => {
    const plan = planRanges(request("remove", AGENT), cluster(["203.0.113.0/24", AGENT], {}, [otherLive()]));
    assert.deepEqual(plan.after, ["203.0.113.0/24"]);
    assert.deepEqual(plan.jobScoped.remove, [otherLive()]);
  });

  it("remove of a range holding this job's own address keeps it open for the job, on a re-run of the job too", () => {
    const remove = request("remove", "198.51.100.0/24", { agentAddresses: [AGENT] });
    const first = planRanges(remove, cluster(["198.51.100.0/24", "203.0.113.0/24"]));
    assert.deepEqual(first.after, ["203.0.113.0/24", AGENT]);
    const again = planRanges(remove, cluster(first.after, {}, first.jobScoped.write));
    assert.equal(again.empty, true);
    assert.deepEqual(again.jobScoped.remove, [], "its own hold stays for the post-job step");
  });

  it("the last entry a job left behind is not closed: an empty list opens the API server", () => {
    const plan = planRanges(request("add", ""), cluster(["192.0.2.77/32"], {}, [otherExpired()]));
    assert.equal(plan.empty, true);
    assert.deepEqual(plan.jobScoped.lastEntryKept, ["192.0.2.77/32"]);
    assert.deepEqual(plan.jobScoped.remove, [], "its hold stays, so a later run closes it");
    assert.ok(plan.warnings.some((w) => /only authorized range left/.test(w)));
  });
});
