import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "mocha";
import { Fixture } from "../harness/fixture";
import { RecordingProxy } from "../harness/proxy";
import { runStep, type StepRun } from "../harness/agent";
import { LEGACY_HOLDS_TAG } from "../../core/job-scoped-access/ledger";

/**
 * Text from inputs and from Azure reaches the log and the job summary. The agent runs a logging
 * command found anywhere in a line of stdout or stderr (azure-pipelines-agent Command.TryParse:
 * `IndexOf("##vso[")`, culture-sensitive, so ignorable characters between its characters still
 * match), and the summary page renders markdown and HTML. These tests feed each task such text
 * and check that nothing of it commands the agent or renders as markup.
 */

/** A command that would set a pipeline variable, in the shapes a hostile value can take. */
const SET_VARIABLE = "##vso[task.setvariable variable=pwned;isOutput=false]owned";
const PAYLOADS = [
  SET_VARIABLE,
  "  ##VSO[task.setvariable variable=pwned]owned",
  "##\u00advso[task.setvariable variable=pwned]owned",
  "#\u200b#vso[task.prependpath]/tmp/evil",
  "##[error]forged error line",
];
/** Characters ICU collation ignores, dropped as the agent's culture-sensitive IndexOf would skip them. */
const IGNORABLE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const TASK_LIB_COMMAND = /^##vso\[(\w+\.\w+)[ \]]/;

describe("test/tasks/hostile-data", () => {
  const RG = "rg-hostile";
  let fx: Fixture;
  let clusterCount = 0;

  /**
   * Every line of output, read as the agent reads it: a `##vso[` anywhere (in any case, across
   * ignorable characters) must be the start of one of task-lib's own commands at the start of the
   * line, a setvariable only for the task's outputs; and no line carries a `##[` formatting command.
   */
  function assertNoForgedCommands(run: StepRun, outputs: readonly string[]): void {
    for (const [i, raw] of run.lines.entries()) {
      const line = raw.replace(IGNORABLE, "");
      const at = [...line.matchAll(/##vso\[/gi)].map((m) => m.index);
      const own = TASK_LIB_COMMAND.exec(line);
      assert.ok(
        at.length === 0 || (at.length === 1 && at[0] === 0 && own),
        `output line ${i + 1} carries a logging command the task did not mean: ${raw}`,
      );
      assert.ok(!/##\[/.test(line), `output line ${i + 1} carries a ##[ formatting command: ${raw}`);
    }
    for (const command of run.commands.filter((c) => c.area === "task" && c.action === "setvariable")) {
      assert.ok(outputs.includes(command.properties.variable ?? ""), `setvariable of '${command.properties.variable}'`);
    }
    assert.ok(!run.commands.some((c) => c.action === "prependpath"), "no prependpath");
  }

  /** Markdown with its code spans taken out: inside them markup and HTML show as typed. */
  function outsideCode(markdown: string): string {
    return markdown.replace(/`[^`]*`/g, "");
  }

  function newCluster(overrides = {}): { name: string; id: string } {
    const name = `aks-hostile-${++clusterCount}`;
    const cluster = fx.azure.store.addManagedCluster(RG, name, overrides);
    fx.azure.faults.clear();
    fx.azure.clearRequests();
    return { name, id: cluster.id };
  }

  describe("hostile text from inputs and from Azure", () => {
    before(async () => {
      fx = await Fixture.start({ operationPolls: 0 });
    });
    after(async () => {
      await fx?.close();
    });

    describe("job-scoped holds planted by someone who may only write tags (Tag Contributor)", () => {
      const planted = (name: string, value: string) => {
        const cluster = fx.azure.store.getManagedCluster(RG, name)!;
        fx.azure.store.put({ ...cluster, tags: { owner: "team-a", [LEGACY_HOLDS_TAG]: value } });
      };
      const ranges = (name: string) =>
        (fx.azure.store.getManagedCluster(RG, name)?.properties?.["apiServerAccessProfile"] as { authorizedIPRanges: string[] })
          .authorizedIPRanges;
      const namedInWarning = (run: StepRun, value: string) =>
        run.warnings.some((w) => w.startsWith("Ignored an untrusted job-scoped hold on managed cluster") && w.includes(`says '${value}'`));

      it("RestrictApiServer: an expired hold in the cluster's tag on an administrator's /24 → kept: both steps name the hold in a warning, nothing is closed, changed=false", async () => {
        const { name } = newCluster({ properties: { apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24", "10.1.0.0/16"] } } });
        const value = "203.0.113.0/24 3f9a1c2b 2020-01-01T00:00Z";
        planted(name, value);
        fx.azure.publicIp = "198.51.100.40";
        const job = await fx.runJob("RestrictApiServer", {
          inputs: {
            resourceGroupName: RG,
            clusterName: name,
            action: "add",
            includeAgentIp: true,
            agentIpServiceUrl: `${fx.azure.url}/ip`,
          },
        });
        for (const run of [job.main, job.post]) {
          assert.equal(run.result, "Succeeded", run.resultMessage);
          assert.ok(namedInWarning(run, value), run.warnings.join("\n"));
          assert.doesNotMatch(run.summaries[0]!, /left behind|Closed: `203\.0\.113/);
        }
        assert.equal(job.main.outputs["changed"], "false");
        assert.deepEqual(ranges(name), ["203.0.113.0/24", "10.1.0.0/16"]);
      });

      it("RestrictApiServer: a hold until 2999 in the tag on an address → not kept: set removes the address, says so and names the hold", async () => {
        const { name } = newCluster({
          properties: { apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24", "198.51.100.99/32"] } },
        });
        const value = "198.51.100.99/32 3f9a1c2b 2999-01-01T00:00Z";
        planted(name, value);
        const run = await fx.run("RestrictApiServer", {
          inputs: { resourceGroupName: RG, clusterName: name, action: "set", authorizedIpRanges: "203.0.113.0/24" },
        });
        assert.equal(run.result, "Succeeded", run.resultMessage);
        assert.ok(namedInWarning(run, value), run.warnings.join("\n"));
        assert.deepEqual(ranges(name), ["203.0.113.0/24"]);
        assert.equal(run.outputs["changed"], "true");
        assert.match(run.summaries[0]!, /Removed: `198\.51\.100\.99\/32`/);
      });
    });

    for (const debug of [false, true]) {
      const variables: Record<string, string> = debug ? { "System.Debug": "true" } : {};
      const mode = debug ? " (system.debug)" : "";

      it(`AssignAksPolicies: allowedImagesRegex holding ##vso[task.setvariable …], ##vso[task.prependpath …] or ##[error], in any case, across invisible characters${mode} → printed with ** instead of ##; no command but its own`, async () => {
        const { name } = newCluster({ properties: { addonProfiles: { azurepolicy: { enabled: true } } } });
        for (const payload of PAYLOADS) {
          // A valid RE2 expression: the payload's brackets are character classes.
          const run = await fx.run("AssignAksPolicies", {
            inputs: { resourceGroupName: RG, clusterName: name, policies: "allowedImages", allowedImagesRegex: `^(${payload})$` },
            variables,
          });
          fx.assertSucceeded(run);
          assertNoForgedCommands(run, ["policyAssignmentIds", "changed"]);
          assert.match(run.stdout, /\*\*(vso)?\[/i, "the value itself is still shown, neutralised");
        }
      });

      it(`AssignAksPolicies: assignment and definition display names and a 403 message from Azure holding logging commands, a markdown link, <img onerror>${mode} → no command but its own; the summary shows them as text`, async () => {
        const { name, id } = newCluster({ properties: { addonProfiles: { azurepolicy: { enabled: true } } } });
        const displayName = `Team policy\n${SET_VARIABLE} [click](https://evil.example/x) <img src=x onerror=alert(1)> **bold**`;
        fx.azure.store.addPolicyAssignment(id, "someone-elses", {
          displayName,
          policyDefinitionId: "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4",
        });
        const custom = fx.azure.store.addPolicyDefinition(`custom-hostile-${clusterCount}`, {
          displayName: `<img src=x onerror=alert(1)> [label](javascript:alert(1)) ##[warning]fake`,
          mode: "Microsoft.Kubernetes.Data",
          parameters: { effect: { type: "String", allowedValues: ["audit", "deny"], defaultValue: "audit" } },
          policyRule: {},
        });
        // The compliance read is refused with a message quoting hostile text, as ARM quotes names and scopes.
        fx.azure.faults.add({
          method: "POST",
          path: /policyStates\/latest\/queryResults$/,
          kind: "status",
          status: 403,
          body: {
            error: {
              code: "AuthorizationFailed",
              message: `The client may not read '${PAYLOADS.join("\n")}'. <img src=y onerror=alert(2)>`,
            },
          },
        });
        const run = await fx.run("AssignAksPolicies", {
          inputs: { resourceGroupName: RG, clusterName: name, customPolicyDefinitionIds: custom.id, reportCompliance: true },
          variables,
        });
        fx.assertSucceeded(run);
        assertNoForgedCommands(run, ["policyAssignmentIds", "changed"]);
        const summary = run.summaries.join("\n");
        assert.doesNotMatch(outsideCode(summary), /<img/, "no HTML element survives in the summary");
        assert.doesNotMatch(outsideCode(summary), /(?<!\\)\[(label|click)\]\(/, "no markdown link survives in the summary");
        assert.ok(summary.includes("&lt;img src=x onerror=alert(1)&gt;"), "the custom definition's name shows as text");
      });
    }

    it("KeyVaultSecrets: secret names holding ##vso[…] and ##[error] (system.debug) → refused by name ('secrets: …'); no command but its own", async () => {
      const vault = fx.azure.store.addKeyVault(RG, `kv-hostile-${++clusterCount}`);
      const run = await fx.run("KeyVaultSecrets", {
        inputs: { resourceGroupName: RG, keyVaultName: vault.name, secrets: `${SET_VARIABLE}=$(value)\n##[error]x=$(value)` },
        secrets: { value: "a-long-secret-value" },
        variables: { "System.Debug": "true" },
      });
      assert.equal(run.result, "Failed");
      assert.match(run.resultMessage ?? "", /^secrets: /);
      assertNoForgedCommands(run, ["vaultUri", "secretNames", "changed"]);
    });

    it("KeyVaultSecrets: a managed identity name from Azure holding <img onerror> and ##vso[…] → no command but its own; the summary shows it as text", async () => {
      const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-hostile-${++clusterCount}`);
      const vault = fx.azure.store.addKeyVault(RG, `kv-hostile-${++clusterCount}`);
      // ARM refuses such names on create; a hostile or broken answer is still handled as text.
      const hostileName = `<img src=x onerror=alert(1)>${SET_VARIABLE}`;
      fx.azure.store.put({ ...identity, name: hostileName });
      const run = await fx.run("KeyVaultSecrets", {
        inputs: {
          resourceGroupName: RG,
          keyVaultName: vault.name,
          grantTo: String((identity.properties as { clientId: string }).clientId),
        },
      });
      fx.assertSucceeded(run);
      assertNoForgedCommands(run, ["vaultUri", "secretNames", "changed"]);
      assert.doesNotMatch(outsideCode(run.summaries.join("\n")), /<img/);
    });

    describe("plain values, one-letter secrets and failures: the step's own commands and its exit code", () => {
      /** Every line that starts a command starts one the agent can read: nothing masked or neutralised in its head. */
      function assertCommandsReadable(run: StepRun): void {
        for (const line of run.stdout.split("\n").filter((l) => l.startsWith("##vso["))) {
          assert.match(line, /^##vso\[task\.[a-z]+(?: [^\]]*)?\]/, line);
          assert.doesNotMatch(line.slice(0, line.indexOf("]") + 1), /\*\*\*/, line);
        }
      }

      /** The agent's proxy password, a secret every task registers before anything else, whatever its length. */
      const oneLetterSecret = (letter: string) => ({ secrets: { "Agent.ProxyPassword": letter } });

      it("KeyVaultSecrets: plain values as secrets (true, a one-letter value, a number) while a one-letter secret is registered → outputs and task.complete intact; values written as given, not registered; the summary says why", async () => {
        const vault = fx.azure.store.addKeyVault(RG, `kv-plain-${++clusterCount}`, {
          accessPolicies: [
            { tenantId: fx.azure.tenantId, objectId: fx.principalObjectId(), permissions: { secrets: ["get", "list", "set"] } },
          ],
        });
        // As the agent passes them: secret variables, expanded into the input before the task runs.
        const run = await fx.run("KeyVaultSecrets", {
          inputs: { keyVaultName: vault.name, secrets: "feature-x-enabled=true\nregion-code=e\nreplicas=42" },
          secrets: { featureFlag: "true", regionCode: "e", replicas: "42", ...oneLetterSecret("t").secrets },
        });
        fx.assertSucceeded(run);
        assert.equal(run.exitCode, 0);
        assert.match(run.stdout, /^##vso\[task\.complete result=Succeeded;\]$/m);
        assertCommandsReadable(run);
        assert.deepEqual(run.outputs, {
          vaultUri: `https://${vault.name}.vault.azure.net/`,
          secretNames: "feature-x-enabled,region-code,replicas",
          changed: "true",
        });
        for (const [name, value] of [
          ["feature-x-enabled", "true"],
          ["region-code", "e"],
          ["replicas", "42"],
        ]) {
          assert.deepEqual(
            fx.azure.store.vaultSecret(vault.name, name!)?.properties.versions.map((v) => v.value),
            [value],
          );
          assert.ok(!run.registeredSecrets.includes(value!), `'${value}' is not registered`);
        }
        assert.match(
          run.summaries[0]!,
          /Not masked in the log: the values of `feature-x-enabled`, `region-code`, `replicas`, shorter than 6 characters .* written to Key Vault as given but not registered as secrets/,
        );
        // The log shows the note with the registered 't' masked in its text, as the agent would show it.
        assert.ok(
          run.stdout.includes("note: Not masked in the log: the values of feature-x-enabled, region-code, replicas".replaceAll("t", "***")),
        );
      });

      const failures: {
        label: string;
        task: string;
        script?: string;
        inputs: Record<string, string | boolean>;
        /** The task variables the main step left its post-job step (read when the test runs). */
        taskVariables?: () => Record<string, string>;
      }[] = [
        { label: "AksHardeningReport", task: "AksHardeningReport", inputs: { resourceGroupName: RG, clusterName: "aks-missing" } },
        {
          label: "AssignAksPolicies",
          task: "AssignAksPolicies",
          inputs: { resourceGroupName: RG, clusterName: "aks-missing", policies: "noPrivilegedContainers" },
        },
        {
          label: "EnablePodIdentity",
          task: "EnablePodIdentity",
          inputs: {
            resourceGroupName: RG,
            clusterName: "aks-missing",
            identity: "id-missing",
            namespace: "app",
            serviceAccountName: "app",
          },
        },
        { label: "KeyVaultSecrets", task: "KeyVaultSecrets", inputs: { keyVaultName: "kv-missing", secrets: "flag=e" } },
        {
          label: "SecureClusterAccess",
          task: "SecureClusterAccess",
          inputs: { resourceGroupName: RG, clusterName: "aks-missing", disableLocalAccounts: false, azureRbac: false },
        },
        { label: "ConfigureAutoUpgrade", task: "ConfigureAutoUpgrade", inputs: { resourceGroupName: RG, clusterName: "aks-missing" } },
        {
          label: "EnableDefender",
          task: "EnableDefender",
          inputs: {
            resourceGroupName: RG,
            clusterName: "aks-missing",
            logAnalyticsWorkspaceId: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${RG}/providers/Microsoft.OperationalInsights/workspaces/log-missing`,
          },
        },
        {
          label: "RestrictApiServer",
          task: "RestrictApiServer",
          inputs: { resourceGroupName: RG, clusterName: "aks-missing", action: "add", authorizedIpRanges: "203.0.113.0/24" },
        },
        {
          label: "RestrictApiServer (post-job step)",
          task: "RestrictApiServer",
          script: "post.js",
          inputs: { resourceGroupName: RG, clusterName: "aks-missing" },
          taskVariables: () => ({
            "AksHardening.JobScopedAccess": `0a1b2c3d 198.51.100.9/32 /subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters/aks-missing`,
          }),
        },
      ];
      for (const failure of failures) {
        it(`${failure.label}: fails while a one-letter value is registered as secret → task.complete readable; exit code non-zero`, async () => {
          fx.azure.clearRequests();
          const options = fx.stepOptions({ inputs: failure.inputs, ...oneLetterSecret("e") });
          const run = await runStep(path.join(fx.taskDir(failure.task), failure.script ?? "index.js"), {
            ...options,
            ...(failure.taskVariables ? { taskVariables: failure.taskVariables() } : {}),
          });
          fx.assertNoSecretsIn(run);
          assert.equal(run.result, "Failed", run.stdout);
          assert.notEqual(run.exitCode, 0);
          assert.match(run.stdout, /^##vso\[task\.complete result=Failed;\]/m);
          assertCommandsReadable(run);
          assert.deepEqual(fx.armWrites(), []);
        });
      }

      it("every task, main and post-job step: a failure before runTask (task-lib refuses a malformed VSTS_SECRET_VARIABLES while it loads) → exit code non-zero", async () => {
        for (const failure of failures) {
          const options = fx.stepOptions({ inputs: failure.inputs, env: { VSTS_SECRET_VARIABLES: "not json" } });
          const run = await runStep(path.join(fx.taskDir(failure.task), failure.script ?? "index.js"), {
            ...options,
            ...(failure.taskVariables ? { taskVariables: failure.taskVariables() } : {}),
          });
          assert.equal(run.result, "Failed", `${failure.label}: ${run.stdout}`);
          assert.match(run.resultMessage ?? "", /VSTS_SECRET_VARIABLES/);
          assert.notEqual(run.exitCode, 0, `${failure.label} exits non-zero`);
        }
      });

      it("RestrictApiServer: ranges that together cover every IPv4 address (0.0.0.0/1 + 128.0.0.0/1, typed or with the cluster's) → refused by the input's name before any write; a range broader than /8 is named in a warning", async () => {
        const { name } = newCluster({ properties: { apiServerAccessProfile: { authorizedIPRanges: ["0.0.0.0/1"] } } });
        for (const [action, ranges, message] of [
          ["set", "0.0.0.0/1, 128.0.0.0/1", /^authorizedIpRanges: 0\.0\.0\.0\/1, 128\.0\.0\.0\/1 together authorize every IPv4 address/],
          ["add", "128.0.0.0/1", /^authorizedIpRanges: with the cluster's current ranges the list would authorize every IPv4 address/],
        ] as const) {
          const run = await fx.run("RestrictApiServer", {
            inputs: { resourceGroupName: RG, clusterName: name, action, authorizedIpRanges: ranges },
          });
          fx.assertFailedBeforeAnyWrite(run, message);
        }
        const broad = await fx.run("RestrictApiServer", {
          inputs: { resourceGroupName: RG, clusterName: name, action: "set", authorizedIpRanges: "64.0.0.0/2, 203.0.113.0/24" },
        });
        fx.assertSucceeded(broad);
        assert.ok(
          broad.warnings.some((w) => /^64\.0\.0\.0\/2 is broader than \/8/.test(w)),
          broad.warnings.join("\n"),
        );
        assert.match(broad.summaries[0]!, /64\.0\.0\.0\/2 is broader than \/8/);
      });

      it("RestrictApiServer: 0.0.0.0/32 with another range (typed together, added to a list, or with the agent's address) → refused by the input's name before any write, as AKS refuses it (400 InvalidParameter)", async () => {
        const { name: withOthers } = newCluster({ properties: { apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24"] } } });
        const { name: outboundOnly } = newCluster({ properties: { apiServerAccessProfile: { authorizedIPRanges: ["0.0.0.0/32"] } } });
        fx.azure.publicIp = "198.51.100.61";
        for (const [cluster, inputs, message] of [
          [
            withOthers,
            { action: "set", authorizedIpRanges: "0.0.0.0/32, 192.0.2.0/24" },
            /^authorizedIpRanges: 0\.0\.0\.0\/32 .* cannot share the list with 192\.0\.2\.0\/24: AKS refuses that/,
          ],
          [
            withOthers,
            { action: "add", authorizedIpRanges: "0.0.0.0/32" },
            /^authorizedIpRanges: .* cannot share the list with 203\.0\.113\.0\/24 \(the cluster's list holds the others now\)/,
          ],
          [
            outboundOnly,
            { action: "add", authorizedIpRanges: "192.0.2.0/24" },
            /^authorizedIpRanges: .* \(the cluster's list holds 0\.0\.0\.0\/32 now\)/,
          ],
          [
            outboundOnly,
            {
              action: "set",
              authorizedIpRanges: "0.0.0.0/32",
              includeAgentIp: true,
              agentIpScope: "permanent",
              agentIpServiceUrl: `${fx.azure.url}/ip`,
            },
            /^includeAgentIp: .* cannot share the list with 198\.51\.100\.61\/32 \(includeAgentIp adds this agent's address\)/,
          ],
        ] as const) {
          const run = await fx.run("RestrictApiServer", { inputs: { resourceGroupName: RG, clusterName: cluster, ...inputs } });
          fx.assertFailedBeforeAnyWrite(run, message);
        }
      });

      it("RestrictApiServer and SecureClusterAccess: an API server FQDN from Azure outside the cloud's AKS domain (a look-alike of azmk8s.io) → named (a warning, 'Not proved') and never contacted: no CONNECT towards it, no proxy credentials or token sent for it", async () => {
        const proxy = await RecordingProxy.start();
        try {
          const lookAlike = "aks-1-dns.hcp.westeurope.azmk8s.io.evil.example";
          const { name } = newCluster({ properties: { fqdn: lookAlike, apiServerAccessProfile: { authorizedIPRanges: ["10.1.0.0/16"] } } });
          fx.azure.publicIp = "198.51.100.62";
          const run = await fx.run("RestrictApiServer", {
            inputs: {
              resourceGroupName: RG,
              clusterName: name,
              action: "add",
              includeAgentIp: true,
              agentIpScope: "permanent",
              agentIpServiceUrl: `${fx.azure.url}/ip`,
            },
            variables: { "Agent.ProxyUrl": proxy.url, "Agent.ProxyUsername": "build-agent" },
            secrets: { "Agent.ProxyPassword": "proxy-password-3e9a71" },
          });
          fx.assertSucceeded(run);
          assert.ok(
            run.warnings.some(
              (w) =>
                w.includes(`reports the API server FQDN '${lookAlike}', which is not under azmk8s.io`) && /does not connect to it/.test(w),
            ),
            run.warnings.join("\n"),
          );
          // SecureClusterAccess proves the pipeline's new grant by asking the API server, unless it may not.
          const access = await fx.run("SecureClusterAccess", {
            inputs: {
              resourceGroupName: RG,
              clusterName: name,
              adminGroupObjectIds: fx.azure.store.directory.addUserOrGroup("Group"),
              clusterRoleGrants: "serviceConnection writer todo",
            },
            variables: { "Agent.ProxyUrl": proxy.url, "Agent.ProxyUsername": "build-agent", "AksHardening.RoleAssignmentWaitSeconds": "1" },
            secrets: { "Agent.ProxyPassword": "proxy-password-3e9a71" },
          });
          fx.assertSucceeded(access);
          assert.match(
            access.summaries[0]!,
            new RegExp(`Not proved.*reports the API server FQDN '${lookAlike.replace(/\./g, "\\.")}', which is not under azmk8s\\.io`),
          );
          assert.ok(proxy.tunnels.length > 0, "the tasks' Azure calls went through the proxy");
          assert.ok(!proxy.tunnels.some((t) => t.includes("evil.example")), `tunnels: ${proxy.tunnels.join(", ")}`);
        } finally {
          await proxy.close();
        }
      });
    });
  });

  describe("resource-ID inputs are checked segment by segment before any request", () => {
    before(async () => {
      fx = await Fixture.start({ operationPolls: 0 });
    });
    after(async () => {
      await fx?.close();
    });

    const identityId = (rg: string, name: string) =>
      `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
    const cases: [string, string, () => Record<string, string>, RegExp][] = [
      [
        "KeyVaultSecrets",
        "a grantTo identity ID whose name is '..'",
        () => ({ resourceGroupName: RG, keyVaultName: "kv-any", grantTo: identityId(RG, "..") }),
        /^grantTo: .* has the identity name '\.\.', which is not a valid identity name/,
      ],
      [
        "KeyVaultSecrets",
        "a grantTo identity ID whose resource group is '.'",
        () => ({ resourceGroupName: RG, keyVaultName: "kv-any", grantTo: identityId(".", "id-app") }),
        /^grantTo: .* has the resource group '\.', which is not a valid resource group/,
      ],
      [
        "EnablePodIdentity",
        "an identity ID whose resource group is '..'",
        () => ({
          resourceGroupName: RG,
          clusterName: "aks-any",
          identity: identityId("..", "id-app"),
          namespace: "app",
          serviceAccountName: "app",
        }),
        /^identity: .* has the resource group '\.\.', which is not a valid resource group/,
      ],
      [
        "EnablePodIdentity",
        "an identity ID whose subscription is no GUID",
        () => ({
          resourceGroupName: RG,
          clusterName: "aks-any",
          identity: "/subscriptions/../resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app",
          namespace: "app",
          serviceAccountName: "app",
        }),
        /^identity: .* has the subscription ID '\.\.', which is not a valid subscription ID \(a GUID\)/,
      ],
      [
        "AssignAksPolicies",
        "a custom definition ID whose name is '..'",
        () => ({
          resourceGroupName: RG,
          clusterName: "aks-any",
          customPolicyDefinitionIds: `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/..`,
        }),
        /^customPolicyDefinitionIds: .* has the definition name '\.\.', which is not a valid definition name/,
      ],
      [
        "AssignAksPolicies",
        "a custom definition ID under a management group '..'",
        () => ({
          resourceGroupName: RG,
          clusterName: "aks-any",
          customPolicyDefinitionIds:
            "/providers/Microsoft.Management/managementGroups/../providers/Microsoft.Authorization/policySetDefinitions/x",
        }),
        /^customPolicyDefinitionIds: .* has the management group ID '\.\.', which is not a valid management group ID/,
      ],
    ];
    for (const [task, what, inputs, message] of cases) {
      it(`${task}: ${what} → refused by the input's name before any request, even for a token`, async () => {
        fx.azure.clearRequests();
        const run = await fx.run(task, { inputs: inputs() });
        assert.equal(run.result, "Failed", run.stdout);
        assert.match(run.resultMessage ?? "", message);
        assert.deepEqual(
          fx.azure.requests.map((r) => `${r.method} ${r.path}`),
          [],
          "not one request, not even for a token",
        );
      });
    }
  });
});
