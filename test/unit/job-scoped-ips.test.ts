import { describe, it } from "mocha";
import assert from "node:assert/strict";
import {
  formatJobScopedIps,
  holderOf,
  isLeftBehind,
  JOB_SCOPED_IPS_TAG,
  parseJobScopedIps,
  readJobScopedIps,
  withJobScopedIps,
} from "../../core/job-scoped-ips";

describe("test/unit/job-scoped-ips", () => {
  const VALUE = "198.51.100.7/32 3f9a1c2b 2026-11-29T21:05Z; 203.0.113.9/32 0badc0de 2026-11-29T19:00Z";

  it("parses holds and formats them back to the same value", () => {
    const marker = parseJobScopedIps(VALUE);
    assert.deepEqual(
      marker.holds.map((hold) => [hold.cidr, hold.holder, hold.until.toISOString()]),
      [
        ["198.51.100.7/32", "3f9a1c2b", "2026-11-29T21:05:00.000Z"],
        ["203.0.113.9/32", "0badc0de", "2026-11-29T19:00:00.000Z"],
      ],
    );
    assert.equal(formatJobScopedIps(marker), VALUE);
  });

  it("keeps entries it cannot read verbatim and never acts on them", () => {
    const marker = parseJobScopedIps(`edited by hand; ${VALUE}`);
    assert.deepEqual(marker.unreadable, ["edited by hand"]);
    assert.equal(marker.holds.length, 2);
    assert.equal(formatJobScopedIps(marker), `edited by hand; ${VALUE}`);
  });

  it("finds the tag whatever its case, and replaces only it among the cluster's tags", () => {
    const tags = { Owner: "team-a", "AKS-Hardening-Job-Scoped-IPs": VALUE };
    assert.equal(readJobScopedIps(tags).holds.length, 2);
    assert.deepEqual(withJobScopedIps(tags, { holds: [], unreadable: [] }), { Owner: "team-a" });
    const one = parseJobScopedIps(VALUE.split("; ")[0]);
    assert.deepEqual(withJobScopedIps(tags, one), { Owner: "team-a", [JOB_SCOPED_IPS_TAG]: VALUE.split("; ")[0] });
  });

  it("a hold is left behind when its agent runs another job, or its job's timeout has passed", () => {
    const [hold] = parseJobScopedIps("198.51.100.7/32 3f9a1c2b 2026-11-29T21:05Z").holds;
    assert.equal(isLeftBehind(hold!, new Date("2026-11-29T20:00Z"), "3f9a1c2b"), true);
    assert.equal(isLeftBehind(hold!, new Date("2026-11-29T20:00Z"), "00000000"), false);
    assert.equal(isLeftBehind(hold!, new Date("2026-11-29T21:05Z"), "00000000"), true);
  });

  it("the holder is 8 hex digits, the same for the same agent", () => {
    const agent = { collectionId: "c0ffee", agentId: "12", agentName: "build-01" };
    assert.match(holderOf(agent), /^[0-9a-f]{8}$/);
    assert.equal(holderOf(agent), holderOf({ ...agent }));
    assert.notEqual(holderOf(agent), holderOf({ ...agent, agentId: "13" }));
  });
});
