import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { canonicalEntry, entryCovers, publicAddress } from "../../core/job-scoped-access/addresses";
import type { JobRef } from "../../core/job-scoped-access/job";
import {
  holdLinkName,
  holdNotes,
  LEGACY_HOLDS_TAG,
  readLedger,
  type Hold,
  type ResourceLinkBody,
} from "../../core/job-scoped-access/ledger";
import { holdState, planJobScoped, viewFirewall } from "../../core/job-scoped-access/plan";
import { formatOpened, parseOpened } from "../../core/job-scoped-access/task-variable";

describe("test/unit/job-scoped-access", () => {
  const CLUSTER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-1";
  const NOW = new Date("2026-11-29T18:00:00Z");
  const JOB: JobRef = { agent: "aaaa0001", job: "11110001", now: NOW, until: new Date("2026-11-29T19:05:00Z") };
  const ADMIN = "203.0.113.0/24";
  const AGENT = "198.51.100.23/32";

  const hold = (p: Partial<Hold> = {}): Hold => ({
    address: AGENT,
    agent: "bbbb0002",
    job: "22220002",
    until: new Date("2026-11-29T19:00:00Z"),
    released: false,
    ...p,
  });
  const link = (h: Hold, over: Partial<ResourceLinkBody> = {}): ResourceLinkBody => ({
    id: `${CLUSTER}/providers/Microsoft.Resources/links/${holdLinkName(h)}`,
    name: holdLinkName(h),
    properties: { sourceId: CLUSTER, targetId: CLUSTER, notes: holdNotes(h) },
    ...over,
  });
  const ledgerOf = (links: ResourceLinkBody[], tags?: Record<string, string>) => readLedger({ resourceId: CLUSTER, links, tags, now: NOW });

  describe("the ledger believes only holds in resource links, in the shape this extension writes", () => {
    it("a hold it wrote reads back as written", () => {
      const h = hold({ released: true });
      assert.deepEqual(ledgerOf([link(h)]), { holds: [h], untrusted: [] });
    });

    it("the tag earlier versions used is never believed, whatever it says", () => {
      const ledger = ledgerOf([], {
        owner: "team-a",
        [LEGACY_HOLDS_TAG]: `${ADMIN} 3f9a1c2b 2020-01-01T00:00Z; ${AGENT} 3f9a1c2b 2999-01-01T00:00Z`,
      });
      assert.deepEqual(ledger.holds, []);
      assert.deepEqual(
        ledger.untrusted.map((u) => [u.where, u.text]),
        [
          [`tag '${LEGACY_HOLDS_TAG}'`, `${ADMIN} 3f9a1c2b 2020-01-01T00:00Z`],
          [`tag '${LEGACY_HOLDS_TAG}'`, `${AGENT} 3f9a1c2b 2999-01-01T00:00Z`],
        ],
      );
      assert.match(ledger.untrusted[0]!.reason, /Tag Contributor/);
    });

    it("a link holding a range, holding longer than any job runs, or whose name and notes disagree is untrusted", () => {
      const wide = link(hold(), { properties: { sourceId: CLUSTER, targetId: CLUSTER, notes: holdNotes(hold()).replace(AGENT, ADMIN) } });
      const forever = link(hold({ until: new Date("2999-01-01T00:00Z") }));
      const swapped = link(hold(), { name: holdLinkName(hold({ address: "198.51.100.99/32" })) });
      const ledger = ledgerOf([wide, forever, swapped]);
      assert.deepEqual(ledger.holds, []);
      assert.deepEqual(
        ledger.untrusted.map((u) => u.reason.split(",")[0]),
        [`it holds '${ADMIN}'`, "it claims to hold until 2999-01-01T00:00Z", "its name and its notes name different agents or addresses"],
      );
    });

    it("links of other names are someone else's and are not looked at", () => {
      assert.deepEqual(ledgerOf([{ name: "app-depends-on-db", properties: { targetId: CLUSTER, notes: "x" } }]), {
        holds: [],
        untrusted: [],
      });
    });
  });

  it("a hold is this job's, another running job's, or left behind (released, timed out, or its agent moved on)", () => {
    assert.equal(holdState(hold({ agent: JOB.agent, job: JOB.job }), JOB), "own");
    assert.equal(holdState(hold(), JOB), "live");
    assert.equal(holdState(hold({ released: true }), JOB), "leftover");
    assert.equal(holdState(hold({ until: NOW }), JOB), "leftover");
    assert.equal(holdState(hold({ agent: JOB.agent, job: "99990009" }), JOB), "leftover");
  });

  describe("the plan", () => {
    const plan = (entries: string[], holds: Hold[], extra: Partial<Parameters<typeof planJobScoped>[0]> = {}) =>
      planJobScoped({ view: viewFirewall(entries, { holds, untrusted: [] }), job: JOB, emptyListAdmitsEveryone: true, ...extra });

    it("after the post-job step released its hold, the address closes and the hold goes after the write", () => {
      const released = hold({ agent: JOB.agent, job: JOB.job, released: true });
      const result = plan([ADMIN, AGENT], [released]);
      assert.deepEqual(result.after, [ADMIN]);
      assert.deepEqual(result.closed, [{ address: AGENT, holds: [released] }]);
      assert.deepEqual(result.remove, [released]);
    });

    it("a released address another running job holds stays; only the released hold goes", () => {
      const released = hold({ agent: JOB.agent, job: JOB.job, released: true });
      const result = plan([ADMIN, AGENT], [released, hold()]);
      assert.deepEqual(result.after, [ADMIN, AGENT]);
      assert.deepEqual(
        result.kept.map((k) => k.address),
        [AGENT],
      );
      assert.deepEqual(result.remove, [released]);
    });

    it("an address no trusted hold accounts for is never closed", () => {
      assert.deepEqual(plan([ADMIN, AGENT], []).after, [ADMIN, AGENT]);
    });

    it("a hold of a job that is over on an address no longer listed is only deleted", () => {
      const stale = hold({ released: true });
      const result = plan([ADMIN], [stale]);
      assert.deepEqual(result.after, [ADMIN]);
      assert.deepEqual(result.remove, [stale]);
    });

    it("a firewall that admits every address anyway opens nothing", () => {
      const result = plan([], [], {
        open: [AGENT],
        admitsEveryone: "the vault's firewall admits every address",
        emptyListAdmitsEveryone: false,
      });
      assert.deepEqual(result.write, []);
      assert.deepEqual(result.alreadyAuthorized, [{ address: AGENT, by: "the vault's firewall admits every address" }]);
    });

    it("an address the job already holds (an earlier step of it opened it) is not written again", () => {
      const own = hold({ agent: JOB.agent, job: JOB.job });
      const result = plan([ADMIN, AGENT], [own], { open: [AGENT] });
      assert.deepEqual(result.write, []);
      assert.deepEqual(result.after, [ADMIN, AGENT]);
    });
  });

  it("the post-job step's task variable carries the job, its addresses and the resource, and nothing else parses", () => {
    const opened = { job: "0a1b2c3d", addresses: [AGENT, "198.51.100.24/32"], resourceId: CLUSTER };
    assert.deepEqual(parseOpened(formatOpened(opened)), opened);
    assert.equal(parseOpened(`0a1b2c3d ${ADMIN} ${CLUSTER}`), undefined, "a range is never something a job opened");
    assert.equal(parseOpened(""), undefined);
  });

  it("entries compare by network: Key Vault's '/32' and AKS's bare address are one", () => {
    assert.equal(canonicalEntry("198.51.100.23"), AGENT);
    assert.equal(canonicalEntry("203.0.113.7/24"), ADMIN);
    assert.equal(canonicalEntry("not-a-cidr"), undefined);
    assert.equal(entryCovers(ADMIN, "203.0.113.9/32"), true);
    assert.equal(publicAddress("10.1.2.3"), undefined);
    assert.equal(publicAddress("198.51.100.23"), AGENT);
  });
});
