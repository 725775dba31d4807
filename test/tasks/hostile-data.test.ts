import assert from "node:assert/strict";
import { after, before, describe, it } from "mocha";
import { Fixture } from "../harness/fixture";
import type { StepRun } from "../harness/agent";
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
      fx = await Fixture.start({ operationPolls: 0, retryAfterSeconds: 1 });
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
  });

  describe("resource-ID inputs are checked segment by segment before any request", () => {
    before(async () => {
      fx = await Fixture.start({ operationPolls: 0, retryAfterSeconds: 1 });
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
