import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { extractPackagedExtension, repoRoot } from "../../scripts/vsix.mjs";
import { lintTaskJson, parseVisibleRule } from "../../scripts/task-lint.mjs";

describe("test/extension/task-json", () => {
  const require = createRequire(import.meta.url);
  /** tfx's own task.json validation: the same module scripts/build.mjs calls. */
  const { validateTask } = require("tfx-cli/_build/lib/jsonvalidate.js") as {
    validateTask: (taskPath: string, task: unknown) => string[];
  };

  const TASKS = [
    "AksHardeningReport",
    "AssignAksPolicies",
    "ConfigureAutoUpgrade",
    "EnableDefender",
    "EnablePodIdentity",
    "KeyVaultSecrets",
    "ProtectKeyVault",
    "RestrictApiServer",
    "SecureClusterAccess",
  ];
  let dir: string;

  before(() => {
    dir = extractPackagedExtension();
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function packaged(task: string): { path: string; json: Record<string, unknown> } {
    const path = join(dir, "tasks", task, "task.json");
    return { path, json: JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown> };
  }

  describe("the packaged task.json files", () => {
    it("the VSIX holds exactly the five tasks", () => {
      assert.deepEqual(readdirSync(join(dir, "tasks")).sort(), TASKS);
    });

    for (const task of TASKS) {
      it(`${task}: passes tfx's own validation`, () => {
        const { path, json } = packaged(task);
        assert.deepEqual(validateTask(path, json), []);
      });

      it(`${task}: passes our lint (handlers, inputs, groups, visibleRules, pickers, outputs, settable variables)`, () => {
        const { json } = packaged(task);
        assert.deepEqual(lintTaskJson(json, { dir: join(dir, "tasks", task) }), []);
      });

      it(`${task}: carries the package version`, () => {
        const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;
        const v = packaged(task).json.version as { Major: number; Minor: number; Patch: number };
        assert.equal(`${v.Major}.${v.Minor}.${v.Patch}`, version);
      });
    }

    it("workload-identity inputs show only in that mode, pod-identity inputs only in theirs", () => {
      const inputs = packaged("EnablePodIdentity").json.inputs as { name: string; visibleRule?: string }[];
      const rule = (name: string) => inputs.find((i) => i.name === name)?.visibleRule;
      for (const name of ["serviceAccountName", "federatedCredentialName"]) assert.equal(rule(name), "identityMode = workloadIdentity");
      for (const name of ["podIdentityName", "bindingSelector", "allowKubenet", "grantReaderOnNodeResourceGroup"])
        assert.equal(rule(name), "identityMode = podIdentity");
    });
  });

  // Fixtures below are broken on purpose, one field at a time, through untyped paths.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type TaskJson = Record<string, any>;

  /** A small valid task.json, to break one thing at a time. */
  function sample(): TaskJson {
    return {
      id: "8c0a9a34-0a4d-4c2e-9f38-1c1f3f7b7d10",
      name: "Sample",
      friendlyName: "Sample",
      instanceNameFormat: "Sample $(clusterName)",
      groups: [{ name: "main", displayName: "Main", isExpanded: true }],
      inputs: [
        {
          name: "azureSubscription",
          type: "connectedService:AzureRM",
          label: "Azure subscription",
          required: true,
          groupName: "main",
          helpMarkDown: "The Azure Resource Manager service connection.",
        },
        {
          name: "resourceGroupName",
          type: "pickList",
          label: "Resource group",
          required: true,
          groupName: "main",
          properties: { EditableOptions: "True" },
          helpMarkDown: "The resource group of the cluster.",
        },
        {
          name: "clusterName",
          type: "pickList",
          label: "Cluster",
          required: true,
          groupName: "main",
          properties: { EditableOptions: "True" },
          helpMarkDown: "The name of the AKS cluster.",
        },
        {
          name: "mode",
          type: "radio",
          label: "Mode",
          defaultValue: "a",
          groupName: "main",
          options: { a: "A", b: "B" },
          helpMarkDown: "Which mode the task runs in.",
        },
        {
          name: "policies",
          type: "pickList",
          label: "Policies",
          groupName: "main",
          properties: { MultiSelectFlatList: "True" },
          options: { one: "One", two: "Two" },
          helpMarkDown: "Policies to assign, comma-separated.",
        },
        {
          name: "detail",
          type: "string",
          label: "Detail",
          groupName: "main",
          visibleRule: "mode = b && policies Contains two",
          helpMarkDown: "Only in mode b with policy two.",
        },
      ],
      dataSourceBindings: [
        { target: "resourceGroupName", endpointId: "$(azureSubscription)", dataSourceName: "AzureResourceGroups" },
        {
          target: "clusterName",
          endpointId: "$(azureSubscription)",
          endpointUrl:
            "{{{endpoint.url}}}subscriptions/{{{endpoint.subscriptionId}}}/resourceGroups/$(resourceGroupName)/providers/Microsoft.ContainerService/managedClusters?api-version=2024-10-01",
          resultSelector: "jsonpath:$.value[*]",
          resultTemplate: '{ "Value" : "{{{name}}}", "DisplayValue" : "{{{name}}}" }',
        },
      ],
      outputVariables: [{ name: "changed", description: "true when the task changed something." }],
      restrictions: { settableVariables: { allowed: ["changed"] } },
      execution: { Node20_1: { target: "index.js" }, Node24: { target: "index.js" } },
    };
  }

  describe("the task.json lint catches", () => {
    it("nothing in a valid task.json", () => {
      assert.deepEqual(lintTaskJson(sample()), []);
    });

    it("nothing in a picker that an optional input only narrows (ARM's resources list, substringof the input: empty lists all)", () => {
      const t = sample();
      t.inputs[1].required = false;
      t.dataSourceBindings[1].endpointUrl =
        "{{{endpoint.url}}}subscriptions/{{{endpoint.subscriptionId}}}/resources?%24filter=resourceType%20eq%20%27Microsoft.ContainerService%2FmanagedClusters%27%20and%20substringof(%27$(resourceGroupName)%27%2C%20resourceGroup)&api-version=2021-04-01";
      assert.deepEqual(lintTaskJson(t), []);
    });

    const cases: [string, (t: TaskJson) => void, RegExp][] = [
      ["an end-of-life handler", (t) => (t.execution.Node16 = { target: "index.js" }), /execution\.Node16: only Node20_1 and Node24/],
      ["a missing Node24 handler", (t) => delete t.execution.Node24, /execution has no Node24 handler/],
      ["an input without helpMarkDown", (t) => delete t.inputs[3].helpMarkDown, /input 'mode' has no helpMarkDown/],
      ["an input without a label", (t) => (t.inputs[3].label = ""), /input 'mode' has no label/],
      ["an input in a group that does not exist", (t) => (t.inputs[3].groupName = "nope"), /groupName 'nope' is not a declared group/],
      ["an unknown input type", (t) => (t.inputs[3].type = "dropdown"), /type 'dropdown'/],
      ["an input name the agent cannot pass", (t) => (t.inputs[3].name = "my.mode"), /name must match/],
      ["a visibleRule naming no input", (t) => (t.inputs[5].visibleRule = "modes = b"), /names input 'modes', which does not exist/],
      ["a visibleRule value the input never takes", (t) => (t.inputs[5].visibleRule = "mode = c"), /never has the value 'c'/],
      ["a visibleRule mixing && and ||", (t) => (t.inputs[5].visibleRule = "mode = a && mode = b || mode = a"), /mixes && and \|\|/],
      ["Contains on a single-value input", (t) => (t.inputs[5].visibleRule = "mode Contains a"), /not a multi-select list/],
      ["Contains with the wrong case", (t) => (t.inputs[5].visibleRule = "policies Contains Two"), /case matters/],
      ["a value the editor would cut short", (t) => (t.inputs[5].visibleRule = "mode = b-1"), /would read as|is not 'input = value'/],
      ["a group visibleRule naming no input", (t) => (t.groups[0].visibleRule = "missing = true"), /group 'main': .* does not exist/],
      ["a binding whose target is no input", (t) => (t.dataSourceBindings[1].target = "cluster"), /target 'cluster' is not an input/],
      [
        "a binding URL naming no input",
        (t) => (t.dataSourceBindings[1].endpointUrl = t.dataSourceBindings[1].endpointUrl.replace("$(resourceGroupName)", "$(rg)")),
        /\$\(rg\) names no input/,
      ],
      ["a binding on no service connection", (t) => (t.dataSourceBindings[0].endpointId = "$(mode)"), /endpointId/],
      [
        "a picker URL with an optional input as a path segment (the list stays empty until it is filled)",
        (t) => (t.inputs[1].required = false),
        /endpointUrl depends on \$\(resourceGroupName\), which is optional/,
      ],
      ["a cluster input without a picker", (t) => t.dataSourceBindings.pop(), /input 'clusterName' has no picker/],
      [
        "an output variable without a description",
        (t) => (t.outputVariables[0].description = ""),
        /output variable 'changed' has no description/,
      ],
      ["instanceNameFormat naming no input", (t) => (t.instanceNameFormat = "Sample $(cluster)"), /instanceNameFormat: \$\(cluster\)/],
      ["no settableVariables restriction", (t) => delete t.restrictions, /has no restrictions\.settableVariables\.allowed/],
      [
        "a settable variable that is no output",
        (t) => t.restrictions.settableVariables.allowed.push("PATH"),
        /allowed lists PATH, which is not an output variable/,
      ],
      [
        "an output variable the restriction would refuse",
        (t) => t.outputVariables.push({ name: "clientId", description: "The identity's client ID." }),
        /allowed misses the output variable\(s\) clientId/,
      ],
      [
        "restricted command mode, which blocks the job summary",
        (t) => (t.restrictions.commands = { mode: "restricted" }),
        /would block task\.uploadsummary/,
      ],
    ];
    for (const [what, breakIt, expected] of cases) {
      it(what, () => {
        const task = sample();
        breakIt(task);
        const problems = lintTaskJson(task);
        assert.ok(
          problems.some((p) => expected.test(p)),
          `expected a problem matching ${expected}, got:\n${problems.join("\n")}`,
        );
      });
    }
  });

  describe("visibleRule parsing agrees with the classic editor", () => {
    it("the forms the tasks use", () => {
      assert.deepEqual(parseVisibleRule("action != disable").predicates, [{ input: "action", operator: "!=", value: "disable" }]);
      assert.deepEqual(parseVisibleRule('grantTo != ""').predicates, [{ input: "grantTo", operator: "!=", value: "" }]);
      assert.deepEqual(parseVisibleRule("policies Contains resourceLimits").predicates, [
        { input: "policies", operator: "Contains", value: "resourceLimits" },
      ]);
      const both = parseVisibleRule("includeAgentIp = true || action = add");
      assert.equal(both.joiner, "||");
      assert.equal(both.predicates.length, 2);
    });
  });
});
