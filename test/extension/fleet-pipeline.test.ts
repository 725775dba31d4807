import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture } from "../harness/fixture";
import { FLEET_CLUSTERS, fleetPipeline, seedFleet } from "../../scripts/demo-pipeline";
import { fleetRunOptions } from "../../scripts/demo-run";
import { runPipeline, type PipelineRun } from "../../scripts/pipeline-runner";
import { isWriteRequest, runTable, stepLog } from "../../scripts/demo-log";
import type { RequestContext } from "../../local-azure/http";
import { readableLogProblems } from "../harness/readable-log";

describe("test/extension/fleet-pipeline", () => {
  const v = fleetPipeline.variables as Record<string, string>;
  const SECRETS = { dbUrl: `jdbc:sqlserver://fleet;x=${randomUUID()}`, dbUser: "todoadmin", dbPassword: `P@ss=${randomUUID()}` };
  const BYSTANDER = randomUUID();
  const ADMIN_RANGES = ["203.0.113.0/24", "198.51.100.14/32"];
  const clusters = Object.entries(FLEET_CLUSTERS);

  let fx: Fixture;
  let first: PipelineRun;
  let second: PipelineRun;

  interface AccessPolicy {
    objectId: string;
    permissions: Record<string, string[]>;
  }

  /**
   * Holds the grants on the shared vault until every leg's grant has arrived, so that they are in
   * flight together whatever the machine's speed: an event (the last arrival) releases them, no timer.
   * (Once the local Azure's fault injector can hold requests until others arrive, this is a fault.)
   */
  function holdVaultGrantsUntilAllArrive(count: number): { arrived: () => number; restore: () => void } {
    const faults = fx.azure.faults;
    const intercept = faults.intercept.bind(faults);
    let arrived = 0;
    let release!: () => void;
    const allArrived = new Promise<void>((resolve) => (release = resolve));
    faults.intercept = async (ctx: RequestContext) => {
      if (ctx.method === "PUT" && /\/vaults\/[^/]+\/accessPolicies\/add$/i.test(ctx.path) && arrived < count) {
        if (++arrived === count) release();
        await allArrived;
      }
      return intercept(ctx);
    };
    return { arrived: () => arrived, restore: () => void (faults.intercept = intercept) };
  }

  let grantsHeldTogether = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.secrets.push(...Object.values(SECRETS));
    seedFleet(fx.azure, fx.principalObjectId(), BYSTANDER);
    const hold = holdVaultGrantsUntilAllArrive(clusters.length);
    const options = fleetRunOptions(fx);
    first = await runPipeline(fx, fleetPipeline, { ...options, secrets: SECRETS });
    grantsHeldTogether = hold.arrived();
    hold.restore();
    second = await runPipeline(fx, fleetPipeline, { ...options, secrets: SECRETS });
  });
  after(async () => {
    await fx?.close();
  });

  it("one job per cluster runs the cluster tasks, the jobs as parallel legs of one matrix, every step succeeding", () => {
    assert.ok(first.succeeded);
    for (const s of first.steps) {
      assert.ok(s.succeeded, `${s.job} / ${s.displayName}: ${s.run?.resultMessage}\n${s.run?.stdout}`);
      if (s.run) fx.assertNoSecretsIn(s.run);
    }
    const legs = [...new Set(first.steps.filter((s) => s.stage === "Harden").map((s) => s.job))];
    assert.deepEqual(
      legs,
      clusters.map(([leg]) => `Harden.${leg}`),
    );
    for (const leg of legs) {
      assert.deepEqual(
        first.steps.filter((s) => s.job === leg && s.kind === "main").map((s) => s.task),
        [
          "AksHardeningReport@1",
          "SecureClusterAccess@1",
          "ConfigureAutoUpgrade@1",
          "EnableDefender@1",
          "EnablePodIdentity@1",
          "KeyVaultSecrets@1",
          "RestrictApiServer@1",
          "AssignAksPolicies@1",
          "AksHardeningReport@1",
        ],
      );
    }
    assert.ok(first.steps.filter((s) => s.stage === "Harden").every((s) => s.parallel));
  });

  it("parallel jobs on different clusters lose nothing: each cluster has its own ranges, Entra ID, upgrade channel, Defender, Workload ID, federated credential and policies, and keeps its other settings", () => {
    for (const [leg, c] of clusters) {
      const cluster = fx.azure.store.getManagedCluster(c.resourceGroup, c.clusterName)!;
      const p = cluster.properties as Record<string, Record<string, unknown>>;
      assert.deepEqual(p["apiServerAccessProfile"]!["authorizedIPRanges"], ADMIN_RANGES, leg);
      assert.equal((p["securityProfile"]!["workloadIdentity"] as { enabled: boolean }).enabled, true, leg);
      assert.equal(p["oidcIssuerProfile"]!["enabled"], true, leg);
      assert.equal((p["addonProfiles"]!["azurepolicy"] as { enabled: boolean }).enabled, true, leg);
      assert.equal(p["aadProfile"]!["managed"], true, leg);
      assert.equal(p["disableLocalAccounts"], true as unknown, leg);
      assert.equal(p["autoUpgradeProfile"]!["upgradeChannel"], "patch", leg);
      assert.equal(
        (p["securityProfile"]!["defender"] as { securityMonitoring: { enabled: boolean } }).securityMonitoring.enabled,
        true,
        leg,
      );
      assert.equal(p["networkProfile"]!["networkPlugin"], "azure", `${leg}: a setting no task owns is kept`);
      const identity = fx.azure.store
        .listByType("Microsoft.ManagedIdentity/userAssignedIdentities")
        .find((i) => i.name === c.identityName)!;
      const credentials = fx.azure.store.list(
        `${identity.id}/federatedIdentityCredentials`,
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
      );
      assert.deepEqual(
        credentials.map((f) => [f.properties!["issuer"], f.properties!["subject"]]),
        [[p["oidcIssuerProfile"]!["issuerURL"], "system:serviceaccount:todo:todo-app"]],
        `${leg}: the identity trusts its own cluster's issuer`,
      );
      assert.deepEqual(
        fx.azure.store
          .list(cluster.id, "Microsoft.Authorization/policyAssignments")
          .map((a) => a.name)
          .sort(),
        ["aks-hardening-allowedImages", "aks-hardening-noPrivilegedContainers", "aks-hardening-resourceLimits"],
        leg,
      );
    }
  });

  it("parallel jobs on the same vault lose nothing: every cluster's identity has get,list, the other access policies are as they were, each secret has one version", () => {
    const vault = fx.azure.store.getKeyVault(v.vaultResourceGroup!, v.keyVaultName!)!;
    const policies = vault.properties!["accessPolicies"] as AccessPolicy[];
    const identities = fx.azure.store.listByType("Microsoft.ManagedIdentity/userAssignedIdentities");
    for (const [leg, c] of clusters) {
      const principalId = identities.find((i) => i.name === c.identityName)!.properties!["principalId"] as string;
      assert.deepEqual(policies.find((p) => p.objectId === principalId)?.permissions.secrets?.sort(), ["get", "list"], leg);
    }
    assert.deepEqual(policies.find((p) => p.objectId === BYSTANDER)?.permissions, { secrets: ["get"], keys: ["get"] });
    assert.deepEqual(policies.find((p) => p.objectId === fx.principalObjectId())?.permissions.secrets, ["get", "list", "set", "recover"]);
    assert.equal(policies.length, clusters.length + 2);
    const vaultWrites = first.stageRequests["Harden"]!.filter((r) => r.method === "PUT" && /\/accessPolicies\/add$/.test(r.path));
    assert.equal(vaultWrites.length, clusters.length, "each job made its own grant");
    assert.equal(grantsHeldTogether, clusters.length, "the grants were in flight together");
    for (const name of ["db-url", "db-user", "db-password"]) {
      assert.equal(fx.azure.store.vaultSecret(v.keyVaultName!, name)?.properties.versions.length, 1, name);
    }
  });

  it("each leg's scorecard shows the article's checks failing before the job and passing after it", () => {
    const status = (s: { run?: { stdout: string } }, id: string) =>
      new RegExp(`^\\s+\\[(\\w+)\\] ${id.replace(".", "\\.")}:`, "m").exec(s.run!.stdout)?.[1];
    for (const [leg] of clusters) {
      const steps = first.steps.filter((s) => s.job === `Harden.${leg}` && s.task === "AksHardeningReport@1");
      assert.deepEqual(
        steps.map((s) => s.name),
        ["before", "after"],
        leg,
      );
      for (const id of [
        "apiServer.access",
        "identity.workloadIdentity",
        "identity.entraId",
        "identity.localAccounts",
        "policy.addon",
        "policy.builtIns",
        "cluster.autoUpgrade",
        "cluster.defender",
      ]) {
        assert.equal(status(steps[0]!, id), "FAIL", `${leg} ${id} before`);
        assert.equal(status(steps[1]!, id), "PASS", `${leg} ${id} after`);
      }
    }
  });

  it("a second run of the fleet changes nothing lasting and every step reports changed=false: only the closed vault is opened to the agent for the secrets job, and closed again", () => {
    assert.ok(second.succeeded);
    const { vaultResourceGroup, keyVaultName } = fleetPipeline.variables;
    const jobScoped = new RegExp(`/vaults/${keyVaultName}(/providers/Microsoft\\.Resources/links/aks-hardening-job-[\\w-]+)?$`, "i");
    for (const [stage, requests] of Object.entries(second.stageRequests)) {
      const writes = requests.filter(isWriteRequest);
      if (stage !== "Secrets") assert.deepEqual(writes, [], stage);
      else
        assert.ok(writes.length > 0 && writes.every((w) => jobScoped.test(w.path)), writes.map((w) => `${w.method} ${w.path}`).join(", "));
    }
    const acls = fx.azure.store.getKeyVault(vaultResourceGroup!, keyVaultName!)!.properties!["networkAcls"] as {
      defaultAction: string;
      ipRules: { value: string }[];
    };
    assert.equal(acls.defaultAction, "Deny");
    assert.equal(acls.ipRules.length, clusters.length, "one rule per cluster's egress; the agent's is gone");
    for (const s of second.steps.filter((step) => step.kind === "main"))
      assert.equal(s.run!.outputs["changed"], "false", `${s.job} / ${s.displayName}`);
  });

  it("the fleet's log reads cleanly, and its table names each step with its matrix leg", () => {
    const lines = first.steps.flatMap(stepLog).filter((line) => !line.startsWith("   │"));
    assert.deepEqual(readableLogProblems(lines), []);
    const table = runTable(first).join("\n");
    for (const [leg] of clusters)
      assert.match(table, new RegExp(`Harden / Harden\\.${leg} / Workload ID for the app's pods +ok +true +\\(stage\\)`));
  });
});
