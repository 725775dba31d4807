import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture } from "../harness/fixture";
import { DEMO_VALUES, DEMO_VARIABLES, hardeningPipeline, REPORT_ONLY_CHECKS, seedPlain } from "../../scripts/demo-pipeline";
import { demoRunOptions, gateVerdict } from "../../scripts/demo-run";
import type { DeployOutcome } from "../../scripts/demo-deploy";
import { runPipeline, type PipelineRun, type StepResult } from "../../scripts/pipeline-runner";
import { isWriteRequest, scorecard, stepLog } from "../../scripts/demo-log";
import { readableLogProblems } from "../harness/readable-log";
import type { ArmResource } from "../../local-azure/index";

/**
 * `npm run demo -- --plain`: the sample's pipeline against a cluster as `az aks create` leaves it and
 * a new key vault, run as the demo runs it (scripts/demo-run.ts), twice.
 */
describe("test/extension/plain-demo", () => {
  const v = hardeningPipeline.variables as Record<string, string>;
  const SECRETS = {
    dbUrl: `jdbc:sqlserver://todo;x=${randomUUID()}`,
    dbUser: `todoadmin-${randomUUID().slice(0, 8)}`,
    dbPassword: `P@ss=${randomUUID()}`,
  };

  let fx: Fixture;
  const runs: PipelineRun[] = [];
  const deploys: DeployOutcome[] = [];
  /** Every resource of the subscription after each run, as a reader of Azure would compare them. */
  const states: Record<string, unknown>[] = [];

  /** The store's resources without what every write renews (eTags), keyed by lower-case ID. */
  function lastingState(): Record<string, unknown> {
    const strip = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(strip)
        : value && typeof value === "object"
          ? Object.fromEntries(
              Object.entries(value)
                .filter(([k]) => k.toLowerCase() !== "etag")
                .map(([k, x]) => [k, strip(x)]),
            )
          : value;
    return Object.fromEntries(fx.azure.store.list(`/subscriptions/${fx.azure.subscriptionId}`).map((r) => [r.id.toLowerCase(), strip(r)]));
  }

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.secrets.push(...Object.values(SECRETS));
    seedPlain(fx.azure, fx.principalObjectId());
    const options = demoRunOptions(fx, { plain: true });
    for (let i = 0; i < 2; i++) {
      runs.push(
        await runPipeline(fx, hardeningPipeline, {
          ...options,
          secrets: SECRETS,
          variables: DEMO_VARIABLES,
          external: async (step, inputs) => {
            const outcome = (await options.external!(step, inputs)) as DeployOutcome;
            if (step.task === "AzureCLI@2") deploys.push(outcome);
            return outcome;
          },
        }),
      );
      states.push(lastingState());
    }
  });
  after(async () => {
    await fx?.close();
  });

  const cluster = () => fx.azure.store.getManagedCluster(v.resourceGroup!, v.clusterName!)!.properties!;
  const report = (run: PipelineRun, name: string) => run.steps.find((s) => s.name === name && s.kind === "main")!.run!;

  it("every step of both runs succeeds, every task's output free of secrets", () => {
    for (const run of runs) {
      assert.ok(run.succeeded);
      for (const s of run.steps) {
        assert.ok(s.succeeded, `${s.displayName}: ${s.run?.resultMessage}\n${s.run?.stdout}`);
        if (s.run) fx.assertNoSecretsIn(s.run);
      }
    }
  });

  it("the first Assess shows how far a default cluster starts: eleven checks fail, each with the task that fixes it, or report-only", () => {
    const lines = scorecard(report(runs[0]!, "before"));
    const failed = lines.filter((l) => l.status === "FAIL");
    assert.deepEqual(
      failed.map((l) => l.check),
      [
        "apiServer.access",
        "identity.workloadIdentity",
        "identity.localAccounts",
        "identity.entraId",
        "policy.addon",
        "policy.builtIns",
        "network.policy",
        `keyVault.network (${v.keyVaultName})`,
        `keyVault.privateEndpoint (${v.keyVaultName})`,
        "cluster.autoUpgrade",
        "cluster.defender",
      ],
    );
    for (const l of failed) {
      const task = /^(\w+@1) /.exec(l.fix ?? "")?.[1];
      if (REPORT_ONLY_CHECKS.includes(l.check)) assert.match(l.fix!, /^by hand: .*report-only/);
      else
        assert.ok(
          task && hardeningPipeline.stages.some((s) => s.jobs.some((j) => j.steps.some((x) => x.task === task))),
          `${l.check}: ${l.fix}`,
        );
    }
    assert.deepEqual(
      lines.filter((l) => l.status === "PASS").map((l) => l.check),
      [`keyVault.permissionModel (${v.keyVaultName})`, "cluster.version"],
    );
    assert.equal(lines.find((l) => l.check === "identity.azureRbac")?.status, "WARN", "Kubernetes RBAC only");
  });

  it("the Verify scorecard fails only the report-only check, with its reason; everything else the pipeline does passes or is noted", () => {
    for (const run of runs) {
      const verdict = gateVerdict(run);
      assert.deepEqual(verdict.problems, []);
      assert.ok(verdict.honest);
      const failed = verdict.checks.filter((l) => l.status === "FAIL");
      assert.deepEqual(
        failed.map((l) => l.check),
        REPORT_ONLY_CHECKS,
      );
      assert.match(failed[0]!.finding, /^No network policy engine \(network plugin azure\)/);
      assert.match(failed[0]!.fix!, /report-only, as it reimages every node pool at the same time/);
      assert.deepEqual(
        verdict.checks.filter((l) => l.status === "SKIPPED" || l.status === "UNKNOWN"),
        [],
      );
      assert.equal(verdict.checks.find((l) => l.check === `keyVault.network (${v.keyVaultName})`)?.status, "PASS");
      // Noted, not failed: no task adds a private endpoint or purge protection here, and egress stays the load balancer's.
      assert.deepEqual(
        verdict.checks.filter((l) => l.status === "WARN").map((l) => l.check),
        ["policy.compliance", "network.outbound", `keyVault.privateEndpoint (${v.keyVaultName})`, `keyVault.recovery (${v.keyVaultName})`],
      );
      assert.ok(verdict.lines.some((line) => /^ {2}failed network\.policy, report-only by design: No network policy engine/.test(line)));
      // The demo reports the gate rather than gating: it does not skip the report-only check.
      assert.equal(report(run, "after").outputs["failedChecks"], "network.policy");
      assert.equal(run.steps.find((s) => s.name === "after")!.inputs["failOn"], "never");
    }
  });

  it("the cluster ends hardened as the pipeline asks, and keeps what az aks create gave it that no task owns", () => {
    const now = cluster();
    assert.deepEqual(now["aadProfile"], {
      managed: true,
      enableAzureRBAC: true,
      adminGroupObjectIDs: [DEMO_VALUES.aksAdminGroupObjectId],
      clientAppID: null,
      serverAppID: null,
      tenantID: fx.azure.tenantId,
    });
    assert.equal(now["disableLocalAccounts"], true);
    assert.deepEqual(now["oidcIssuerProfile"] && (now["oidcIssuerProfile"] as { enabled: boolean }).enabled, true);
    assert.deepEqual((now["securityProfile"] as { workloadIdentity?: unknown }).workloadIdentity, { enabled: true });
    assert.deepEqual((now["securityProfile"] as { defender?: { securityMonitoring: unknown } }).defender?.securityMonitoring, {
      enabled: true,
    });
    assert.deepEqual((now["apiServerAccessProfile"] as { authorizedIPRanges: string[] }).authorizedIPRanges, [
      "203.0.113.0/24",
      "198.51.100.14/32",
    ]);
    assert.deepEqual((now["addonProfiles"] as Record<string, { enabled: boolean }>)["azurepolicy"]?.enabled, true);
    assert.deepEqual(now["autoUpgradeProfile"], { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" });
    const network = now["networkProfile"] as Record<string, unknown>;
    assert.deepEqual([network["networkPlugin"], network["networkPluginMode"], network["networkPolicy"]], ["azure", "overlay", undefined]);
    assert.equal(
      fx.azure.store.listByType("Microsoft.Security/pricings").find((p) => p.name === "Containers")?.properties?.["pricingTier"],
      "Standard",
    );
    const windows = fx.azure.store
      .listByType("Microsoft.ContainerService/managedClusters/maintenanceConfigurations")
      .map((c: ArmResource) => c.name)
      .sort();
    assert.deepEqual(windows, ["aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"]);
    // The vault lets the cluster's egress in and denies everyone else; the agent's job-scoped rule is gone again.
    const egress = (network["loadBalancerProfile"] as { effectiveOutboundIPs: { id: string }[] }).effectiveOutboundIPs.map(
      (ip) => `${String(fx.azure.store.get(ip.id)!.properties!["ipAddress"])}/32`,
    );
    const acls = fx.azure.store.getKeyVault(v.resourceGroup!, v.keyVaultName!)!.properties!["networkAcls"] as {
      defaultAction: string;
      ipRules: { value: string }[];
    };
    assert.equal(acls.defaultAction, "Deny");
    assert.deepEqual(
      acls.ipRules.map((r) => (r.value.includes("/") ? r.value : `${r.value}/32`)),
      egress,
    );
  });

  it("the deploy job signs in as a cluster without local accounts needs: through kubelogin, with the role the pipeline granted; --admin is refused", () => {
    assert.equal(deploys.length, 2);
    for (const deploy of deploys) {
      assert.equal(deploy.admitted, true);
      assert.deepEqual(deploy.allowed, [true, true]);
      assert.equal(deploy.adminCredentialStatus, 400);
      assert.ok(deploy.lines.some((l) => /^\s+\$ kubelogin convert-kubeconfig -l azurecli$/.test(l)));
    }
  });

  it("a second run writes nothing lasting: every resource is as the first run left it, only job-scoped access opened and closed", () => {
    assert.deepEqual(states[1], states[0]);
    const second = runs[1]!;
    /** The API server's and the closed vault's firewall, and the holds on them: what job-scoped access writes. */
    const jobScoped = new RegExp(
      `/(managedClusters/${v.clusterName}|vaults/${v.keyVaultName})(/providers/Microsoft\\.Resources/links/aks-hardening-job-[\\w-]+)?$`,
      "i",
    );
    for (const s of second.steps) {
      if (s.kind === "main") assert.equal(s.run!.outputs["changed"], "false", `${s.displayName} changed something`);
      const written = s.requests.filter(isWriteRequest);
      if (s.name === "apiServer" || s.name === "secrets") {
        assert.ok(
          written.length > 0 && written.every((w) => jobScoped.test(w.path)),
          `${s.displayName}: ${written.map((w) => w.path).join(", ")}`,
        );
        continue;
      }
      assert.deepEqual(
        written.map((w) => `${w.method} ${w.path}`),
        [],
        `${s.displayName} wrote`,
      );
    }
    for (const name of ["db-url", "db-user", "db-password"])
      assert.equal(fx.azure.store.vaultSecret(v.keyVaultName!, name)?.properties.versions.length, 1, `${name}: one version`);
  });

  it("the plain demo's log reads cleanly", () => {
    const lines = runs.flatMap((run) => run.steps.flatMap((s: StepResult) => stepLog(s))).filter((line) => !line.startsWith("   │"));
    assert.deepEqual(readableLogProblems(lines), []);
  });
});
