import { describe, it } from "mocha";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../core/errors";
import { parseSkipChecks, parseVaults } from "../../tasks/AksHardeningReport/inputs";
import { CHECK_IDS, CHECKS, type ClusterFacts, type VaultFacts } from "../../tasks/AksHardeningReport/checks";
import { countResults, gateFailure, scorecard, type ScorecardInput } from "../../tasks/AksHardeningReport/plan";
import { renderScorecard } from "../../tasks/AksHardeningReport/report";

describe("test/unit/hardening-report", () => {
  const SUB = "00000000-0000-0000-0000-000000000001";
  const target = { resourceGroupName: "rg", clusterName: "aks", now: new Date("2026-11-29T18:00:00Z") };
  const refused = { ok: false as const, permission: "Microsoft.Authorization/policyAssignments/read", reason: "AuthorizationFailed" };

  function facts(cluster: Record<string, unknown> = {}): ClusterFacts {
    return {
      cluster: { ok: true, value: { location: "westeurope", ...cluster } },
      upgradeProfile: { ok: true, value: { kubernetesVersion: "1.33.5", upgrades: [] } },
      supportedVersions: {
        ok: true,
        value: ["1.32", "1.33", "1.34"].map((version) => ({ version, isPreview: false, supportPlans: ["KubernetesOfficial"] })),
      },
      assignments: { ok: true, value: [] },
      policyStates: { ok: true, value: [] },
      containersPlan: { ok: true, value: { pricingTier: "Standard" } },
    };
  }

  const input = (overrides: Partial<ScorecardInput> = {}): ScorecardInput => ({
    facts: facts(),
    vaults: [],
    target,
    skip: [],
    ...overrides,
  });

  describe("the table", () => {
    it("has unique IDs named <area>.<check>, each with a title", () => {
      assert.equal(new Set(CHECK_IDS).size, CHECK_IDS.length);
      for (const check of CHECKS) {
        assert.match(check.id, /^(apiServer|identity|policy|network|keyVault|cluster)\.[a-z][A-Za-z]+$/);
        assert.ok(check.title.length > 5);
      }
    });

    it("every check says something for any cluster (property): a verdict with a one-line finding, a fix unless it passes", () => {
      const cluster = fc.record(
        {
          apiServerAccessProfile: fc.record(
            { authorizedIPRanges: fc.array(fc.constantFrom("10.0.0.0/8", "203.0.113.0/24", "0.0.0.0/0", "198.51.100.7/32")) },
            { requiredKeys: [] },
          ),
          disableLocalAccounts: fc.boolean(),
          enableRbac: fc.boolean(),
          aadProfile: fc.record({ managed: fc.boolean(), enableAzureRbac: fc.boolean() }, { requiredKeys: [] }),
          networkProfile: fc.record(
            {
              networkPlugin: fc.constantFrom("azure", "kubenet", "none"),
              networkPolicy: fc.constantFrom("azure", "calico", "cilium", "none"),
              outboundType: fc.constantFrom("loadBalancer", "userDefinedRouting", "managedNATGateway", "none"),
              loadBalancerSku: fc.constantFrom("standard", "basic"),
            },
            { requiredKeys: [] },
          ),
          autoUpgradeProfile: fc.record(
            { upgradeChannel: fc.constantFrom("none", "patch", "stable", "rapid", "node-image") },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(cluster, (value) => {
          for (const result of scorecard(input({ facts: facts(value) }))) {
            assert.ok(["pass", "warn", "fail"].includes(result.status), `${result.id}: ${result.status}`);
            assert.ok(result.finding.length > 0 && !/[\r\n]/.test(result.finding), `${result.id}: one line`);
            if (result.status !== "pass") assert.ok(result.fix?.task ?? result.fix?.command, `${result.id} has a fix`);
          }
        }),
      );
    });
  });

  describe("unknown and skipped", () => {
    it("a refused read makes the checks that need it unknown, naming the permission; checks that only use it still run", () => {
      const results = scorecard(
        input({ facts: { ...facts({ addonProfiles: { azurepolicy: { enabled: true } } }), assignments: refused } }),
      );
      const byId = (id: string) => results.find((r) => r.id === id)!;
      assert.equal(byId("policy.builtIns").status, "unknown");
      assert.match(byId("policy.builtIns").finding, /needs Microsoft\.Authorization\/policyAssignments\/read/);
      assert.equal(byId("policy.compliance").status, "unknown");
      assert.equal(byId("policy.addon").status, "pass");
    });

    it("cluster.defender: a refused plan read makes only it unknown; with the sensor on and the plan Free, it warns that detections are not produced", () => {
      const sensorOn = { securityProfile: { defender: { logAnalyticsWorkspaceResourceId: "/ws", securityMonitoring: { enabled: true } } } };
      const planRefused = { ok: false as const, permission: "Microsoft.Security/pricings/read", reason: "AuthorizationFailed" };
      const refusedRun = scorecard(input({ facts: { ...facts(sensorOn), containersPlan: planRefused } }));
      assert.deepEqual(
        refusedRun.filter((r) => r.status === "unknown").map((r) => r.id),
        ["cluster.defender"],
      );
      assert.match(refusedRun.find((r) => r.id === "cluster.defender")!.finding, /Microsoft\.Security\/pricings\/read/);
      const free = scorecard(input({ facts: { ...facts(sensorOn), containersPlan: { ok: true, value: { pricingTier: "Free" } } } }));
      const defender = free.find((r) => r.id === "cluster.defender")!;
      assert.equal(defender.status, "warn");
      assert.match(defender.finding, /detections are not produced/);
      assert.deepEqual(defender.fix?.task, { name: "EnableDefender@1", inputs: { enableContainersPlan: "true" } });
      assert.equal(scorecard(input({ facts: facts(sensorOn) })).find((r) => r.id === "cluster.defender")!.status, "pass");
    });

    it("a skipped check is skipped for every vault, with its reason or 'no reason given'", () => {
      const vault: VaultFacts = {
        name: "kv-a",
        resourceGroupName: "rg",
        id: "/x",
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        enablePurgeProtection: true,
        privateEndpointConnections: [],
      };
      const results = scorecard(
        input({
          vaults: [
            { name: "kv-a", read: { ok: true, value: vault } },
            { name: "kv-b", read: { ok: true, value: { ...vault, name: "kv-b" } } },
          ],
          skip: [{ id: "keyVault.recovery", reason: "managed by the vault team" }, { id: "cluster.defender" }],
        }),
      );
      const skipped = results.filter((r) => r.status === "skipped");
      assert.deepEqual(
        skipped.map((r) => `${r.id}${r.subject ? `:${r.subject}` : ""} ${r.finding}`),
        [
          "keyVault.recovery:kv-a Skipped: managed by the vault team.",
          "keyVault.recovery:kv-b Skipped: managed by the vault team.",
          "cluster.defender Skipped: no reason given.",
        ],
      );
      assert.equal(countResults(results).skipped, 3);
    });
  });

  describe("gate", () => {
    const results = [
      { id: "a.b", area: "Cluster" as const, title: "t", status: "warn" as const, finding: "f" },
      { id: "c.d", area: "Cluster" as const, title: "t", status: "unknown" as const, finding: "f" },
    ];
    it("never lets everything through; error only stops failures; warning also stops warnings and unknowns", () => {
      assert.equal(gateFailure(results, "never"), undefined);
      assert.equal(gateFailure(results, "error"), undefined);
      assert.match(gateFailure(results, "warning")!, /2 warned or could not be read: a\.b, c\.d/);
      assert.match(gateFailure([{ ...results[0]!, status: "fail" }], "error")!, /1 check failed: a\.b/);
    });
  });

  describe("inputs", () => {
    it("skipChecks: IDs in any case, several on a line, the reason after ':' or '#'", () => {
      assert.deepEqual(parseSkipChecks("Cluster.Defender, network.outbound: hub firewall\n\ncluster.version # LTS plan\n"), [
        { id: "cluster.defender", reason: "hub firewall" },
        { id: "network.outbound", reason: "hub firewall" },
        { id: "cluster.version", reason: "LTS plan" },
      ]);
      assert.throws(
        () => parseSkipChecks("cluster.nope"),
        (e: unknown) => e instanceof InputError && /IDs: apiServer\.access/.test(e.message),
      );
    });

    it("keyVaultNames: names in the cluster's group, resource IDs anywhere, duplicates once", () => {
      assert.deepEqual(
        parseVaults(`kv-one\n/subscriptions/${SUB}/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-two, KV-ONE`, "rg", SUB),
        [
          { name: "kv-one", resourceGroupName: "rg" },
          { name: "kv-two", resourceGroupName: "rg-kv" },
        ],
      );
      const other = "11111111-1111-1111-1111-111111111111";
      assert.deepEqual(parseVaults(`/subscriptions/${other}/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-x`, "rg", SUB), [
        { name: "kv-x", resourceGroupName: "rg-kv", subscriptionId: other },
      ]);
      assert.throws(() => parseVaults("kv_one, kv", "rg", SUB), /keyVaultNames: 'kv_one', 'kv' are neither key vault names/);
    });
  });

  describe("report", () => {
    it("text from Azure shows as typed in the summary: no link, no HTML", () => {
      const results = scorecard(
        input({
          facts: facts({
            podIdentityProfile: {
              enabled: true,
              userAssignedIdentities: [{ name: "[x](https://evil.example) <img src=x>|", namespace: "ns" }],
            },
          }),
        }),
      );
      const card = renderScorecard({ resourceGroupName: "rg", clusterName: "aks" }, results, countResults(results), undefined);
      const row = card.markdown.split("\n").find((line) => line.includes("identity.workloadIdentity"))!;
      assert.doesNotMatch(row, /(?<!\\)\]\(https/, "no link");
      assert.ok(!row.includes("<img"), row);
      assert.match(row, /&lt;img src=x&gt;/);
      assert.ok(
        card.log.some((line) => line.includes("ns/[x](https://evil.example) <img src=x>|")),
        "the log has the text as it is",
      );
    });
  });
});
