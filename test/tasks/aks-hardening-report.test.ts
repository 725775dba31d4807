import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { markdownText } from "../../core/markdown";
import { Fixture } from "../harness/fixture";
import type { StepRun } from "../harness/agent";
import { holdLinkName, holdNotes, LEGACY_HOLDS_TAG, type Hold } from "../../core/job-scoped-access/ledger";
import { freePricing, privateEndpointConnectionItem, resourceLink, type ArmResource } from "../../local-azure/index";
import { CHECK_IDS } from "../../tasks/AksHardeningReport/checks";

const TASK = "AksHardeningReport";
const RG = "rg-report";
const NO_PRIVILEGED = "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4";
const RESOURCE_LIMITS = "/providers/Microsoft.Authorization/policyDefinitions/e345eecc-fa47-480f-9e88-67dcc122b164";
const ALLOWED_IMAGES = "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469";
const ARTICLE_DEFINITIONS = [NO_PRIVILEGED, RESOURCE_LIMITS, ALLOWED_IMAGES];
const POLICY_PARAMETERS: Record<string, Record<string, { value: unknown }>> = {
  [RESOURCE_LIMITS]: { cpuLimit: { value: "500m" }, memoryLimit: { value: "512Mi" } },
  [ALLOWED_IMAGES]: { allowedContainerImagesRegex: { value: "^myregistry\\.azurecr\\.io/.+$" } },
};

/** What a principal with only Tag Contributor could write where earlier versions kept their holds. */
const PLANTED_HOLD = "203.0.113.0/24 3f9a1c2b 2020-01-01T00:00Z";

type Line = { status: string; id: string; subject?: string; finding: string; fix?: string };

/** The scorecard as the log shows it: `[STATUS] id (vault): finding`, then `fix: …`. */
function scorecardLines(run: StepRun): Line[] {
  const lines: Line[] = [];
  for (const text of run.stdout.split("\n")) {
    const check = /^\s+\[(PASS|WARN|FAIL|UNKNOWN|SKIPPED)\] (\S+?)(?: \(([^)]+)\))?: (.*)$/.exec(text);
    if (check) {
      lines.push({ status: check[1]!.toLowerCase(), id: check[2]!, ...(check[3] ? { subject: check[3] } : {}), finding: check[4]! });
      continue;
    }
    const fix = /^\s+fix: (.*)$/.exec(text);
    if (fix && lines.length) lines.at(-1)!.fix = fix[1]!;
  }
  return lines;
}

const containersPlan = (subscriptionId: string) => freePricing(subscriptionId, "Containers");

describe("AksHardeningReport@1 (packaged)", () => {
  let fx: Fixture;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
  });
  after(async () => {
    await fx?.close();
  });

  /** An assignment of a built-in; without an effect it gets the definition's default. */
  function assign(scope: string, name: string, definitionId: string, effect: string | undefined, enforcementMode = "Default"): ArmResource {
    return fx.azure.store.addPolicyAssignment(scope, name, {
      displayName: name,
      policyDefinitionId: definitionId,
      parameters: { ...(effect ? { effect: { value: effect } } : {}), ...POLICY_PARAMETERS[definitionId] },
      enforcementMode,
    });
  }

  /** The cluster's first node pool in a subnet of the user's own virtual network (a BYO VNet). */
  function inOwnNetwork(cluster: ArmResource): void {
    const pools = structuredClone(cluster.properties!["agentPoolProfiles"]) as Record<string, unknown>[];
    pools[0]!["vnetSubnetID"] =
      `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/aks`;
    fx.azure.store.put({ ...cluster, properties: { ...cluster.properties, agentPoolProfiles: pools } });
  }

  /** Runs the report and checks the rule every run keeps: no write, to ARM or to a vault's data plane. */
  async function report(inputs: Record<string, string>): Promise<StepRun> {
    fx.azure.clearRequests();
    const run = await fx.run(TASK, { inputs: { resourceGroupName: RG, ...inputs } });
    assert.deepEqual(fx.armWrites(), [], "the report never writes to ARM");
    assert.deepEqual(
      fx.azure.requests.filter((r) => r.host.includes(".vault.azure.net")),
      [],
      "the report never calls a vault's data plane",
    );
    return run;
  }

  /** Runs the report with the faults a test injected, which end with the run. */
  async function reportWhileFaulted(inputs: Record<string, string>): Promise<StepRun> {
    try {
      return await report(inputs);
    } finally {
      fx.azure.faults.clear();
    }
  }

  /** The status and finding of one check in a run, failing the test when the check is missing. */
  function line(run: StepRun, id: string, subject?: string): Line {
    const found = scorecardLines(run).find((l) => l.id === id && l.subject === subject);
    assert.ok(found, `no line for ${id}${subject ? ` (${subject})` : ""} in:\n${run.stdout}`);
    return found;
  }

  function expect(run: StepRun, id: string, status: string, finding: RegExp, fix?: RegExp, subject?: string): void {
    const found = line(run, id, subject);
    assert.equal(found.status, status, `${id}: ${found.finding}`);
    assert.match(found.finding, finding);
    if (fix) assert.match(found.fix ?? "", fix);
    // The job summary carries the same line (its text escaped for markdown).
    assert.ok(
      run.summaries[0]!.includes(`\`${id}\``) && run.summaries[0]!.includes(markdownText(found.finding).replace(/\|/g, "\\|")),
      `${id} is not in the summary`,
    );
  }

  // Three clusters: one with every check's passing state, one with the warning states, one with the
  // failing states; two more for the states the first three cannot hold at once.
  let passing: StepRun;
  let warning: StepRun;
  let failing: StepRun;
  let warningMore: StepRun;
  let nonCompliant: StepRun;

  before(async () => {
    const store = fx.azure.store;
    store.addResourceGroup(RG);
    // The subscription's Defender for Containers plan is on: the sensor's detections are produced.
    store.put({ ...containersPlan(fx.azure.subscriptionId), properties: { pricingTier: "Standard" } });

    // ---- passing ----
    // Long-term support on the Premium tier: its window reaches back to a minor past community support.
    const pass = store.addManagedCluster("rg-pass", "aks-pass", {
      sku: { name: "Base", tier: "Premium" },
      properties: {
        kubernetesVersion: "1.32.9",
        currentKubernetesVersion: "1.32.9",
        supportPlan: "AKSLongTermSupport",
        apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24", "198.51.100.7/32"] },
        oidcIssuerProfile: { enabled: true },
        securityProfile: {
          workloadIdentity: { enabled: true },
          defender: {
            logAnalyticsWorkspaceResourceId: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-mon/providers/Microsoft.OperationalInsights/workspaces/law`,
            securityMonitoring: { enabled: true },
          },
        },
        aadProfile: { managed: true, enableAzureRBAC: true, adminGroupObjectIDs: ["0b5a6c4e-3f2d-4e1a-9c8b-7d6e5f4a3b2c"] },
        disableLocalAccounts: true,
        addonProfiles: { azurepolicy: { enabled: true } },
        networkProfile: { networkPlugin: "azure", networkPolicy: "cilium", networkDataplane: "cilium", outboundType: "userDefinedRouting" },
        autoUpgradeProfile: { upgradeChannel: "rapid", nodeOSUpgradeChannel: "SecurityPatch" },
      },
    });
    // One of the three at the cluster's resource group: "at the cluster or above" counts. One without an
    // effect: the built-in's default (Deny) applies.
    assign(pass.id, "no-privileged", NO_PRIVILEGED, "Deny");
    assign(pass.id, "limits", RESOURCE_LIMITS, undefined);
    assign(store.resourceGroupId("rg-pass"), "images", ALLOWED_IMAGES, "Deny");
    store.evaluatePolicies(pass.id);
    const kvPass = store.addKeyVault("rg-pass", "kv-pass", {
      properties: { enablePurgeProtection: true, publicNetworkAccess: "Disabled" },
    });
    // No enableRbacAuthorization in the answer: 2026-02-01 defaults it to true.
    const { enableRbacAuthorization: _absent, ...passProperties } = kvPass.properties!;
    store.put({
      ...kvPass,
      properties: {
        ...passProperties,
        privateEndpointConnections: [
          privateEndpointConnectionItem(kvPass.id, {
            name: "pe-kv-pass.1f2e",
            privateEndpointId: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.Network/privateEndpoints/pe-kv-pass`,
            status: "Approved",
          }),
        ],
      },
    });

    // ---- warning ----
    const warn = store.addManagedCluster(RG, "aks-warn", {
      // Planted by someone who may write tags: claims the administrator's range is a job's leftover.
      tags: { [LEGACY_HOLDS_TAG]: PLANTED_HOLD },
      properties: {
        kubernetesVersion: "1.32.9",
        currentKubernetesVersion: "1.32.9",
        apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24", "198.51.100.200/32"] },
        podIdentityProfile: {
          enabled: true,
          allowNetworkPluginKubenet: true,
          userAssignedIdentities: [
            {
              name: "todo-app",
              namespace: "todo",
              bindingSelector: "todo-app",
              identity: {
                resourceId: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-todo`,
                clientId: "2b1c0d9e-8f7a-4b6c-9d5e-4f3a2b1c0d9e",
                objectId: "6e5d4c3b-2a19-4f8e-8d7c-6b5a4f3e2d1c",
              },
            },
          ],
        },
        aadProfile: { managed: true },
        disableLocalAccounts: false,
        addonProfiles: { azurepolicy: { enabled: true } },
        networkProfile: { networkPlugin: "kubenet", networkPolicy: "calico" },
        autoUpgradeProfile: { upgradeChannel: "rapid" },
      },
    });
    // A job whose timeout passed left its address behind: a hold a run of this extension wrote (a resource link).
    const leftover: Hold = {
      address: "198.51.100.200/32",
      agent: "3f9a1c2b",
      job: "5d1e0a77",
      until: new Date("2020-01-01T00:00Z"),
      released: false,
    };
    store.put(resourceLink({ sourceId: warn.id, name: holdLinkName(leftover), targetId: warn.id, notes: holdNotes(leftover) }));
    // The three through one custom initiative that passes its own effect (default Audit) to each: the
    // assignment sets none, so they audit.
    const initiative = store.addPolicyDefinition("article-policies", {
      displayName: "The article's Kubernetes policies",
      parameters: {
        effect: { type: "String", allowedValues: ["Audit", "Deny", "Disabled"], defaultValue: "Audit" },
        cpuLimit: { type: "String", defaultValue: "1" },
        memoryLimit: { type: "String", defaultValue: "1Gi" },
        allowedContainerImagesRegex: { type: "String", defaultValue: "^myregistry\\.azurecr\\.io/.+$" },
      },
      policyDefinitions: ARTICLE_DEFINITIONS.map((id, i) => ({
        policyDefinitionId: id,
        policyDefinitionReferenceId: `member-${i}`,
        parameters: {
          effect: { value: "[parameters('effect')]" },
          ...(id === RESOURCE_LIMITS
            ? { cpuLimit: { value: "[parameters('cpuLimit')]" }, memoryLimit: { value: "[parameters('memoryLimit')]" } }
            : {}),
          ...(id === ALLOWED_IMAGES ? { allowedContainerImagesRegex: { value: "[parameters('allowedContainerImagesRegex')]" } } : {}),
        },
      })),
    });
    fx.azure.store.addPolicyAssignment(warn.id, "article-initiative", {
      displayName: "article-initiative",
      policyDefinitionId: initiative.id,
      parameters: {},
    });
    store.addKeyVault(RG, "kv-warn", {
      enableRbacAuthorization: false,
      properties: {
        networkAcls: { bypass: "AzureServices", defaultAction: "Deny", ipRules: [{ value: "10.0.0.0/8" }], virtualNetworkRules: [] },
      },
    });
    const kvWarn = store.getKeyVault(RG, "kv-warn")!;
    store.put({
      ...kvWarn,
      properties: {
        ...kvWarn.properties,
        privateEndpointConnections: [
          privateEndpointConnectionItem(kvWarn.id, {
            name: "pe-kv-warn.9a8b",
            privateEndpointId: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.Network/privateEndpoints/pe-kv-warn`,
            status: "Pending",
          }),
        ],
      },
    });

    // ---- failing ----
    // Asks for long-term support without the Premium tier that gives it: 1.31 is out of community support.
    store.addManagedCluster(RG, "aks-fail", {
      properties: {
        kubernetesVersion: "1.31.8",
        currentKubernetesVersion: "1.31.8",
        supportPlan: "AKSLongTermSupport",
        enableRBAC: false,
        networkProfile: { loadBalancerSku: "basic" },
      },
    });
    store.addKeyVault(RG, "kv-fail", { enableRbacAuthorization: false });

    // ---- more: broad ranges and a service tag, legacy Entra ID, add-on without assignments, node-image channel,
    // Azure NPM, egress from the user's own network, no private endpoint behind a firewall ----
    const more = store.addManagedCluster("rg-more", "aks-more", {
      properties: {
        apiServerAccessProfile: { authorizedIPRanges: ["10.0.0.0/8", "AzureDevOps"] },
        aadProfile: {
          managed: false,
          clientAppID: "c1d2e3f4-0000-4000-8000-000000000001",
          serverAppID: "c1d2e3f4-0000-4000-8000-000000000002",
        },
        addonProfiles: { azurepolicy: { enabled: true } },
        autoUpgradeProfile: { upgradeChannel: "node-image" },
        networkProfile: { networkPlugin: "azure", networkPolicy: "azure" },
      },
    });
    inOwnNetwork(more);
    store.addKeyVault(RG, "kv-more", { properties: { publicNetworkAccess: "Disabled" } });

    // ---- non-compliant workloads ----
    const bad = store.addManagedCluster(RG, "aks-noncompliant", {
      properties: {
        addonProfiles: { azurepolicy: { enabled: true } },
        apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24", "AzureCloud"] },
      },
    });
    assign(bad.id, "no-privileged", NO_PRIVILEGED, "Deny");
    assign(bad.id, "limits", RESOURCE_LIMITS, "Deny");
    assign(bad.id, "images", ALLOWED_IMAGES, "Deny", "DoNotEnforce");
    store.evaluatePolicies(bad.id, ["no-privileged"]);

    passing = await report({ resourceGroupName: "rg-pass", clusterName: "aks-pass", keyVaultNames: "kv-pass" });
    warning = await report({ clusterName: "aks-warn", keyVaultNames: "kv-warn" });
    failing = await report({ clusterName: "aks-fail", keyVaultNames: "kv-fail" });
    warningMore = await report({
      resourceGroupName: "rg-more",
      clusterName: "aks-more",
      keyVaultNames: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-more`,
    });
    nonCompliant = await report({ clusterName: "aks-noncompliant" });
  });

  it("every check of the table appears once per run (once per vault for Key Vault checks), and every run succeeds with failOn: never", () => {
    for (const run of [passing, warning, failing, warningMore]) {
      fx.assertSucceeded(run);
      assert.deepEqual(
        scorecardLines(run)
          .map((l) => l.id)
          .sort(),
        [...CHECK_IDS].sort(),
      );
    }
  });

  /** What the report says today about a retirement: warn before the date, fail from it (the report uses its own clock). */
  const beforeOrAfter = (iso: string) => (Date.now() < Date.parse(`${iso}T00:00:00Z`) ? "warn" : "fail");

  describe("API server", () => {
    it("apiServer.access passes with authorized ranges of /16 or narrower", () =>
      expect(passing, "apiServer.access", "pass", /2 authorized IP ranges, the widest a \/24/));
    it("apiServer.access warns on a job-scoped agent IP left behind, and says how to remove it", () =>
      expect(
        warning,
        "apiServer.access",
        "warn",
        /a job-scoped agent IP left behind after their job: 198\.51\.100\.200\/32/,
        /RestrictApiServer@1 \(action: remove; authorizedIpRanges: 198\.51\.100\.200\/32\)/,
      ));
    it("a hold planted in a tag changes no verdict: the administrator's range is not called left behind, and the hold is named in a warning", () => {
      const line = scorecardLines(warning).find((l) => l.id === "apiServer.access")!;
      assert.doesNotMatch(line.finding, /203\.0\.113\.0\/24/);
      assert.doesNotMatch(line.fix ?? "", /203\.0\.113\.0\/24/);
      assert.ok(
        warning.warnings.some((w) => w.includes("Ignored an untrusted job-scoped hold") && w.includes(`'${PLANTED_HOLD}'`)),
        warning.warnings.join("\n"),
      );
    });
    it("apiServer.access warns on a range broader than /16 and on a service tag, saying what the tag admits", () =>
      expect(
        warningMore,
        "apiServer.access",
        "warn",
        /the service tag AzureDevOps admits every address of that service, shared by all its customers; 1 range broader than \/16: 10\.0\.0\.0\/8/,
        /RestrictApiServer@1 \(action: set; authorizedIpRanges: <your admin ranges, \/16 or narrower, without AzureDevOps>\)/,
      ));
    it("apiServer.access fails on the AzureCloud service tag: it admits all of Azure, not one address", () =>
      expect(
        nonCompliant,
        "apiServer.access",
        "fail",
        /service tag AzureCloud: it admits every public address of Azure/,
        /without AzureCloud/,
      ));
    it("apiServer.access fails on an open API server, pointing to RestrictApiServer@1", () =>
      expect(failing, "apiServer.access", "fail", /accepts connections from every address/, /RestrictApiServer@1 \(action: set/));
  });

  describe("Identity", () => {
    it("identity.workloadIdentity passes with Workload ID and the OIDC issuer on", () =>
      expect(passing, "identity.workloadIdentity", "pass", /Workload ID and the OIDC issuer are on/));
    it("identity.workloadIdentity fails while the pod-identity add-on (supported through September 2025) is on, naming the bindings and the migration", () =>
      expect(
        warning,
        "identity.workloadIdentity",
        "fail",
        /pod-identity add-on, supported only through September 2025, is on with 1 binding to migrate to Workload ID: todo\/todo-app/,
        /EnablePodIdentity@1 \(identityMode: workloadIdentity; identity: \/subscriptions\/.*\/userAssignedIdentities\/id-todo; namespace: todo; serviceAccountName: <service account>\); then by hand: az aks update -g rg-report -n aks-warn --disable-pod-identity — no task turns the add-on off/,
      ));
    it("identity.workloadIdentity fails when Workload ID is off", () =>
      expect(
        failing,
        "identity.workloadIdentity",
        "fail",
        /Workload ID is off \(OIDC issuer off, workload identity off\)/,
        /EnablePodIdentity@1/,
      ));
    it("identity.localAccounts passes when local accounts are disabled", () =>
      expect(passing, "identity.localAccounts", "pass", /Local accounts are disabled/));
    it("identity.localAccounts warns when they are enabled beside Entra ID, fixed by SecureClusterAccess@1", () =>
      expect(
        warning,
        "identity.localAccounts",
        "warn",
        /Local accounts are enabled/,
        /^SecureClusterAccess@1 \(disableLocalAccounts: true\)$/,
      ));
    it("identity.localAccounts fails when they are the only way in", () =>
      expect(
        failing,
        "identity.localAccounts",
        "fail",
        /only way in/,
        /^SecureClusterAccess@1 \(adminGroupObjectIds: <Entra group object ID>; disableLocalAccounts: true\)$/,
      ));
    it("identity.entraId passes with AKS-managed Entra ID", () =>
      expect(passing, "identity.entraId", "pass", /AKS-managed Entra ID integration is on \(1 admin group\)/));
    it("identity.entraId warns on the legacy integration", () =>
      expect(warningMore, "identity.entraId", "warn", /legacy \(deprecated\)/, /SecureClusterAccess@1 \(adminGroupObjectIds:/));
    it("identity.entraId fails without Entra ID", () =>
      expect(failing, "identity.entraId", "fail", /No Entra ID integration/, /SecureClusterAccess@1/));
    it("identity.azureRbac passes with Azure RBAC", () =>
      expect(passing, "identity.azureRbac", "pass", /Azure RBAC authorizes Kubernetes requests/));
    it("identity.azureRbac warns with Kubernetes RBAC only", () =>
      expect(warning, "identity.azureRbac", "warn", /Kubernetes RBAC only/, /^SecureClusterAccess@1 \(azureRbac: true\)$/));
    it("identity.azureRbac fails with Kubernetes RBAC disabled, done by hand as no task can", () =>
      expect(
        failing,
        "identity.azureRbac",
        "fail",
        /Kubernetes RBAC is disabled/,
        /by hand: az aks create .* — Kubernetes RBAC cannot be turned on/,
      ));
  });

  describe("Policy", () => {
    it("policy.addon passes with the add-on on and assignments applying", () =>
      expect(passing, "policy.addon", "pass", /add-on is on; 3 assignments apply to the cluster/));
    it("policy.addon warns when the add-on is on but nothing is assigned", () =>
      expect(
        warningMore,
        "policy.addon",
        "warn",
        /no policy is assigned/,
        /AssignAksPolicies@1 \(policies: noPrivilegedContainers,resourceLimits,allowedImages; effect: Deny; cpuLimit:/,
      ));
    it("policy.addon fails when the add-on is off, fixed by assigning policies (the add-on comes with them)", () =>
      expect(
        failing,
        "policy.addon",
        "fail",
        /add-on is off/,
        /^AssignAksPolicies@1 \(policies: noPrivilegedContainers,resourceLimits,allowedImages; effect: Deny/,
      ));
    it("policy.builtIns passes when an assignment sets no effect: the built-in's default is Deny (read from its definition)", () =>
      expect(
        passing,
        "policy.builtIns",
        "pass",
        /All three are assigned in Deny: .*resourceLimits: Deny \(the definition's default\) via 'limits' at the cluster; allowedImages: Deny \(set by the assignment\) via 'images' at resource group rg-pass/,
      ));
    it("policy.builtIns warns when an initiative holds the three but passes its own default, Audit", () =>
      expect(
        warning,
        "policy.builtIns",
        "warn",
        /noPrivilegedContainers: Audit \(the initiative's default\) via 'article-initiative' at the cluster/,
        /AssignAksPolicies@1 \(policies: noPrivilegedContainers,resourceLimits,allowedImages; effect: Deny/,
      ));
    it("policy.builtIns warns on an assignment in DoNotEnforce", () =>
      expect(nonCompliant, "policy.builtIns", "warn", /allowedImages: Deny \(set by the assignment\) in DoNotEnforce/));
    it("policy.builtIns fails when they are not assigned", () =>
      expect(
        failing,
        "policy.builtIns",
        "fail",
        /Not assigned to the cluster or above it: noPrivilegedContainers, resourceLimits, allowedImages/,
      ));
    it("policy.compliance passes with fresh results and none non-compliant", () =>
      expect(passing, "policy.compliance", "pass", /3 compliant results, none non-compliant; last evaluated/));
    it("policy.compliance warns honestly while nothing is evaluated yet", () =>
      expect(warning, "policy.compliance", "warn", /Not evaluated yet: .*Missing results are not compliance/));
    it("policy.compliance fails on non-compliant results", () =>
      expect(nonCompliant, "policy.compliance", "fail", /1 non-compliant result and 2 compliant/, /by hand: az policy state list/));
  });

  describe("Network", () => {
    it("network.policy passes with Cilium on Azure CNI", () =>
      expect(passing, "network.policy", "pass", /Network policy engine cilium \(network plugin azure\)/));
    it("network.policy warns on Azure NPM, which AKS retires for Linux nodes on 30 September 2028, with the move to Cilium and why it is report-only", () =>
      expect(
        warningMore,
        "network.policy",
        beforeOrAfter("2028-09-30"),
        /Azure Network Policy Manager, which AKS retires \(on Linux nodes supported until 30 September 2028\): move to Cilium/,
        /^by hand: az aks update -g rg-more -n aks-more --network-dataplane cilium — report-only, as it reimages every node pool at the same time .*Cilium replaces NPM in place/,
      ));
    it("network.policy warns on Calico over kubenet, which AKS retires on 31 March 2028", () =>
      expect(warning, "network.policy", beforeOrAfter("2028-03-31"), /calico, on kubenet, which AKS supports until 31 March 2028/));
    it("network.policy fails without an engine; the fix goes through Azure CNI Overlay to Cilium, by hand as it reimages every node pool", () =>
      expect(
        failing,
        "network.policy",
        "fail",
        /No network policy engine \(network plugin kubenet: kubenet, which AKS supports until 31 March 2028\)/,
        /^by hand: az aks update -g rg-report -n aks-fail --network-plugin azure --network-plugin-mode overlay \(irreversible\), then az aks update -g rg-report -n aks-fail --network-dataplane cilium — report-only, as it reimages every node pool at the same time/,
      ));
    it("network.outbound passes with user-defined routing", () => expect(passing, "network.outbound", "pass", /userDefinedRouting/));
    it("network.outbound notes load-balancer egress in a network AKS manages, with no command: user-defined routing needs the cluster's own VNet", () => {
      expect(
        warning,
        "network.outbound",
        "warn",
        /Outbound type loadBalancer: pods reach the internet directly/,
        /^by hand — the cluster runs in a virtual network AKS manages/,
      );
      assert.doesNotMatch(line(warning, "network.outbound").fix!, /az aks update/);
    });
    it("network.outbound gives the user-defined-routing command for a cluster in its own VNet, with the new egress address it brings", () =>
      expect(
        warningMore,
        "network.outbound",
        "warn",
        /Outbound type loadBalancer/,
        /^by hand: az aks update -g rg-more -n aks-more --outbound-type userDefinedRouting — .*new egress address, so update authorized IP ranges and Key Vault firewall rules/,
      ));
    it("network.outbound fails on the retired Basic load balancer", () =>
      expect(failing, "network.outbound", "fail", /Basic load balancer/, /--load-balancer-sku standard/));
  });

  describe("Key Vault", () => {
    it("keyVault.permissionModel passes on a vault that does not state it: 2026-02-01 defaults to Azure RBAC", () =>
      expect(passing, "keyVault.permissionModel", "pass", /Azure RBAC permission model/, undefined, "kv-pass"));
    it("keyVault.permissionModel warns on access policies, fixed by ProtectKeyVault@1 (it has no failing state)", () =>
      expect(
        warning,
        "keyVault.permissionModel",
        "warn",
        /Access-policy permission model/,
        /^ProtectKeyVault@1 \(resourceGroupName: rg-report; keyVaultName: kv-warn; permissionModel: rbac\)$/,
        "kv-warn",
      ));
    it("keyVault.network passes with public network access disabled", () =>
      expect(passing, "keyVault.network", "pass", /Public network access is disabled/, undefined, "kv-pass"));
    it("keyVault.network warns when the firewall allows a range broader than /16", () =>
      expect(
        warning,
        "keyVault.network",
        "warn",
        /denies by default, but allows 1 range broader than \/16: 10\.0\.0\.0\/8/,
        /az keyvault network-rule remove -g rg-report -n kv-warn --ip-address 10\.0\.0\.0\/8/,
        "kv-warn",
      ));
    it("keyVault.network fails when the vault is open to every network, fixed by ProtectKeyVault@1 allowing the cluster", () =>
      expect(
        failing,
        "keyVault.network",
        "fail",
        /Reachable from every network/,
        /^ProtectKeyVault@1 \(resourceGroupName: rg-report; keyVaultName: kv-fail; firewall: denyByDefault; allowClusters: rg-report\/aks-fail\)$/,
        "kv-fail",
      ));
    it("keyVault.privateEndpoint passes with an approved connection", () =>
      expect(passing, "keyVault.privateEndpoint", "pass", /1 approved private endpoint connection/, undefined, "kv-pass"));
    it("keyVault.privateEndpoint warns on a connection waiting for approval, naming it", () =>
      expect(
        warning,
        "keyVault.privateEndpoint",
        "warn",
        /waiting for approval/,
        /az keyvault private-endpoint-connection approve --id .*\/privateEndpointConnections\/pe-kv-warn\.9a8b/,
        "kv-warn",
      ));
    it("keyVault.privateEndpoint warns without a connection behind a closed firewall (a vault given by resource ID)", () =>
      expect(
        warningMore,
        "keyVault.privateEndpoint",
        "warn",
        /No private endpoint connection \(the firewall restricts/,
        /ProtectKeyVault@1 \(.*privateEndpointSubnetId: <subnet resource ID>\)/,
        "kv-more",
      ));
    it("keyVault.privateEndpoint fails without a connection on an open vault", () =>
      expect(
        failing,
        "keyVault.privateEndpoint",
        "fail",
        /No private endpoint connection, and the vault is reachable/,
        /ProtectKeyVault@1/,
        "kv-fail",
      ));
    it("keyVault.recovery passes with purge protection", () =>
      expect(passing, "keyVault.recovery", "pass", /Purge protection is on/, undefined, "kv-pass"));
    it("keyVault.recovery warns without purge protection (soft delete is always on), fixed by ProtectKeyVault@1, irreversibly", () => {
      for (const [run, vault] of [
        [warning, "kv-warn"],
        [failing, "kv-fail"],
      ] as const) {
        expect(
          run,
          "keyVault.recovery",
          "warn",
          /Purge protection is off: .* Turning it on cannot be undone\./,
          new RegExp(`^ProtectKeyVault@1 \\(resourceGroupName: rg-report; keyVaultName: ${vault}; enablePurgeProtection: true\\)$`),
          vault,
        );
        assert.doesNotMatch(line(run, "keyVault.recovery", vault).fix!, /soft-delete/);
      }
    });
  });

  describe("Cluster", () => {
    it("cluster.version passes with long-term support (Premium tier, AKSLongTermSupport), whose window holds a minor past community support", () =>
      expect(passing, "cluster.version", "pass", /Kubernetes 1\.32\.9 has long-term support \(1\.31–1\.34\)/));
    it("cluster.version warns on the oldest minor with community support, naming the upgrade and why it is a release of its own", () =>
      expect(
        warning,
        "cluster.version",
        "warn",
        /1\.32\.9 is the oldest minor version with community support \(1\.32–1\.34\)/,
        /^by hand: az aks upgrade -g rg-report -n aks-warn --kubernetes-version 1\.33\.5 — an upgrade is a release of its own/,
      ));
    it("cluster.version fails out of community support when the cluster asks for LTS without the Premium tier", () =>
      expect(
        failing,
        "cluster.version",
        "fail",
        /1\.31\.8 is out of community support \(supported in this region: 1\.32–1\.34\); the cluster asks for long-term support, which only the Premium tier gives/,
        /--kubernetes-version 1\.32\.9/,
      ));
    it("cluster.autoUpgrade passes on rapid with SecurityPatch: both built-ins (5c345cdf, 04408ca5) count them", () =>
      expect(passing, "cluster.autoUpgrade", "pass", /Auto-upgrade channel rapid, node OS channel SecurityPatch/));
    it("cluster.autoUpgrade passes on rapid with the default node OS channel NodeImage", () =>
      expect(warning, "cluster.autoUpgrade", "pass", /Auto-upgrade channel rapid, node OS channel NodeImage/));
    it("cluster.autoUpgrade fails on node-image: node images are patched, Kubernetes itself is not", () =>
      expect(
        warningMore,
        "cluster.autoUpgrade",
        "fail",
        /Kubernetes itself is not upgraded automatically/,
        /^ConfigureAutoUpgrade@1 \(upgradeChannel: patch; nodeOsUpgradeChannel: NodeImage\)$/,
      ));
    it("cluster.autoUpgrade fails without a channel, as az aks create leaves it", () =>
      expect(
        failing,
        "cluster.autoUpgrade",
        "fail",
        /Auto-upgrade channel none, node OS channel NodeImage: Kubernetes itself is not upgraded/,
        /ConfigureAutoUpgrade@1/,
      ));
    it("cluster.defender passes with Defender's security monitoring on", () =>
      expect(passing, "cluster.defender", "pass", /security monitoring is on/));
    it("cluster.defender fails with it off, fixed by EnableDefender@1 (the plan is already on here)", () =>
      expect(failing, "cluster.defender", "fail", /security monitoring is off/, /^EnableDefender@1$/));
  });

  describe("scorecard, outputs and reads", () => {
    it("the summary has the counts at the top and one table per area; the outputs count the lines", () => {
      const summary = passing.summaries[0]!;
      assert.match(summary, /^### AKS hardening report\\?: aks-pass\n\n\*\*17 passed · 0 warnings · 0 failed\*\*/);
      const areas = [...summary.matchAll(/^#### (.+)$/gm)].map((m) => m[1]);
      assert.deepEqual(areas, ["API server", "Identity", "Policy", "Network", "Key Vault", "Cluster"]);
      assert.deepEqual(passing.outputs, { passed: "17", failed: "0", warnings: "0", failedChecks: "", changed: "false" });

      const lines = scorecardLines(failing);
      const failed = lines.filter((l) => l.status === "fail");
      assert.equal(failing.outputs["failed"], String(failed.length));
      assert.equal(failing.outputs["warnings"], String(lines.filter((l) => l.status === "warn").length));
      assert.equal(failing.outputs["passed"], String(lines.filter((l) => l.status === "pass").length));
      assert.deepEqual(
        failing.outputs["failedChecks"]!.split(","),
        failed.map((l) => (l.subject ? `${l.id}:${l.subject}` : l.id)),
      );
      assert.ok(failing.outputs["failedChecks"]!.split(",").includes("keyVault.network:kv-fail"));
    });

    it("the reads are the few the checks need: one each, a built-in's definition only when an assignment leaves its effect to the default, an initiative only when one is assigned", async () => {
      // ARM requests, the tenant-level built-in definitions included.
      const paths = (run: () => Promise<StepRun>) =>
        run().then(() =>
          fx.azure.requests
            .filter((r) => /^\/(subscriptions|providers)\//i.test(r.path))
            .map((r) => `${r.method} ${r.path.replace(/^\/subscriptions\/[^/]+/, "").replace(/\/{2,}/g, "/")}`)
            .sort(),
        );
      assert.deepEqual(await paths(() => report({ resourceGroupName: "rg-pass", clusterName: "aks-pass", keyVaultNames: "kv-pass" })), [
        "GET /providers/Microsoft.Authorization/policyDefinitions/e345eecc-fa47-480f-9e88-67dcc122b164",
        "GET /providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions",
        "GET /providers/Microsoft.Security/pricings/Containers",
        "GET /resourceGroups/rg-pass/providers/Microsoft.ContainerService/managedClusters/aks-pass",
        "GET /resourceGroups/rg-pass/providers/Microsoft.ContainerService/managedClusters/aks-pass/providers/Microsoft.Authorization/policyAssignments",
        "GET /resourceGroups/rg-pass/providers/Microsoft.ContainerService/managedClusters/aks-pass/providers/Microsoft.Resources/links",
        "GET /resourceGroups/rg-pass/providers/Microsoft.ContainerService/managedClusters/aks-pass/upgradeProfiles/default",
        "GET /resourceGroups/rg-pass/providers/Microsoft.KeyVault/vaults/kv-pass",
        "POST /resourceGroups/rg-pass/providers/Microsoft.ContainerService/managedClusters/aks-pass/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults",
      ]);
      const withInitiative = await paths(() => report({ clusterName: "aks-warn" }));
      assert.ok(
        withInitiative.includes("GET /providers/Microsoft.Authorization/policySetDefinitions/article-policies"),
        withInitiative.join("\n"),
      );
      assert.equal(withInitiative.length, 8);
    });

    it("a skipped check carries its reason in the log and the summary and counts nowhere; check:vault, as failedChecks prints it, skips that vault only", async () => {
      const before = await report({ clusterName: "aks-fail", keyVaultNames: "kv-fail, kv-more" });
      const failedBefore = before.outputs["failedChecks"]!.split(",");
      assert.ok(
        failedBefore.includes("keyVault.privateEndpoint:kv-fail") && failedBefore.includes("cluster.defender"),
        failedBefore.join(),
      );
      const run = await report({
        clusterName: "aks-fail",
        keyVaultNames: "kv-fail, kv-more",
        skipChecks:
          "cluster.defender: Defender is bought at the tenant level\nkeyVault.privateEndpoint:kv-fail, keyVault.network:kv-fail: the vault team closes it next sprint",
      });
      fx.assertSucceeded(run);
      expect(run, "cluster.defender", "skipped", /^Skipped: Defender is bought at the tenant level\.$/);
      expect(run, "keyVault.privateEndpoint", "skipped", /^Skipped: the vault team closes it next sprint\.$/, undefined, "kv-fail");
      expect(run, "keyVault.network", "skipped", /^Skipped: the vault team closes it next sprint\.$/, undefined, "kv-fail");
      // The other vault is still checked.
      expect(run, "keyVault.privateEndpoint", "warn", /No private endpoint connection/, undefined, "kv-more");
      expect(run, "keyVault.network", "pass", /Public network access is disabled/, undefined, "kv-more");
      assert.deepEqual(
        run.outputs["failedChecks"]!.split(","),
        failedBefore.filter((c) => !["cluster.defender", "keyVault.privateEndpoint:kv-fail", "keyVault.network:kv-fail"].includes(c)),
      );
      assert.match(run.summaries[0]!, /· 3 skipped\*\*/);
    });

    it("a failed auxiliary read (versions list, policy states) makes only its checks unknown, with Azure's reason; the report still succeeds", async () => {
      fx.azure.faults.add({
        kind: "status",
        method: "GET",
        path: /\/locations\/westeurope\/kubernetesVersions$/i,
        status: 400,
        body: {
          error: {
            code: "LocationNotAvailableForResourceType",
            message:
              "The provided location 'westeurope' is not available for resource type 'Microsoft.ContainerService/locations/kubernetesVersions'.",
          },
        },
      });
      fx.azure.faults.add({
        kind: "status",
        method: "POST",
        path: /\/policyStates\/latest\/queryResults$/i,
        status: 400,
        body: { error: { code: "InvalidQueryParameterValue", message: "The query could not be run." } },
      });
      const run = await reportWhileFaulted({ resourceGroupName: "rg-pass", clusterName: "aks-pass", failOn: "error" });
      fx.assertSucceeded(run);
      expect(
        run,
        "cluster.version",
        "unknown",
        /^Unknown: Could not list the Kubernetes versions of region 'westeurope' \(HTTP 400\): LocationNotAvailableForResourceType: /,
      );
      expect(
        run,
        "policy.compliance",
        "unknown",
        /^Unknown: Could not read the policy compliance of .*\(HTTP 400\): InvalidQueryParameterValue/,
      );
      expect(run, "policy.builtIns", "pass", /All three are assigned in Deny/);
      expect(run, "cluster.autoUpgrade", "pass", /rapid/);
      assert.ok(
        run.warnings.some((w) => /2 checks could not be read and are unknown: policy\.compliance, cluster\.version/.test(w)),
        run.warnings.join("\n"),
      );
    });
  });

  describe("gate", () => {
    it("failOn: error fails the task on a failing check, after the scorecard and outputs, naming the failed checks", async () => {
      const run = await report({ clusterName: "aks-fail", keyVaultNames: "kv-fail", failOn: "error" });
      assert.equal(run.result, "Failed");
      assert.match(
        run.resultMessage ?? "",
        /does not pass \(failOn: error\): 14 checks failed: apiServer\.access, .*keyVault\.privateEndpoint:kv-fail, cluster\.version, cluster\.autoUpgrade, cluster\.defender\./,
      );
      assert.equal(run.outputs["failed"], "14");
      assert.equal(run.summaries.length, 1, "the scorecard is published before the gate fails the task");
    });

    it("failOn: error lets warnings through; failOn: warning stops them", async () => {
      fx.assertSucceeded(
        await report({ resourceGroupName: "rg-pass", clusterName: "aks-pass", keyVaultNames: "kv-pass", failOn: "error" }),
      );
      const warned = await report({
        resourceGroupName: "rg-more",
        clusterName: "aks-more",
        failOn: "error",
        skipChecks:
          "identity.workloadIdentity, identity.localAccounts, policy.builtIns, network.policy, cluster.autoUpgrade, cluster.defender: not under test here",
      });
      fx.assertSucceeded(warned);
      const stopped = await report({ clusterName: "aks-warn", keyVaultNames: "kv-warn", failOn: "warning" });
      assert.equal(stopped.result, "Failed");
      assert.match(
        stopped.resultMessage ?? "",
        /failOn: warning\): 2 checks failed: identity\.workloadIdentity, cluster\.defender; \d+ warned or could not be read: apiServer\.access, /,
      );
    });
  });

  describe("a service connection without read permission on policy", () => {
    let run: StepRun;
    before(async () => {
      const scope = `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-pass/providers/Microsoft.ContainerService/managedClusters/aks-pass`;
      fx.azure.faults.denyAuthorization({
        method: "GET",
        path: /\/providers\/Microsoft\.Authorization\/policyAssignments$/i,
        action: "Microsoft.Authorization/policyAssignments/read",
        scope,
        objectId: fx.principalObjectId(),
      });
      fx.azure.faults.denyAuthorization({
        method: "POST",
        path: /\/providers\/Microsoft\.PolicyInsights\/policyStates\/latest\/queryResults$/i,
        action: "Microsoft.PolicyInsights/policyStates/queryResults/read",
        scope,
        objectId: fx.principalObjectId(),
      });
      run = await reportWhileFaulted({ resourceGroupName: "rg-pass", clusterName: "aks-pass", keyVaultNames: "kv-pass" });
    });

    it("reports the policy checks it feeds as unknown, naming the permission, and still succeeds", () => {
      fx.assertSucceeded(run);
      expect(run, "policy.builtIns", "unknown", /needs Microsoft\.Authorization\/policyAssignments\/read\)/);
      expect(
        run,
        "policy.compliance",
        "unknown",
        /needs Microsoft\.Authorization\/policyAssignments\/read and Microsoft\.PolicyInsights\/policyStates\/queryResults\/read\)/,
      );
      assert.ok(
        run.warnings.some((w) => /2 checks could not be read and are unknown: policy\.builtIns, policy\.compliance/.test(w)),
        run.warnings.join("\n"),
      );
      assert.match(run.summaries[0]!, /15 passed · 0 warnings · 0 failed · 2 unknown/);
    });

    it("checks that only use the refused read still say what they can", () => {
      expect(run, "policy.addon", "pass", /^The Azure Policy add-on is on\.$/);
      expect(run, "apiServer.access", "pass", /authorized IP range/);
    });
  });

  it("compliance is counted over every page of policy states, each page POSTed", async () => {
    const cluster = fx.azure.store.addManagedCluster(RG, "aks-many", { properties: { addonProfiles: { azurepolicy: { enabled: true } } } });
    assign(cluster.id, "no-privileged", NO_PRIVILEGED, "Deny");
    const [state] = fx.azure.store.evaluatePolicies(cluster.id);
    fx.azure.store.recordPolicyStates(
      cluster.id,
      Array.from({ length: 2500 }, (_, i) => ({ ...state!, complianceState: i < 3 ? "NonCompliant" : "Compliant", isCompliant: i >= 3 })),
    );
    const run = await report({ clusterName: "aks-many" });
    expect(run, "policy.compliance", "fail", /^3 non-compliant results and 2497 compliant; last evaluated/);
    const queries = fx.azure.requests.filter((r) => /\/policyStates\/latest\/queryResults$/i.test(r.path));
    assert.deepEqual(
      queries.map((r) => `${r.method} ${r.status}`),
      ["POST 200", "POST 200", "POST 200"],
      "three pages, each POSTed",
    );
  });

  it("without read permission on the cluster, every check it feeds is unknown and the vault checks still run", async () => {
    const scope = `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-pass/providers/Microsoft.ContainerService/managedClusters/aks-pass`;
    fx.azure.faults.denyAuthorization({
      method: "GET",
      path: /\/managedClusters\/aks-pass$/i,
      action: "Microsoft.ContainerService/managedClusters/read",
      scope,
      objectId: fx.principalObjectId(),
    });
    const run = await reportWhileFaulted({ resourceGroupName: "rg-pass", clusterName: "aks-pass", keyVaultNames: "kv-pass" });
    fx.assertSucceeded(run);
    for (const id of ["apiServer.access", "identity.entraId", "policy.addon", "network.policy", "cluster.version", "cluster.defender"]) {
      expect(run, id, "unknown", /needs Microsoft\.ContainerService\/managedClusters\/read\)/);
    }
    expect(run, "policy.builtIns", "pass", /All three are assigned in Deny/);
    expect(run, "keyVault.recovery", "pass", /Purge protection is on/, undefined, "kv-pass");
  });

  it("without read permission on a vault, that vault's checks are unknown and the other vault's still run", async () => {
    fx.azure.faults.denyAuthorization({
      method: "GET",
      path: /\/vaults\/kv-warn$/i,
      action: "Microsoft.KeyVault/vaults/read",
      scope: fx.azure.store.getKeyVault(RG, "kv-warn")!.id,
      objectId: fx.principalObjectId(),
    });
    const run = await reportWhileFaulted({ clusterName: "aks-fail", keyVaultNames: "kv-warn, kv-fail" });
    fx.assertSucceeded(run);
    for (const id of ["keyVault.permissionModel", "keyVault.network", "keyVault.privateEndpoint", "keyVault.recovery"]) {
      expect(run, id, "unknown", /needs Microsoft\.KeyVault\/vaults\/read\)/, undefined, "kv-warn");
    }
    expect(run, "keyVault.recovery", "warn", /Purge protection is off/, undefined, "kv-fail");
    assert.ok(run.warnings.some((w) => /4 checks could not be read/.test(w)));
  });

  describe("bad inputs fail before any read of the cluster, naming the input", () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ["failOn", { clusterName: "aks-pass", failOn: "sometimes" }, /^failOn: 'sometimes' is not one of 'never', 'error', 'warning'\./],
      [
        "skipChecks with an unknown ID",
        { clusterName: "aks-pass", skipChecks: "cluster.defenders: typo" },
        /^skipChecks: 'cluster\.defenders' is not a check ID\. .*IDs: apiServer\.access, /,
      ],
      ["skipChecks with only a reason", { clusterName: "aks-pass", skipChecks: ": no id" }, /^skipChecks: ': no id' names no check\./],
      [
        "skipChecks without a reason",
        { clusterName: "aks-pass", skipChecks: "cluster.defender" },
        /^skipChecks: 'cluster\.defender' gives no reason: write ': ' and why the check does not apply\./,
      ],
      [
        "skipChecks naming a vault that keyVaultNames does not list",
        { clusterName: "aks-pass", keyVaultNames: "kv-pass", skipChecks: "keyVault.network:kv-other: closed elsewhere" },
        /^skipChecks: 'keyVault\.network:kv-other' names a vault keyVaultNames does not list \(kv-pass\)/,
      ],
      [
        "skipChecks with a check skipped twice",
        { clusterName: "aks-pass", keyVaultNames: "kv-pass", skipChecks: "keyVault.network: all\nkeyVault.network:kv-pass: this one" },
        /^skipChecks: 'keyVault\.network:kv-pass' is skipped twice \(lines 1 and 2, also as 'keyVault\.network'\)/,
      ],
      [
        "keyVaultNames",
        { clusterName: "aks-pass", keyVaultNames: "kv-pass, kv_with_underscore" },
        /^keyVaultNames: 'kv_with_underscore' is neither a key vault name/,
      ],
      ["clusterName", { clusterName: "-aks" }, /^clusterName: '-aks' is not a valid AKS cluster name/],
    ];
    for (const [what, inputs, message] of cases) {
      it(what, async () => {
        const run = await report(inputs);
        fx.assertFailedBeforeAnyWrite(run, message);
        assert.deepEqual(fx.armRequests(), [], "nothing is read either");
      });
    }

    it("a vault that does not exist fails the task naming keyVaultNames (after reading, still without a write)", async () => {
      const run = await report({ resourceGroupName: "rg-pass", clusterName: "aks-pass", keyVaultNames: "kv-pass\nkv-missing" });
      fx.assertFailedBeforeAnyWrite(run, /^keyVaultNames: there is no key vault 'kv-missing' in resource group 'rg-pass'/);
    });

    it("a cluster that does not exist fails the task", async () => {
      const run = await report({ clusterName: "aks-missing" });
      fx.assertFailedBeforeAnyWrite(run, /Could not read managed cluster 'aks-missing' in resource group 'rg-report': it does not exist/);
    });
  });
});
