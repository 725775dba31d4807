import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { parseRanges } from "../../tasks/RestrictApiServer/inputs";
import { planAgentIpRemoval, planAuthorizedRanges, type ClusterAccess, type RangesRequest } from "../../tasks/RestrictApiServer/plan";
import { isRangeError, parseIpv4Range, type Ipv4Range } from "../../tasks/RestrictApiServer/ranges";

describe("test/unit/plan", () => {
  const AGENT = "198.51.100.23/32";

  function cluster(ranges: string[], extra: Partial<ClusterAccess> = {}): ClusterAccess {
    return { authorizedIPRanges: ranges, privateCluster: false, basicLoadBalancer: false, vnetIntegration: false, ...extra };
  }

  function request(action: RangesRequest["action"], ranges: string, extra: Partial<RangesRequest> = {}): RangesRequest {
    return { action, ranges: ranges ? parseRanges(ranges) : [], agentIpScope: "job", ...extra };
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
    assert.deepEqual(plan.agentIp, { cidr: AGENT, scope: "job", alreadyAuthorized: false, listedBefore: false, removeAfterJob: true });
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

  it("post-job removal takes out only the agent entry", () => {
    const plan = planAgentIpRemoval(AGENT, cluster(["203.0.113.0/24", AGENT, "192.0.2.0/24"]));
    assert.deepEqual(plan.after, ["203.0.113.0/24", "192.0.2.0/24"]);
    assert.deepEqual(plan.removed, [AGENT]);
  });

  it("post-job removal is a no-op when the entry is gone, and never empties the list", () => {
    assert.equal(planAgentIpRemoval(AGENT, cluster(["203.0.113.0/24"])).empty, true);
    const last = planAgentIpRemoval(AGENT, cluster([AGENT]));
    assert.equal(last.empty, true);
    assert.ok(last.warnings.some((w) => /only authorized range left/.test(w)));
  });
});
