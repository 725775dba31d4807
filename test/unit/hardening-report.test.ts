import { describe, it } from "mocha";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../core/errors";
import { parseSkipChecks, parseVaults } from "../../tasks/AksHardeningReport/inputs";
import {
  CHECK_IDS,
  CHECKS,
  definitionsWithDefaultEffect,
  resolveEffect,
  type AssignmentFacts,
  type ClusterCheck,
  type ClusterFacts,
  type ReadValues,
  type VaultFacts,
} from "../../tasks/AksHardeningReport/checks";
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
      definitionDefaults: { ok: true, value: {} },
      policyStates: { ok: true, value: [] },
      containersPlan: { ok: true, value: { pricingTier: "Standard" } },
      jobScopedHolds: { ok: true, value: [] },
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
            {
              upgradeChannel: fc.constantFrom("none", "patch", "stable", "rapid", "node-image"),
              nodeOSUpgradeChannel: fc.constantFrom("None", "Unmanaged", "NodeImage", "SecurityPatch"),
            },
            { requiredKeys: [] },
          ),
          agentPoolProfiles: fc.array(
            fc.record({
              name: fc.constant("pool"),
              osType: fc.constantFrom("Linux", "Windows"),
              vnetSubnetID: fc.constantFrom(undefined, "/sub"),
            }),
            { maxLength: 2 },
          ),
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(cluster, (value) => {
          for (const result of scorecard(input({ facts: facts(value) }))) {
            assert.ok(["pass", "warn", "fail"].includes(result.status), `${result.id}: ${result.status}`);
            assert.ok(result.finding.length > 0 && !/[\r\n]/.test(result.finding), `${result.id}: one line`);
            if (result.status !== "pass") assert.ok(result.fix?.task ?? result.fix?.byHand, `${result.id} has a fix or says why not`);
            // A command is only given with the reason no task runs it.
            if (result.fix?.command) assert.ok(result.fix.byHand, `${result.id}: '${result.fix.command}' without a reason`);
          }
        }),
      );
    });
  });

  describe("rules", () => {
    const check = (id: string) => CHECKS.find((c): c is ClusterCheck => c.id === id && c.kind === "cluster")!;
    const verdict = (id: string, cluster: Record<string, unknown>, now = target.now, values: ReadValues = {}) =>
      check(id).evaluate({ cluster: { location: "westeurope", ...cluster }, ...values }, { ...target, now });
    const pools = (...os: string[]) => os.map((osType, i) => ({ name: `pool${i}`, osType }));

    it("cluster.autoUpgrade follows built-ins 5c345cdf (rapid, stable, patch) and 04408ca5 (node-image, NodeImage, SecurityPatch)", () => {
      const cases: [string | undefined, string | undefined, string][] = [
        ["patch", "NodeImage", "pass"],
        ["stable", "SecurityPatch", "pass"],
        ["rapid", "NodeImage", "pass"],
        ["patch", "Unmanaged", "fail"],
        ["stable", "None", "fail"],
        ["patch", undefined, "fail"],
        ["node-image", undefined, "fail"],
        ["none", "NodeImage", "fail"],
        [undefined, "SecurityPatch", "fail"],
      ];
      for (const [upgradeChannel, nodeOSUpgradeChannel, status] of cases) {
        const found = verdict("cluster.autoUpgrade", { autoUpgradeProfile: { upgradeChannel, nodeOSUpgradeChannel } });
        assert.equal(found.status, status, `${upgradeChannel}/${nodeOSUpgradeChannel}: ${found.finding}`);
      }
      // The fix keeps what already complies.
      assert.deepEqual(
        verdict("cluster.autoUpgrade", { autoUpgradeProfile: { upgradeChannel: "stable", nodeOSUpgradeChannel: "None" } }).fix?.task,
        {
          name: "ConfigureAutoUpgrade@1",
          inputs: { upgradeChannel: "stable", nodeOsUpgradeChannel: "NodeImage" },
        },
      );
    });

    it("network.policy: Azure NPM warns until its retirement date for the node pools' OS and fails from it; Windows pools get Calico through none", () => {
      const npm = (os: string[], now: string) =>
        verdict(
          "network.policy",
          { networkProfile: { networkPlugin: "azure", networkPolicy: "azure" }, agentPoolProfiles: pools(...os) },
          new Date(now),
        );
      assert.equal(npm(["Linux"], "2028-09-29T23:59:59Z").status, "warn");
      assert.equal(npm(["Linux"], "2028-09-30T00:00:00Z").status, "fail");
      const windows = npm(["Linux", "Windows"], "2026-10-01T00:00:00Z");
      assert.equal(windows.status, "fail");
      assert.match(windows.finding, /on Windows nodes no longer supported since 30 September 2026/);
      assert.match(windows.fix!.command!, /--network-policy none, then .*--network-policy calico$/);
      assert.match(windows.fix!.byHand!, /goes through none/);
      assert.equal(npm(["Windows"], "2026-09-29T00:00:00Z").status, "warn");
    });

    it("network.policy: no engine fails, with Cilium for Linux-only clusters and Calico where Windows pools run; Calico on Azure CNI passes", () => {
      const none = verdict("network.policy", { networkProfile: { networkPlugin: "azure" }, agentPoolProfiles: pools("Linux") });
      assert.equal(none.status, "fail");
      assert.match(none.fix!.command!, /--network-dataplane cilium$/);
      assert.match(none.fix!.byHand!, /reimages every node pool at the same time/);
      const withWindows = verdict("network.policy", {
        networkProfile: { networkPlugin: "azure", networkPolicy: "none" },
        agentPoolProfiles: pools("Linux", "Windows"),
      });
      assert.match(withWindows.fix!.command!, /--network-policy calico$/);
      assert.equal(verdict("network.policy", { networkProfile: { networkPlugin: "azure", networkPolicy: "calico" } }).status, "pass");
      assert.equal(
        verdict(
          "network.policy",
          { networkProfile: { networkPlugin: "kubenet", networkPolicy: "calico" } },
          new Date("2028-03-31T00:00:00Z"),
        ).status,
        "fail",
      );
    });

    it("apiServer.access: AzureCloud (also regional) fails, another service tag warns, an address is a /32", () => {
      const ranges = (authorizedIPRanges: string[]) => verdict("apiServer.access", { apiServerAccessProfile: { authorizedIPRanges } });
      assert.equal(ranges(["AzureCloud"]).status, "fail");
      assert.match(ranges(["203.0.113.0/24", "AzureCloud.westeurope"]).finding, /every public address of Azure in that region/);
      assert.equal(ranges(["203.0.113.0/24", "AzureDevOps"]).status, "warn");
      assert.equal(ranges(["203.0.113.7"]).status, "pass");
    });

    it("network.outbound: the user-defined-routing command only for a cluster in its own VNet; none and userDefinedRouting pass", () => {
      const outbound = (outboundType: string, vnetSubnetID?: string) =>
        verdict("network.outbound", {
          networkProfile: { outboundType },
          agentPoolProfiles: [{ name: "p", ...(vnetSubnetID ? { vnetSubnetID } : {}) }],
        });
      assert.equal(outbound("loadBalancer").fix!.command, undefined);
      assert.match(outbound("managedNATGateway").fix!.byHand!, /virtual network AKS manages/);
      assert.match(outbound("userAssignedNATGateway", "/subnets/aks").fix!.command!, /--outbound-type userDefinedRouting$/);
      assert.equal(outbound("none").status, "pass");
      assert.equal(outbound("userDefinedRouting").status, "pass");
    });

    it("cluster.version: long-term support counts only with the Premium tier", () => {
      const values: ReadValues = {
        upgradeProfile: { kubernetesVersion: "1.31.11", upgrades: [{ kubernetesVersion: "1.32.9", isPreview: false }] },
        supportedVersions: [
          { version: "1.31", isPreview: false, supportPlans: ["AKSLongTermSupport"] },
          ...["1.32", "1.33", "1.34"].map((version) => ({
            version,
            isPreview: false,
            supportPlans: ["KubernetesOfficial", "AKSLongTermSupport"],
          })),
        ],
      };
      const lts = (tier: string) => verdict("cluster.version", { supportPlan: "AKSLongTermSupport", sku: { tier } }, target.now, values);
      assert.equal(lts("Premium").status, "warn", "the oldest LTS minor");
      assert.match(lts("Premium").finding, /oldest minor version with long-term support \(1\.31–1\.34\)/);
      assert.equal(lts("Standard").status, "fail");
      assert.match(lts("Standard").finding, /only the Premium tier gives/);
    });

    describe("policy.builtIns: the effect an assignment applies", () => {
      const NO_PRIVILEGED = "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4";
      const base: AssignmentFacts = {
        id: "/a",
        name: "a",
        scope: "/s",
        policyDefinitionId: NO_PRIVILEGED,
        parameters: {},
        enforcementMode: "Default",
      };
      const defaults = { [NO_PRIVILEGED.toLowerCase()]: { effect: "Deny" } };
      const initiative = (
        members: Record<string, unknown>,
        parameterDefaults: Record<string, unknown> = { effect: "Audit" },
      ): AssignmentFacts => ({
        ...base,
        policyDefinitionId: "/subscriptions/s/providers/Microsoft.Authorization/policySetDefinitions/i",
        initiative: { parameterDefaults, members: [{ definitionId: NO_PRIVILEGED, parameters: members }] },
      });

      it("the assignment's value, else the definition's default, which is then read", () => {
        assert.deepEqual(resolveEffect({ ...base, parameters: { Effect: "audit" } }, NO_PRIVILEGED, defaults), {
          value: "audit",
          from: "set by the assignment",
        });
        assert.deepEqual(resolveEffect(base, NO_PRIVILEGED, defaults), { value: "Deny", from: "the definition's default" });
        assert.equal(resolveEffect(base, NO_PRIVILEGED, undefined).value, undefined);
        assert.deepEqual(definitionsWithDefaultEffect([base]), [NO_PRIVILEGED]);
        assert.deepEqual(definitionsWithDefaultEffect([{ ...base, parameters: { effect: "Deny" } }]), []);
      });

      it("through an initiative: a fixed value, its parameter (the assignment's value or the initiative's default), or nothing passed", () => {
        assert.deepEqual(resolveEffect(initiative({ effect: "Deny" }), NO_PRIVILEGED, defaults), {
          value: "Deny",
          from: "fixed by the initiative",
        });
        assert.deepEqual(resolveEffect(initiative({ effect: "[parameters('effect')]" }), NO_PRIVILEGED, defaults), {
          value: "Audit",
          from: "the initiative's default",
        });
        assert.deepEqual(
          resolveEffect({ ...initiative({ effect: "[parameters('effect')]" }), parameters: { effect: "Deny" } }, NO_PRIVILEGED, defaults),
          {
            value: "Deny",
            from: "set by the assignment",
          },
        );
        assert.deepEqual(resolveEffect(initiative({}), NO_PRIVILEGED, defaults), { value: "Deny", from: "the definition's default" });
        assert.deepEqual(definitionsWithDefaultEffect([initiative({})]), [NO_PRIVILEGED]);
        assert.equal(resolveEffect(initiative({ effect: "[if(true(), 'Deny', 'Audit')]" }), NO_PRIVILEGED, defaults).value, undefined);
      });
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

    it("a skip without a vault applies to every vault, one with a vault to that vault only, each with its reason", () => {
      const vault: VaultFacts = {
        name: "kv-a",
        resourceGroupName: "rg",
        id: "/x",
        enableRbacAuthorization: true,
        enablePurgeProtection: true,
        privateEndpointConnections: [],
      };
      const results = scorecard(
        input({
          vaults: [
            { name: "kv-a", read: { ok: true, value: vault } },
            { name: "kv-b", read: { ok: true, value: { ...vault, name: "kv-b" } } },
          ],
          skip: [
            { id: "keyVault.recovery", reason: "managed by the vault team" },
            { id: "keyVault.network", vault: "kv-b", reason: "closed by the hub firewall." },
            { id: "cluster.defender", reason: "bought at the tenant level" },
          ],
        }),
      );
      const skipped = results.filter((r) => r.status === "skipped");
      assert.deepEqual(
        skipped.map((r) => `${r.id}${r.subject ? `:${r.subject}` : ""} ${r.finding}`),
        [
          "keyVault.network:kv-b Skipped: closed by the hub firewall.",
          "keyVault.recovery:kv-a Skipped: managed by the vault team.",
          "keyVault.recovery:kv-b Skipped: managed by the vault team.",
          "cluster.defender Skipped: bought at the tenant level.",
        ],
      );
      assert.equal(results.find((r) => r.id === "keyVault.network" && r.subject === "kv-a")?.status, "fail", "kv-a is still checked");
      assert.equal(countResults(results).skipped, 4);
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
        () => parseSkipChecks("cluster.nope: typo"),
        (e: unknown) => e instanceof InputError && /IDs: apiServer\.access/.test(e.message),
      );
    });

    it("skipChecks: a Key Vault check can name one vault as failedChecks prints it; the vault must be one of keyVaultNames", () => {
      const vaults = [
        { name: "kv-prod", resourceGroupName: "rg" },
        { name: "kv-dev", resourceGroupName: "rg" },
      ];
      assert.deepEqual(parseSkipChecks("keyVault.network:KV-PROD, keyVault.privateEndpoint:kv-prod: closed by the vault team", vaults), [
        { id: "keyVault.network", vault: "kv-prod", reason: "closed by the vault team" },
        { id: "keyVault.privateEndpoint", vault: "kv-prod", reason: "closed by the vault team" },
      ]);
      // A cluster check has no vault: the colon starts the reason, with or without a space.
      assert.deepEqual(parseSkipChecks("cluster.defender:tenant plan", vaults), [{ id: "cluster.defender", reason: "tenant plan" }]);
      assert.throws(
        () => parseSkipChecks("keyVault.network:kv-test: gone", vaults),
        /'keyVault\.network:kv-test' names a vault keyVaultNames does not list \(kv-prod, kv-dev\)/,
      );
    });

    it("skipChecks: a skip without a reason is refused, and so is a check skipped twice, naming both lines", () => {
      assert.throws(
        () => parseSkipChecks("keyVault.network, cluster.version"),
        /skipChecks: 'keyVault\.network, cluster\.version' gives no reason/,
      );
      const vaults = [{ name: "kv-prod", resourceGroupName: "rg" }];
      assert.throws(
        () => parseSkipChecks("keyVault.network: all vaults\ncluster.version: LTS\nkeyVault.network:kv-prod: this one", vaults),
        /'keyVault\.network:kv-prod' is skipped twice \(lines 1 and 3, also as 'keyVault\.network'\); keep one\./,
      );
      assert.throws(
        () => parseSkipChecks("cluster.version, Cluster.Version: twice"),
        /'Cluster\.Version' is skipped twice \(both on line 1\)/,
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
