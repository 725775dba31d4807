import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { Fixture, OWNER_ROLE } from "../harness/fixture";
import { assertSpeaksConditionally } from "../harness/wording";
import { composeMaintenanceConfiguration, type ArmResource } from "../../local-azure/index";
import { VOLATILE, without } from "../reliability/cells";

describe("ConfigureAutoUpgrade@1 (packaged)", () => {
  const TASK = "ConfigureAutoUpgrade";
  const RG = "rg-upgrade";
  let fx: Fixture;
  let count = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
  });
  after(async () => {
    await fx?.close();
  });

  /** A cluster as `az aks create` leaves it (upgradeChannel none, node OS NodeImage), with settings the task must keep. */
  function newCluster(overrides: Record<string, unknown> = {}): ArmResource {
    const cluster = fx.azure.store.addManagedCluster(RG, `aks-upgrade-${++count}`, {
      tags: { team: "platform" },
      properties: { apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24"] }, ...overrides },
    });
    fx.azure.clearRequests();
    return cluster;
  }

  const profile = (cluster: ArmResource) => fx.azure.store.get(cluster.id)!.properties!["autoUpgradeProfile"];
  const configurations = (cluster: ArmResource) =>
    Object.fromEntries(fx.azure.store.list(`${cluster.id}/maintenanceConfigurations`).map((c) => [c.name, c.properties]));
  const rest = (cluster: ArmResource) => without(fx.azure.store.get(cluster.id), [...VOLATILE, "properties.autoUpgradeProfile"]);
  const run = (cluster: ArmResource, inputs: Record<string, string> = {}) =>
    fx.run(TASK, { inputs: { resourceGroupName: RG, clusterName: cluster.name, ...inputs } });

  it("defaults on an az aks create cluster: one conditional cluster write to patch + NodeImage, every other setting kept; the re-run writes nothing", async () => {
    const cluster = newCluster();
    const before = rest(cluster);
    const first = await run(cluster);
    fx.assertSucceeded(first);
    const writes = fx.armWrites();
    assert.deepEqual(
      writes.map((w) => [w.method, w.path]),
      [["PUT", cluster.id]],
      "the cluster write only: no window was typed, so no maintenance configuration is read or written",
    );
    assert.ok(writes[0]!.ifMatch, "the cluster write is conditional on the eTag read");
    assert.deepEqual(profile(cluster), { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" });
    assert.deepEqual(rest(cluster), before, "nothing else of the cluster changed");
    assert.deepEqual(first.outputs, { changed: "true", upgradeChannel: "patch", nodeOsUpgradeChannel: "NodeImage" });
    const summary = first.summaries[0]!;
    assert.match(summary, /Auto-upgrade channel \| `none` \| `patch`/);
    assert.match(summary, /new patch releases of the cluster's own minor version are applied; a new minor version is a release you choose/);
    assert.match(summary, /No maintenanceWindow given: the cluster's aksManagedAutoUpgradeSchedule, if it has one, is kept/);
    assert.doesNotMatch(summary, /24 hours/, "the node OS channel did not change");

    fx.azure.clearRequests();
    const again = await run(cluster);
    fx.assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(
      fx.armRequests().map((r) => [r.method, r.path]),
      [["GET", cluster.id]],
    );
    assert.equal(again.outputs["changed"], "false");
    assert.match(again.summaries[0]!, /Already compliant: nothing written/);
  });

  it("both windows: written as aksManagedAutoUpgradeSchedule and aksManagedNodeOSUpgradeSchedule before the channels, the default configuration kept; re-run writes nothing; a changed window rewrites only itself", async () => {
    const cluster = newCluster();
    const unrelated = fx.azure.store.put(
      composeMaintenanceConfiguration({
        clusterId: cluster.id,
        name: "default",
        properties: {
          maintenanceWindow: { schedule: { weekly: { intervalWeeks: 1, dayOfWeek: "Tuesday" } }, durationHours: 4, startTime: "01:00" },
        },
        today: fx.azure.store.now(),
      }),
    );
    const inputs = {
      upgradeChannel: "stable",
      nodeOsUpgradeChannel: "SecurityPatch",
      maintenanceWindow: "monthly first Sunday 02:00 8h +01:00 except 2026-12-20..2027-01-03",
      nodeOsMaintenanceWindow: "every 2 weeks sat 22:30 4h -05:00 from 2026-06-06",
    };
    const first = await run(cluster, inputs);
    fx.assertSucceeded(first);
    const writes = fx.armWrites().map((w) => `${w.method} ${w.path.slice(cluster.id.length) || "cluster"}`);
    assert.deepEqual(writes.slice(0, 2).sort(), [
      "PUT /maintenanceConfigurations/aksManagedAutoUpgradeSchedule",
      "PUT /maintenanceConfigurations/aksManagedNodeOSUpgradeSchedule",
    ]);
    assert.deepEqual(writes.slice(2), ["PUT cluster"], "the channels are set once both windows are in place");
    const stored = configurations(cluster) as Record<string, { maintenanceWindow: Record<string, unknown> }>;
    assert.deepEqual(stored["default"], unrelated.properties, "the default configuration is left alone");
    const upgrade = stored["aksManagedAutoUpgradeSchedule"]!.maintenanceWindow;
    assert.match(String(upgrade["startDate"]), /^\d{4}-\d{2}-\d{2}$/, "AKS filled in the day it was made");
    assert.deepEqual(without(upgrade, ["startDate"]), {
      schedule: { relativeMonthly: { intervalMonths: 1, weekIndex: "First", dayOfWeek: "Sunday" } },
      durationHours: 8,
      startTime: "02:00",
      utcOffset: "+01:00",
      notAllowedDates: [{ start: "2026-12-20", end: "2027-01-03" }],
    });
    assert.deepEqual(stored["aksManagedNodeOSUpgradeSchedule"]!.maintenanceWindow, {
      schedule: { weekly: { intervalWeeks: 2, dayOfWeek: "Saturday" } },
      durationHours: 4,
      startTime: "22:30",
      utcOffset: "-05:00",
      startDate: "2026-06-06",
    });
    assert.deepEqual(profile(cluster), { upgradeChannel: "stable", nodeOSUpgradeChannel: "SecurityPatch" });
    const summary = first.summaries[0]!;
    assert.match(summary, /`monthly first Sunday 02:00 8h \+01:00 except 2026-12-20\.\.2027-01-03`<br>_created_/);
    assert.match(summary, /can take up to 24 hours to take effect/);
    assert.match(summary, /Other maintenance configurations of the cluster \(such as default\) are left as they are/);

    fx.azure.clearRequests();
    const again = await run(cluster, inputs);
    fx.assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), [], "the startDate AKS filled in is not a difference");
    assert.equal(again.outputs["changed"], "false");

    fx.azure.clearRequests();
    const moved = await run(cluster, { ...inputs, nodeOsMaintenanceWindow: "every 2 weeks Saturday 23:00 4h -05:00 from 2026-06-06" });
    fx.assertSucceeded(moved);
    assert.deepEqual(
      fx.armWrites().map((w) => w.path.slice(cluster.id.length)),
      ["/maintenanceConfigurations/aksManagedNodeOSUpgradeSchedule"],
    );
    const kept = (configurations(cluster) as Record<string, { maintenanceWindow: Record<string, unknown> }>)[
      "aksManagedAutoUpgradeSchedule"
    ]!;
    assert.deepEqual(kept.maintenanceWindow, upgrade, "the other window, startDate included, is as it was");
    assert.match(
      moved.summaries[0]!,
      /`every 2 weeks Saturday 22:30 4h -05:00 from 2026-06-06` \| `every 2 weeks Saturday 23:00 4h -05:00 from 2026-06-06`<br>_updated_/,
    );
  });

  it("a dry run reads and plans but writes nothing, and says what it would do", async () => {
    const cluster = newCluster();
    const run1 = await run(cluster, { nodeOsUpgradeChannel: "Unmanaged", maintenanceWindow: "weekly Sunday 01:00 4h", dryRun: "true" });
    fx.assertSucceeded(run1);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(run1.outputs, { changed: "false", upgradeChannel: "patch", nodeOsUpgradeChannel: "Unmanaged" });
    assertSpeaksConditionally(run1);
    assert.match(run1.summaries[0]!, /_to be created_/);
    assert.match(
      run1.stdout,
      /##vso\[task\.issue type=warning[^\]]*\]Moving the node OS channel from NodeImage to Unmanaged reimages every node/,
    );
  });

  it("a connection whose role lacks maintenanceConfigurations/write is refused before the first write, naming the action, the cluster and its purpose", async () => {
    const cluster = newCluster();
    fx.giveRole("spnCertificate", [
      {
        actions: ["*"],
        notActions: ["Microsoft.ContainerService/managedClusters/maintenanceConfigurations/write"],
        dataActions: [],
        notDataActions: [],
      },
    ]);
    try {
      const refused = await fx.run(TASK, {
        connection: "spnCertificate",
        inputs: { resourceGroupName: RG, clusterName: cluster.name, maintenanceWindow: "weekly Sunday 01:00 4h" },
      });
      fx.assertFailedBeforeAnyWrite(
        refused,
        new RegExp(
          `^The service connection's identity lacks a permission this run needs: 'Microsoft\\.ContainerService/managedClusters/maintenanceConfigurations/write' on ${cluster.id} \\(to write the maintenance window aksManagedAutoUpgradeSchedule \\(maintenanceWindow\\); Contributor or Owner has it\\)\\.`,
        ),
      );
      assert.deepEqual(
        fx.permissionReads().map((r) => r.path),
        [`${cluster.id}/providers/Microsoft.Authorization/permissions`],
        "one list, at the cluster: the window and the channels are both written there",
      );
    } finally {
      fx.giveRole("spnCertificate", OWNER_ROLE);
    }
  });
});
