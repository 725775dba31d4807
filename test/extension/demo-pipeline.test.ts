import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture } from "../harness/fixture";
import {
  DEMO_VALUES,
  DEMO_AGENT_IP,
  DEMO_BLOCKED_PROBES,
  DEMO_VARIABLES,
  hardeningPipeline,
  seedLocalAzure,
} from "../../scripts/demo-pipeline";
import { demoRunOptions, gateVerdict } from "../../scripts/demo-run";
import type { DeployOutcome } from "../../scripts/demo-deploy";
import { runPipeline, type PipelineRun, type StepResult } from "../../scripts/pipeline-runner";
import { isWriteRequest, runTable, scorecard, stepLog } from "../../scripts/demo-log";
import { readableLogProblems } from "../harness/readable-log";

describe("test/extension/demo-pipeline", () => {
  const v = hardeningPipeline.variables as Record<string, string>;
  const SECRETS = {
    dbUrl: `jdbc:sqlserver://todo-sql.database.windows.net:1433;database=todo;x=${randomUUID()}`,
    dbUser: `todoadmin-${randomUUID().slice(0, 8)}`,
    dbPassword: `P@ss=${randomUUID()}`,
  };
  const ADMIN_RANGES = ["203.0.113.0/24", "198.51.100.14/32"];

  let fx: Fixture;
  let first: PipelineRun;
  let second: PipelineRun;
  /** The API server's ranges when the deploy placeholder ran, per run. */
  const rangesAtDeploy: string[][] = [];
  /** The deploy step's sign-in and what the API server allowed it, per run. */
  const deploys: DeployOutcome[] = [];
  const deployScripts: string[] = [];

  function ranges(): string[] {
    const cluster = fx.azure.store.getManagedCluster(v.resourceGroup!, v.clusterName!);
    return (cluster?.properties?.["apiServerAccessProfile"] as { authorizedIPRanges?: string[] } | undefined)?.authorizedIPRanges ?? [];
  }

  async function runOnce(): Promise<PipelineRun> {
    const options = demoRunOptions(fx, { plain: false });
    return runPipeline(fx, hardeningPipeline, {
      ...options,
      secrets: SECRETS,
      variables: DEMO_VARIABLES,
      external: async (step, inputs) => {
        if (step.task !== "AzureCLI@2") return options.external!(step, inputs);
        rangesAtDeploy.push(ranges());
        deployScripts.push(inputs.inlineScript ?? "");
        const outcome = (await options.external!(step, inputs)) as DeployOutcome;
        deploys.push(outcome);
        return outcome;
      },
    });
  }

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.secrets.push(...Object.values(SECRETS));
    seedLocalAzure(fx.azure, fx.principalObjectId());
    first = await runOnce();
    second = await runOnce();
  });
  after(async () => {
    await fx?.close();
  });

  function step(run: PipelineRun, name: string, kind: StepResult["kind"] = "main"): StepResult {
    const found = run.steps.find((s) => s.name === name && s.kind === kind);
    assert.ok(found, `no ${kind} step ${name}`);
    return found;
  }

  /** ARM writes: PUT/PATCH/DELETE and POST actions other than those that only read (demo-log's rule). */
  function armWrites(s: StepResult) {
    return s.requests.filter((r) => isWriteRequest(r) && !r.host.includes(".vault.azure.net"));
  }

  function vaultWrites(s: StepResult) {
    return s.requests.filter((r) => isWriteRequest(r) && r.host.includes(".vault.azure.net"));
  }

  it("the pipeline runs the cluster's settings, then the article's steps in its order, every one succeeding, the agent's access closed after the deploy job", () => {
    assert.deepEqual(
      first.steps.map((s) => `${s.stage}/${s.task}/${s.kind}`),
      [
        "Assess/AksHardeningReport@1/main",
        "Cluster/SecureClusterAccess@1/main",
        "Cluster/ConfigureAutoUpgrade@1/main",
        "Cluster/EnableDefender@1/main",
        "IdentityAndSecrets/EnablePodIdentity@1/main",
        "IdentityAndSecrets/KeyVaultSecrets@1/main",
        "IdentityAndSecrets/ProtectKeyVault@1/main",
        "IdentityAndSecrets/KeyVaultSecrets@1/post",
        "Deploy/RestrictApiServer@1/main",
        "Deploy/KubeloginInstaller@0/external",
        "Deploy/AzureCLI@2/external",
        "Deploy/RestrictApiServer@1/post",
        "Policies/AssignAksPolicies@1/main",
        "Verify/AksHardeningReport@1/main",
      ],
    );
    for (const s of first.steps) {
      assert.ok(s.succeeded, `${s.displayName}: ${s.run?.resultMessage}\n${s.run?.stdout}`);
      if (s.run) fx.assertNoSecretsIn(s.run);
    }
    assert.ok(first.succeeded);
  });

  it("outputs flow: the identity's principalId is KeyVaultSecrets' grantTo, its clientId reaches the deploy stage", () => {
    const identity = fx.azure.store.listByType("Microsoft.ManagedIdentity/userAssignedIdentities").find((i) => i.name === v.identityName)!;
    const principalId = identity.properties!["principalId"] as string;
    const clientId = identity.properties!["clientId"] as string;
    assert.equal(step(first, "identity").run!.outputs["principalId"], principalId);
    assert.equal(step(first, "secrets").inputs["grantTo"], principalId);
    const vault = fx.azure.store.getKeyVault(v.resourceGroup!, v.keyVaultName!)!;
    const policies = vault.properties!["accessPolicies"] as { objectId: string; permissions: { secrets?: string[] } }[];
    assert.deepEqual(policies.find((p) => p.objectId === principalId)?.permissions.secrets?.sort(), ["get", "list"]);
    assert.equal(first.outputs["IdentityAndSecrets.Identity.identity.clientId"], clientId);
    assert.match(deployScripts[0]!, new RegExp(`azure\\.workload\\.identity/client-id=${clientId}`));
  });

  it("the article's secrets are in the vault, the API server admitted the agent during the deploy job only, the policies are assigned in Deny", () => {
    assert.equal(fx.azure.store.vaultSecret(v.keyVaultName!, "db-url")?.properties.versions.at(-1)?.value, SECRETS.dbUrl);
    assert.equal(fx.azure.store.vaultSecret(v.keyVaultName!, "db-user")?.properties.versions.at(-1)?.value, SECRETS.dbUser);
    assert.equal(fx.azure.store.vaultSecret(v.keyVaultName!, "db-password")?.properties.versions.at(-1)?.value, SECRETS.dbPassword);
    assert.deepEqual(rangesAtDeploy[0], [...ADMIN_RANGES, `${DEMO_AGENT_IP}/32`]);
    assert.deepEqual(ranges(), ADMIN_RANGES);
    const assignments = fx.azure.store.listByType("Microsoft.Authorization/policyAssignments");
    assert.deepEqual(assignments.map((a) => a.name).sort(), [
      "aks-hardening-allowedImages",
      "aks-hardening-noPrivilegedContainers",
      "aks-hardening-resourceLimits",
    ]);
    for (const a of assignments)
      assert.deepEqual((a.properties!["parameters"] as Record<string, { value: unknown }>)["effect"], { value: "Deny" });
  });

  it("the hardening report fails the article's checks before the hardening and passes them after it (as a gate), writing nothing", () => {
    const article = ["apiServer.access", "identity.workloadIdentity", "policy.addon", "policy.builtIns"];
    const status = (s: StepResult, id: string) => new RegExp(`^\\s+\\[(\\w+)\\] ${id.replace(".", "\\.")}:`, "m").exec(s.run!.stdout)?.[1];
    const before = step(first, "before");
    const after = step(first, "after");
    for (const id of article) {
      assert.equal(status(before, id), "FAIL", `${id} before`);
      assert.equal(status(after, id), "PASS", `${id} after`);
    }
    assert.equal(after.inputs["failOn"], "error");
    assert.equal(after.run!.outputs["failed"], "0");
    assert.match(after.run!.summaries[0]!, /^### AKS hardening report\\?: aks-todo-app\n\n\*\*\d+ passed · \d+ warnings? · 0 failed\*\* —/);
    assert.match(before.run!.outputs["failedChecks"]!, /apiServer\.access,identity\.workloadIdentity,policy\.addon,policy\.builtIns/);
    for (const run of [first, second]) {
      for (const s of run.steps.filter((x) => x.task === "AksHardeningReport@1")) {
        assert.deepEqual(armWrites(s), [], `${s.displayName} wrote to ARM`);
        assert.deepEqual(vaultWrites(s), [], `${s.displayName} wrote to Key Vault`);
      }
    }
  });

  it("the cluster stage adds what the platform template lacks (the deploy job's role, the maintenance windows, the Containers plan) and keeps the template's settings", () => {
    const cluster = fx.azure.store.getManagedCluster(v.resourceGroup!, v.clusterName!)!;
    const grants = fx.azure.store
      .listByType("Microsoft.Authorization/roleAssignments")
      .filter((a) => String(a.properties!["scope"]).toLowerCase() === `${cluster.id}/namespaces/${v.appNamespace}`.toLowerCase());
    assert.deepEqual(
      grants.map((g) => [String(g.properties!["roleDefinitionId"]).split("/").pop(), g.properties!["principalId"]]),
      [["a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", fx.principalObjectId()]],
      "AKS RBAC Writer for the service connection in the app's namespace",
    );
    assert.deepEqual(
      fx.azure.store
        .listByType("Microsoft.ContainerService/managedClusters/maintenanceConfigurations")
        .map((c) => c.name)
        .sort(),
      ["aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"],
    );
    assert.equal(
      fx.azure.store.listByType("Microsoft.Security/pricings").find((p) => p.name === "Containers")?.properties?.["pricingTier"],
      "Standard",
    );
    const p = cluster.properties!;
    assert.deepEqual(p["networkProfile"] && (p["networkProfile"] as Record<string, unknown>)["networkPolicy"], "cilium");
    assert.deepEqual(p["autoUpgradeProfile"], { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" });
    assert.equal((p["aadProfile"] as { adminGroupObjectIDs: string[] }).adminGroupObjectIDs.join(), DEMO_VALUES.aksAdminGroupObjectId);
    for (const name of ["access", "upgrades", "defender"]) assert.equal(step(first, name).run!.outputs["changed"], "true", name);
  });

  it("the deploy job signs in through kubelogin as the service connection, with the Writer role the cluster stage granted; --admin is refused", () => {
    for (const deploy of deploys) {
      assert.deepEqual(deploy.allowed, [true, true]);
      assert.equal(deploy.adminCredentialStatus, 400);
    }
    assert.match(deployScripts[0]!, /^kubelogin convert-kubeconfig -l azurecli$/m);
    assert.ok(deployScripts[0]!.indexOf("kubelogin") < deployScripts[0]!.indexOf("kubectl"), "kubelogin before the first kubectl");
    assert.match(deployScripts[0]!, /^kubectl auth can-i create deployments --namespace todo$/m);
  });

  it("the Verify gate passes with every verdict shown: the template's Cilium passes network.policy, nothing fails or is skipped", () => {
    for (const run of [first, second]) {
      const verdict = gateVerdict(run);
      assert.deepEqual(verdict.problems, [], "nothing failed, skipped or unknown");
      assert.deepEqual(
        verdict.checks.filter((l) => l.status === "FAIL"),
        [],
      );
      assert.equal(verdict.checks.find((l) => l.check === "network.policy")?.status, "PASS");
      assert.equal(step(run, "after").inputs["failOn"], "error");
      assert.doesNotMatch(step(run, "after").inputs["skipChecks"] ?? "", /network\.policy/, "the demo does not skip the report-only check");
    }
    assert.equal(scorecard(step(first, "before").run!).find((l) => l.check === "network.policy")?.status, "PASS");
  });

  it("the deploy step goes on only once the API server admits the agent, and the restrict step's log shows the wait", () => {
    assert.deepEqual(
      deploys.map((d) => d.admitted),
      [true, true],
      "the ranges were in force, not just written, when the deploy step ran",
    );
    // First run: the API server was open to every address, so the agent was never shut out.
    assert.match(
      step(first, "apiServer").run!.stdout,
      /The API server \S+\.azmk8s\.io admits this agent: 3 probes in a row, each over a new connection \(HTTP 401\)/,
    );
    // Second run: the list in force no longer holds the agent (the last post-job step closed it), so the new entry must propagate.
    const log = step(second, "apiServer").run!.stdout;
    assert.match(log, /Waiting for the API server \S+\.azmk8s\.io to admit this agent/);
    assert.match(
      log,
      new RegExp(
        `admitted this agent after \\S+ (ms|s) \\(${DEMO_BLOCKED_PROBES + 3} probes; the last 3 in a row, each over a new connection; HTTP 401\\)`,
      ),
    );
  });

  it("job-scoped access is reported apart from changed: an output, a summary line, and the post-job step's own outcome", () => {
    assert.equal(step(first, "apiServer").run!.outputs["changed"], "true", "the first run sets the admin ranges");
    for (const run of [first, second]) {
      const main = step(run, "apiServer").run!;
      assert.equal(main.outputs["jobScopedAccess"], `${DEMO_AGENT_IP}/32`);
      assert.match(main.summaries[0]!, /opened for this job, closed by the post-job step/);
      const post = step(run, "apiServer", "post").run!;
      assert.match(post.summaries[0]!, new RegExp(`\\*\\*Closed job-scoped access: ${DEMO_AGENT_IP.replace(/\./g, "\\.")}/32\\*\\*`));
      assert.match(post.summaries[0]!, /Closed: `[\d.]+\/32` \(opened for this job\)/);
    }
  });

  it("a second run changes no lasting setting: changed=false everywhere; the job-scoped access is its hold and one conditional cluster PUT to open it, and one to close it", () => {
    assert.ok(second.succeeded);
    for (const s of second.steps) {
      if (s.run) fx.assertNoSecretsIn(s.run);
      assert.deepEqual(vaultWrites(s), [], `${s.displayName} wrote to Key Vault`);
      if (s.kind === "main") assert.equal(s.run!.outputs["changed"], "false", `${s.displayName} changed something`);
      if (s.name === "apiServer") continue;
      if (s.name === "secrets") {
        // The vault's firewall denies by default since ProtectKeyVault@1: the agent's address, opened for the job and closed after it.
        const vaultPath = new RegExp(`/vaults/${v.keyVaultName}(/providers/Microsoft\\.Resources/links/aks-hardening-job-[\\w-]+)?$`, "i");
        const writes = armWrites(s);
        assert.ok(
          writes.length > 0 && writes.every((w) => vaultPath.test(w.path)),
          `${s.displayName}: ${writes.map((w) => w.path).join(", ")}`,
        );
        continue;
      }
      assert.deepEqual(armWrites(s), [], `${s.displayName} wrote to ARM`);
    }
    const clusterPath = `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${v.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${v.clusterName}`;
    const hold = (path: string) => path.toLowerCase().startsWith(`${clusterPath.toLowerCase()}/providers/microsoft.resources/links/`);
    for (const [kind, holdWrites] of [
      ["main", ["PUT"]],
      ["post", ["PUT", "DELETE"]],
    ] as const) {
      const writes = armWrites(step(second, "apiServer", kind));
      const clusterWrites = writes.filter((w) => !hold(w.path));
      assert.equal(clusterWrites.length, 1, `${kind}: one cluster write`);
      assert.equal(clusterWrites[0]!.method, "PUT");
      assert.equal(clusterWrites[0]!.path.toLowerCase(), clusterPath.toLowerCase());
      assert.ok(clusterWrites[0]!.ifMatch, "the write is conditional (If-Match)");
      assert.deepEqual(
        writes.filter((w) => hold(w.path)).map((w) => w.method),
        holdWrites,
        `${kind}: the job's hold (a resource link) is written${kind === "post" ? ", released and deleted" : ""}`,
      );
    }
    assert.equal(step(second, "apiServer").run!.outputs["authorizedIpRanges"], [...ADMIN_RANGES, `${DEMO_AGENT_IP}/32`].join(","));
    assert.deepEqual(rangesAtDeploy[1], [...ADMIN_RANGES, `${DEMO_AGENT_IP}/32`]);
    assert.deepEqual(ranges(), ADMIN_RANGES, "the admin ranges are what remains");
    for (const name of ["db-url", "db-user", "db-password"]) {
      assert.equal(fx.azure.store.vaultSecret(v.keyVaultName!, name)?.properties.versions.length, 1, `${name}: no new version`);
    }
  });

  it("the demo's log reads cleanly from top to bottom: no markup, no bare 'yaml', counts with their plurals", () => {
    for (const run of [first, second]) {
      // What the demo prints, without the boxed job summaries (those are the summary page's markdown, shown as such).
      const lines = run.steps.flatMap(stepLog).filter((line) => !line.startsWith("   │"));
      assert.deepEqual(readableLogProblems(lines), []);
      if (run === first) {
        assert.ok(
          lines.some((line) => /^ {3}Azure: \d+ Resource Manager requests \(1 write\)/.test(line)),
          "one write is '1 write'",
        );
      }
      // The Kubernetes snippet is indented YAML, not a fenced block.
      assert.ok(lines.some((line) => /^\s+azure\.workload\.identity\/client-id: "[0-9a-f-]{36}"$/.test(line)));
    }
    assert.deepEqual(
      readableLogProblems(["  OIDC issuer: _off_ → enabled", "    yaml", "(1 writes)", "2 write", "`x`", "an AzureCLI@2 step"]).length,
      5,
      "the reader notices (and a task's major version is no count)",
    );
  });

  it("the demo's table shows every step's whole name", () => {
    const table = runTable(first).join("\n");
    for (const s of first.steps) assert.ok(table.includes(`${s.stage} / ${s.job} / ${s.displayName}`), `${s.displayName} is cut`);
  });

  it("Key Vault's 401 challenge is labelled as such in the request log, and no other 401 is", () => {
    const lines = stepLog(step(first, "secrets"));
    const challenged = lines.filter((line) => / → 401\b/.test(line));
    assert.ok(challenged.length > 0, "the vault challenged the client");
    for (const line of challenged)
      assert.match(line, /→ 401 {2}\(Key Vault's sign-in challenge: normal, the client then sends the request again with a token\)$/);
    assert.ok(!stepLog(step(first, "identity")).some((line) => /challenge/.test(line)));
  });
});
