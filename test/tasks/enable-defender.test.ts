import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { Fixture, OWNER_ROLE } from "../harness/fixture";
import { assertSpeaksConditionally } from "../harness/wording";
import { freePricing, logAnalyticsWorkspace, type ArmResource } from "../../local-azure/index";
import { VOLATILE, without } from "../reliability/cells";

describe("EnableDefender@1 (packaged)", () => {
  const TASK = "EnableDefender";
  let fx: Fixture;
  let count = 0;
  let pricingId: string;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    pricingId = freePricing(fx.azure.subscriptionId, "Containers").id;
  });
  after(async () => {
    await fx?.close();
  });

  /** A cluster in `rg` (its region decides az's default workspace), with settings the task must keep. */
  function newCluster(rg: string, location = "westeurope", overrides: Record<string, unknown> = {}): ArmResource {
    if (!fx.azure.store.getResourceGroup(rg)) fx.azure.store.addResourceGroup(rg, location);
    const cluster = fx.azure.store.addManagedCluster(rg, `aks-defender-${++count}`, {
      tags: { team: "platform" },
      properties: { securityProfile: { imageCleaner: { enabled: true, intervalHours: 48 } }, ...overrides },
    });
    fx.azure.clearRequests();
    return cluster;
  }

  function addWorkspace(resourceGroup: string, name: string, location = "westeurope"): ArmResource {
    if (!fx.azure.store.getResourceGroup(resourceGroup)) fx.azure.store.addResourceGroup(resourceGroup, location);
    return fx.azure.store.put(logAnalyticsWorkspace({ subscriptionId: fx.azure.subscriptionId, resourceGroup, name, location }));
  }

  const defenderOf = (cluster: ArmResource) =>
    (fx.azure.store.get(cluster.id)!.properties!["securityProfile"] as { defender?: unknown }).defender;
  const rest = (cluster: ArmResource) => without(fx.azure.store.get(cluster.id), [...VOLATILE, "properties.securityProfile.defender"]);
  const run = (cluster: ArmResource, inputs: Record<string, string> = {}) =>
    fx.run(TASK, { inputs: { resourceGroupName: cluster.id.split("/")[4]!, clusterName: cluster.name, ...inputs } });
  const setPlan = (properties: Record<string, unknown>) =>
    fx.azure.store.put({ ...freePricing(fx.azure.subscriptionId, "Containers"), properties });

  it("no workspace given: az's default workspace for the resource group's region (it exists); plan Free is reported, not changed; the re-run writes nothing", async () => {
    setPlan({ pricingTier: "Free" });
    const sub = fx.azure.subscriptionId;
    // azure-cli: westeurope → region code WEU.
    const workspace = addWorkspace("DefaultResourceGroup-WEU", `DefaultWorkspace-${sub}-WEU`);
    const cluster = newCluster("rg-defender-weu");
    const before = rest(cluster);
    const first = await run(cluster);
    fx.assertSucceeded(first);
    assert.deepEqual(
      fx.armWrites().map((w) => [w.method, w.path]),
      [["PUT", cluster.id]],
      "one cluster write; the plan is not touched without enableContainersPlan",
    );
    assert.ok(fx.armWrites()[0]!.ifMatch);
    assert.deepEqual(defenderOf(cluster), { logAnalyticsWorkspaceResourceId: workspace.id, securityMonitoring: { enabled: true } });
    assert.deepEqual(rest(cluster), before, "nothing else of the cluster changed (the image cleaner kept)");
    assert.deepEqual(first.outputs, { changed: "true", workspaceId: workspace.id, containersPlan: "Free" });
    assert.match(
      first.summaries[0]!,
      /the one `az aks update --enable-defender` chooses for this resource group's region; it already existed, nothing was created/,
    );
    assert.match(
      first.stdout,
      /##vso\[task\.issue type=warning[^\]]*\]The subscription's Defender for Containers plan is Free: the sensor is deployed on the cluster, but detections are not produced/,
    );

    fx.azure.clearRequests();
    const again = await run(cluster);
    fx.assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), []);
    assert.equal(again.outputs["changed"], "false");
    assert.equal(again.outputs["workspaceId"], workspace.id, "the cluster's own workspace is kept");
    assert.match(again.summaries[0]!, /Already compliant/);
  });

  it("no workspace given and az's default one does not exist: stops before any write, naming it and how to create it, creating nothing", async () => {
    const sub = fx.azure.subscriptionId;
    const cluster = newCluster("rg-defender-neu", "northeurope");
    const run1 = await run(cluster);
    fx.assertFailedBeforeAnyWrite(
      run1,
      new RegExp(
        `^No logAnalyticsWorkspaceId was given, and the workspace az aks update --enable-defender would use, 'DefaultWorkspace-${sub}-NEU' in resource group 'DefaultResourceGroup-NEU' \\(region northeurope\\), does not exist\\. This task creates nothing it was not asked to .*az monitor log-analytics workspace create -g DefaultResourceGroup-NEU`,
      ),
    );
    assert.equal(fx.azure.store.getResourceGroup("DefaultResourceGroup-NEU"), undefined);
    assert.equal(defenderOf(cluster), undefined);
  });

  it("a workspace that does not exist, or an ID that is not a workspace's, is refused before any write", async () => {
    const cluster = newCluster("rg-defender-weu");
    const missing = `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/law-missing`;
    fx.assertFailedBeforeAnyWrite(
      await run(cluster, { logAnalyticsWorkspaceId: missing }),
      /^logAnalyticsWorkspaceId: the Log Analytics workspace 'law-missing' in resource group 'rg-monitoring' does not exist/,
    );
    fx.azure.clearRequests();
    fx.assertFailedBeforeAnyWrite(
      await run(cluster, { logAnalyticsWorkspaceId: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Insights/components/app" }),
      /^logAnalyticsWorkspaceId: '.*' is not a Log Analytics workspace resource ID/,
    );
    assert.deepEqual(fx.armRequests(), [], "a malformed ID is refused before any request");
  });

  it("enableContainersPlan: the plan goes to Standard keeping its extensions, then the sensor; the re-run writes nothing; the scorecard then passes cluster.autoUpgrade and cluster.defender", async () => {
    setPlan({ pricingTier: "Free", extensions: [{ name: "ContainerRegistriesVulnerabilityAssessments", isEnabled: "False" }] });
    const workspace = addWorkspace("rg-monitoring", "law-security");
    const cluster = newCluster("rg-defender-weu");
    const inputs = { logAnalyticsWorkspaceId: workspace.id, enableContainersPlan: "true" };
    const first = await run(cluster, inputs);
    fx.assertSucceeded(first);
    const writes = fx.armWrites();
    assert.deepEqual(
      writes.map((w) => w.path),
      [pricingId, cluster.id],
    );
    assert.deepEqual(writes[0]!.body, {
      properties: { pricingTier: "Standard", extensions: [{ name: "ContainerRegistriesVulnerabilityAssessments", isEnabled: "False" }] },
    });
    assert.equal(writes[0]!.apiVersion, "2024-01-01");
    assert.equal(fx.azure.store.get(pricingId)!.properties!["pricingTier"], "Standard");
    assert.deepEqual(first.outputs, { changed: "true", workspaceId: workspace.id, containersPlan: "Standard" });
    assert.match(first.summaries[0]!, /covers \(and is billed for\) every cluster in the subscription/);
    assert.doesNotMatch(first.stdout, /detections are not produced/);

    fx.azure.clearRequests();
    const again = await run(cluster, inputs);
    fx.assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(fx.permissionReads(), [], "nothing to write, so no permission to check");
    assert.equal(again.outputs["changed"], "false");

    fx.assertSucceeded(
      await fx.run("ConfigureAutoUpgrade", { inputs: { resourceGroupName: "rg-defender-weu", clusterName: cluster.name } }),
    );
    fx.azure.clearRequests();
    const report = await fx.run("AksHardeningReport", { inputs: { resourceGroupName: "rg-defender-weu", clusterName: cluster.name } });
    fx.assertSucceeded(report);
    assert.deepEqual(fx.armWrites(), []);
    assert.match(report.stdout, /\[PASS\] cluster\.autoUpgrade: /);
    assert.match(
      report.stdout,
      /\[PASS\] cluster\.defender: Defender for Containers' security monitoring is on, and the subscription's Defender for Containers plan is Standard\./,
    );
  });

  it("the plan cannot be read: without enableContainersPlan the sensor is still turned on and the summary says detections are unknown; with it, nothing is written", async () => {
    const workspace = addWorkspace("rg-monitoring", "law-security");
    const refused = {
      method: "GET",
      path: /\/providers\/Microsoft\.Security\/pricings\/Containers$/,
      kind: "status" as const,
      status: 403,
      body: {
        error: {
          code: "AuthorizationFailed",
          message: "The client does not have authorization to perform action 'Microsoft.Security/pricings/read'.",
        },
      },
      times: 1000,
    };
    try {
      fx.azure.faults.add(refused);
      const cluster = newCluster("rg-defender-weu");
      const reported = await run(cluster, { logAnalyticsWorkspaceId: workspace.id });
      fx.assertSucceeded(reported);
      assert.deepEqual(reported.outputs["containersPlan"], "unknown");
      assert.match(
        reported.stdout,
        /##vso\[task\.issue type=warning[^\]]*\]Whether detections are produced is unknown: Could not read the subscription's Defender for Containers plan/,
      );

      const other = newCluster("rg-defender-weu");
      fx.assertFailedBeforeAnyWrite(
        await run(other, { logAnalyticsWorkspaceId: workspace.id, enableContainersPlan: "true" }),
        /^Could not read the subscription's Defender for Containers plan: .*Microsoft\.Security\/pricings\/read/,
      );
    } finally {
      fx.azure.faults.clear();
    }
  });

  it("a connection without Microsoft.Security/pricings/write: the dry run says in the conditional what it would do and that a real run would be refused; the real run is refused before the plan or the sensor is written", async () => {
    setPlan({ pricingTier: "Free" });
    const workspace = addWorkspace("rg-monitoring", "law-security");
    const cluster = newCluster("rg-defender-weu");
    const inputs = {
      resourceGroupName: "rg-defender-weu",
      clusterName: cluster.name,
      logAnalyticsWorkspaceId: workspace.id,
      enableContainersPlan: "true",
    };
    fx.giveRole("spnCertificate", [
      { actions: ["*"], notActions: ["Microsoft.Security/pricings/write"], dataActions: [], notDataActions: [] },
    ]);
    try {
      const missing = `'Microsoft\\.Security/pricings/write' on /subscriptions/${fx.azure.subscriptionId} \\(to turn on the subscription's Defender for Containers plan \\(enableContainersPlan\\); Contributor or Owner has it\\)`;
      const dry = await fx.run(TASK, { connection: "spnCertificate", inputs: { ...inputs, dryRun: "true" } });
      fx.assertSucceeded(dry);
      assertSpeaksConditionally(dry);
      assert.match(dry.summaries[0]!, /A real run would have AKS deploy the Defender sensor/);
      assert.ok(
        dry.warnings.some((w) => new RegExp(`^A real run would be refused before its first write: .*${missing}`).test(w)),
        dry.warnings.join("\n"),
      );
      assert.deepEqual(
        fx.permissionReads().map((r) => r.path),
        [`${cluster.id}/providers/Microsoft.Authorization/permissions`],
        "the subscription's plan is checked at the cluster, whose list holds what the subscription grants",
      );

      const refused = await fx.run(TASK, { connection: "spnCertificate", inputs });
      fx.assertFailedBeforeAnyWrite(refused, new RegExp(missing));
      assert.equal(defenderOf(cluster), undefined);
    } finally {
      fx.giveRole("spnCertificate", OWNER_ROLE);
    }
  });
});
