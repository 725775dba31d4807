import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { Fixture, OWNER_ROLE } from "../harness/fixture";
import { assertSpeaksConditionally } from "../harness/wording";
import type { StepRun } from "../harness/agent";
import type { RequestLogEntry } from "../../local-azure/index";

describe("test/tasks/assign-aks-policies", () => {
  const TASK = "AssignAksPolicies";
  const RG = "rg-policy";
  const NO_PRIVILEGED = "/providers/Microsoft.Authorization/policyDefinitions/95edb821-ddaf-4404-9732-666045e056b4";
  const RESOURCE_LIMITS = "/providers/Microsoft.Authorization/policyDefinitions/e345eecc-fa47-480f-9e88-67dcc122b164";
  const ALLOWED_IMAGES = "/providers/Microsoft.Authorization/policyDefinitions/febd0533-8e55-448f-b837-bd0e06f16469";
  const BASELINE = "/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d";
  const RESTRICTED = "/providers/Microsoft.Authorization/policySetDefinitions/42b8ef37-b724-4e24-bbc8-7a7708edfe00";
  const ARTICLE = {
    policies: "noPrivilegedContainers,resourceLimits,allowedImages",
    cpuLimit: "500m",
    memoryLimit: "512Mi",
    allowedImagesRegex: "^myregistry\\.azurecr\\.io/.+$",
  };

  let fx: Fixture;
  let clusterCount = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
  });
  after(async () => {
    await fx?.close();
  });

  function newCluster(addonEnabled = false): { name: string; id: string } {
    const name = `aks-policy-${++clusterCount}`;
    const cluster = fx.azure.store.addManagedCluster(
      RG,
      name,
      addonEnabled ? { properties: { addonProfiles: { azurepolicy: { enabled: true } } } } : {},
    );
    fx.azure.faults.clear();
    fx.azure.clearRequests();
    return { name, id: cluster.id };
  }

  function inputs(name: string, extra: Record<string, string | boolean>) {
    return { resourceGroupName: RG, clusterName: name, ...extra };
  }

  interface Assignment {
    id: string;
    name: string;
    properties: {
      policyDefinitionId: string;
      parameters: Record<string, { value: unknown }>;
      enforcementMode: string;
      metadata: Record<string, unknown>;
    };
  }

  function assignmentsOn(clusterId: string): Assignment[] {
    return fx.azure.store.list(clusterId, "Microsoft.Authorization/policyAssignments") as unknown as Assignment[];
  }

  function assignment(clusterId: string, name: string): Assignment {
    const found = assignmentsOn(clusterId).find((a) => a.name === name);
    assert.ok(found, `no assignment ${name} on ${clusterId}`);
    return found;
  }

  function addonOf(name: string): unknown {
    return (fx.azure.store.getManagedCluster(RG, name)?.properties?.["addonProfiles"] as Record<string, { enabled?: boolean }>)?.[
      "azurepolicy"
    ]?.enabled;
  }

  function assignmentWrites(): RequestLogEntry[] {
    return fx.armWrites().filter((r) => /policyAssignments/i.test(r.path));
  }

  const assertSucceeded = (run: StepRun) => fx.assertSucceeded(run);
  const assertFailedBeforeAnyWrite = (run: StepRun, message: RegExp) => fx.assertFailedBeforeAnyWrite(run, message);

  it("the article's three policies in Deny on a cluster without the add-on: add-on enabled, three assignments with checked parameters", async () => {
    const { name, id } = newCluster();
    const run = await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Deny" }) });
    assertSucceeded(run);

    assert.equal(addonOf(name), true);
    const listed = fx.azure.requests.filter((r) => r.method === "GET" && /\/policyAssignments$/i.test(r.path));
    assert.deepEqual(
      listed.map((r) => [r.path, r.query["$filter"]]),
      [[`${id}/providers/Microsoft.Authorization/policyAssignments`, "atExactScope()"]],
      "the cluster's assignments are listed at its own resource ID, with no empty path segment",
    );
    const clusterPut = fx.armWrites().filter((r) => r.method === "PUT" && r.path.toLowerCase() === id.toLowerCase());
    assert.equal(clusterPut.length, 1, "one cluster write");
    assert.ok(clusterPut[0]!.ifMatch, "the cluster write is conditional");
    assert.equal(assignmentWrites().length, 3);

    const privileged = assignment(id, "aks-hardening-noPrivilegedContainers");
    assert.equal(privileged.properties.policyDefinitionId, NO_PRIVILEGED);
    // No excludedNamespaces typed: none is sent, so the definition's own default list applies.
    assert.deepEqual(privileged.properties.parameters, { effect: { value: "Deny" } });
    assert.equal(privileged.properties.enforcementMode, "Default");
    assert.deepEqual(privileged.properties.metadata["aksHardeningTasks"], { task: "AssignAksPolicies", policy: "noPrivilegedContainers" });
    const limits = assignment(id, "aks-hardening-resourceLimits");
    assert.equal(limits.properties.policyDefinitionId, RESOURCE_LIMITS);
    assert.deepEqual(limits.properties.parameters["cpuLimit"], { value: "500m" });
    assert.deepEqual(limits.properties.parameters["memoryLimit"], { value: "512Mi" });
    const images = assignment(id, "aks-hardening-allowedImages");
    assert.equal(images.properties.policyDefinitionId, ALLOWED_IMAGES);
    assert.deepEqual(images.properties.parameters["allowedContainerImagesRegex"], { value: "^myregistry\\.azurecr\\.io/.+$" });

    assert.equal(run.outputs.changed, "true");
    assert.deepEqual(
      run.outputs.policyAssignmentIds!.split(",").sort(),
      assignmentsOn(id)
        .map((a) => a.id)
        .sort(),
    );
    const summary = run.summaries[0]!;
    assert.match(summary, /Deny: the add-on's admission webhook \(Gatekeeper\) rejects new or updated pods/);
    assert.match(summary, /Pods already running are not stopped or evicted/);
    assert.match(summary, /add-on was just turned on/);
  });

  it("re-run on a compliant cluster makes zero writes", async () => {
    const { name } = newCluster();
    assertSucceeded(await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Deny" }) }));
    fx.azure.clearRequests();
    const run = await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Deny" }) });
    assertSucceeded(run);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(fx.permissionReads(), [], "nothing to write, so no permission to check");
    assert.equal(run.outputs.changed, "false");
    assert.equal(run.outputs.policyAssignmentIds!.split(",").length, 3);
    assert.match(run.summaries[0]!, /Already compliant/);
  });

  it("a Contributor connection (no policy assignments): the dry run warns that a real run would be refused; the real run is refused before the add-on is turned on", async () => {
    const { name, id } = newCluster();
    fx.giveRole("spnCertificate", "b24988ac-6180-42a0-ab88-20f7382dd24c");
    try {
      const missing = `'Microsoft\\.Authorization/policyAssignments/write' on ${id} \\(to create the policy assignment 'aks-hardening-\\w+'; Owner or Resource Policy Contributor has it\\)`;
      const dry = await fx.run(TASK, { connection: "spnCertificate", inputs: inputs(name, { ...ARTICLE, dryRun: true }) });
      assertSucceeded(dry);
      assert.ok(
        dry.warnings.some((w) =>
          new RegExp(`^A real run would be refused before its first write: .*lacks a permission .*${missing}`).test(w),
        ),
        dry.warnings.join("\n"),
      );
      assert.deepEqual(fx.armWrites(), []);

      const refused = await fx.run(TASK, { connection: "spnCertificate", inputs: inputs(name, ARTICLE) });
      fx.assertFailedBeforeAnyWrite(refused, new RegExp(`lacks a permission this run needs: .*${missing}.* Nothing was written\\.$`));
      assert.equal(addonOf(name), undefined, "the add-on stays off: no half-applied change");
    } finally {
      fx.giveRole("spnCertificate", OWNER_ROLE);
    }
  });

  it("changing effect updates the assignments in place, without duplicates", async () => {
    const { name, id } = newCluster(true);
    assertSucceeded(await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Audit" }) }));
    const ids = assignmentsOn(id)
      .map((a) => a.id)
      .sort();
    fx.azure.clearRequests();
    const run = await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Deny" }) });
    assertSucceeded(run);
    assert.deepEqual(
      assignmentsOn(id)
        .map((a) => a.id)
        .sort(),
      ids,
      "same three assignments",
    );
    assert.deepEqual(
      assignmentWrites().map((r) => `${r.method} ${r.status}`),
      ["PUT 201", "PUT 201", "PUT 201"],
    );
    for (const a of assignmentsOn(id)) assert.deepEqual(a.properties.parameters["effect"], { value: "Deny" });
    assert.match(run.summaries[0]!, /effect: Audit → Deny/);
  });

  describe("initiatives", () => {
    for (const [key, definitionId] of [
      ["podSecurityBaseline", BASELINE],
      ["podSecurityRestricted", RESTRICTED],
    ] as const) {
      it(`${key} is assigned with the initiative's parameters only`, async () => {
        const { name, id } = newCluster(true);
        const run = await fx.run(TASK, {
          inputs: inputs(name, { policies: key, effect: "Deny", excludedNamespaces: "kube-system, monitoring" }),
        });
        assertSucceeded(run);
        const a = assignment(id, `aks-hardening-${key}`);
        assert.equal(a.properties.policyDefinitionId, definitionId);
        assert.deepEqual(a.properties.parameters, {
          effect: { value: "Deny" },
          excludedNamespaces: { value: ["kube-system", "monitoring"] },
        });
      });
    }
  });

  it("a custom definition ID: its parameters are checked, and the effect is spelled as the definition allows", async () => {
    const { name, id } = newCluster(true);
    const definition = fx.azure.store.addPolicyDefinition("require-team-label", {
      displayName: "Pods must carry a team label",
      mode: "Microsoft.Kubernetes.Data",
      parameters: {
        effect: { type: "String", allowedValues: ["audit", "deny", "disabled"], defaultValue: "audit" },
        excludedNamespaces: { type: "Array", defaultValue: [] },
      },
      policyRule: {
        if: { field: "type", equals: "Microsoft.ContainerService/managedClusters" },
        then: { effect: "[parameters('effect')]" },
      },
    });
    const run = await fx.run(TASK, { inputs: inputs(name, { customPolicyDefinitionIds: definition.id, effect: "Deny" }) });
    assertSucceeded(run);
    const [a] = assignmentsOn(id);
    assert.ok(a);
    assert.match(a.name, /^aks-hardening-[0-9a-f-]{36}$/);
    assert.equal(a.properties.policyDefinitionId, definition.id);
    assert.deepEqual(a.properties.parameters["effect"], { value: "deny" });
    assert.equal(run.outputs.policyAssignmentIds, a.id);

    fx.azure.clearRequests();
    assertSucceeded(await fx.run(TASK, { inputs: inputs(name, { customPolicyDefinitionIds: definition.id, effect: "Deny" }) }));
    assert.deepEqual(fx.armWrites(), [], "the same deterministic name on a re-run");
  });

  it("an allowed-images regex that is not anchored as a whole is assigned, with a warning that says what it admits", async () => {
    const { name, id } = newCluster(true);
    const run = await fx.run(TASK, {
      inputs: inputs(name, { policies: "allowedImages", allowedImagesRegex: "^myregistry\\.azurecr\\.io/|mcr\\.microsoft\\.com/" }),
    });
    assertSucceeded(run);
    assert.deepEqual(assignment(id, "aks-hardening-allowedImages").properties.parameters["allowedContainerImagesRegex"], {
      value: "^myregistry\\.azurecr\\.io/|mcr\\.microsoft\\.com/",
    });
    assert.ok(
      run.warnings.some((w) =>
        /allowedImagesRegex '.*' is not anchored as a whole \(\^…\$, with any alternatives inside one group\): the policy admits every image whose name merely contains a match/.test(
          w,
        ),
      ),
      run.warnings.join("\n"),
    );
    const anchored = await fx.run(TASK, {
      inputs: inputs(name, { policies: "allowedImages", allowedImagesRegex: "^(myregistry\\.azurecr\\.io|mcr\\.microsoft\\.com)/.+$" }),
    });
    assertSucceeded(anchored);
    assert.ok(!anchored.warnings.some((w) => /not anchored/.test(w)), anchored.warnings.join("\n"));
  });

  describe("definitions that modify or deploy resources (ResourceIdentityRequired)", () => {
    const CONTRIBUTOR = "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c";
    const modifyDefinition = (name: string) =>
      fx.azure.store.addPolicyDefinition(name, {
        displayName: "Clusters carry a cost-centre tag",
        mode: "Indexed",
        parameters: {},
        policyRule: {
          if: { field: "type", equals: "Microsoft.ContainerService/managedClusters" },
          then: {
            effect: "modify",
            details: {
              roleDefinitionIds: [CONTRIBUTOR],
              operations: [{ operation: "addOrReplace", field: "tags['costCentre']", value: "platform" }],
            },
          },
        },
      });

    it("a Modify definition, alone and inside a custom initiative: a system-assigned identity in the cluster's region, the role it needs in the summary, and a re-run that writes nothing", async () => {
      const { name, id } = newCluster(true);
      const definition = modifyDefinition("tag-clusters");
      const initiative = fx.azure.store.addPolicyDefinition("platform-tags", {
        displayName: "Platform tags",
        parameters: { effect: { type: "String", allowedValues: ["Audit", "Deny"], defaultValue: "Audit" } },
        policyDefinitions: [{ policyDefinitionId: definition.id, policyDefinitionReferenceId: "tag", parameters: {} }],
      });
      const run = await fx.run(TASK, {
        inputs: inputs(name, { policies: "noPrivilegedContainers", customPolicyDefinitionIds: `${definition.id}\n${initiative.id}` }),
      });
      assertSucceeded(run);
      const puts = assignmentWrites().filter((r) => r.method === "PUT");
      const sent = (definitionId: string) => {
        const put = puts.find(
          (r) => (r.body as { properties: { policyDefinitionId: string } }).properties.policyDefinitionId === definitionId,
        );
        assert.ok(put, `no PUT for ${definitionId}`);
        return put.body as { identity?: { type: string }; location?: string };
      };
      for (const definitionId of [definition.id, initiative.id]) {
        assert.deepEqual(sent(definitionId).identity, { type: "SystemAssigned" });
        assert.equal(sent(definitionId).location, "westeurope", "the cluster's region");
      }
      const plain = sent(NO_PRIVILEGED);
      assert.equal(plain.identity, undefined, "an Audit/Deny policy gets no identity");
      assert.equal(plain.location, undefined);
      const stored = assignmentsOn(id).find((a) => a.properties.policyDefinitionId === definition.id) as unknown as {
        identity: { principalId: string };
      };
      assert.match(stored.identity.principalId, /^[0-9a-f-]{36}$/);
      assert.ok(
        run.summaries[0]!.includes(`principal \`${stored.identity.principalId}\``) &&
          /the role\(s\) `b24988ac-6180-42a0-ab88-20f7382dd24c`/.test(run.summaries[0]!),
        run.summaries[0],
      );
      assert.match(
        run.summaries[0]!,
        /az role assignment create --assignee-object-id [0-9a-f-]{36} --assignee-principal-type ServicePrincipal --role b24988ac-6180-42a0-ab88-20f7382dd24c --scope \/subscriptions\//,
      );

      fx.azure.clearRequests();
      const again = await fx.run(TASK, {
        inputs: inputs(name, { policies: "noPrivilegedContainers", customPolicyDefinitionIds: `${definition.id}\n${initiative.id}` }),
      });
      assertSucceeded(again);
      assert.deepEqual(fx.armWrites(), [], "the identity is there: nothing to write");
    });
  });

  describe("every parameter error fails before any write, naming the input", () => {
    const customNeedsUnknown = () =>
      fx.azure.store.addPolicyDefinition(`needs-team-${clusterCount}`, {
        displayName: "Needs a team name",
        parameters: { team: { type: "String" } },
        policyRule: {},
      }).id;
    // Input-only mistakes are in the bad-input matrix (test/reliability/bad-inputs.test.ts).
    const cases: [string, () => Record<string, string>, RegExp][] = [
      [
        "a definition with a required parameter the task cannot give",
        () => ({ policies: "noPrivilegedContainers", customPolicyDefinitionIds: customNeedsUnknown() }),
        /^customPolicyDefinitionIds: .*needs the parameter\(s\) 'team'/,
      ],
    ];
    for (const [what, extra, message] of cases) {
      it(what, async () => {
        const { name } = newCluster();
        const run = await fx.run(TASK, { inputs: inputs(name, { effect: "Deny", ...extra() }) });
        assertFailedBeforeAnyWrite(run, message);
        assert.equal(addonOf(name), undefined, "the add-on stays off");
      });
    }
  });

  it("an assignment made by someone else is left alone, even one holding the task's name", async () => {
    const { name, id } = newCluster(true);
    const portal = fx.azure.store.addPolicyAssignment(id, "no-privileged-portal", {
      displayName: "No privileged containers (security team)",
      policyDefinitionId: NO_PRIVILEGED,
      parameters: { effect: { value: "Audit" } },
    });
    const squatter = fx.azure.store.addPolicyAssignment(id, "aks-hardening-allowedImages", {
      policyDefinitionId: ALLOWED_IMAGES,
      parameters: { allowedContainerImagesRegex: { value: "^.+$" } },
    });
    const run = await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Deny" }) });
    assertSucceeded(run);
    assert.deepEqual(fx.azure.store.get(portal.id), portal, "the portal assignment is unchanged");
    assert.deepEqual(fx.azure.store.get(squatter.id), squatter, "the assignment holding the task's name is unchanged");
    assert.ok(!assignmentWrites().some((r) => r.path.toLowerCase() === squatter.id.toLowerCase()));
    assert.equal(assignmentWrites().length, 2);
    assert.ok(
      run.warnings.some((w) => /aks-hardening-allowedImages already exists on the cluster but was not made by this task/.test(w)),
      run.warnings.join("\n"),
    );
    assert.match(run.summaries[0]!, /No privileged containers \(security team\)/);
    assert.ok(!run.outputs.policyAssignmentIds!.includes("aks-hardening-allowedImages"));
  });

  describe("compliance report", () => {
    it("right after the add-on is enabled it says plainly that nothing has synced yet", async () => {
      const { name } = newCluster();
      const run = await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Deny", reportCompliance: true }) });
      assertSucceeded(run);
      const summary = run.summaries[0]!;
      assert.match(summary, /Not synced yet/);
      assert.match(summary, /the add-on was just turned on/);
      assert.doesNotMatch(summary, /\| 0 \| 0 \|/, "no counts are shown for assignments without results");
      const query = fx.armRequests().filter((r) => r.method === "POST");
      assert.equal(query.length, 1);
      assert.match(query[0]!.path, /policyStates\/latest\/queryResults$/);
      assert.deepEqual(
        fx.armWrites().filter((r) => r.method === "POST"),
        [],
        "the query is not a write",
      );
    });

    it("an assignment changed after the last sync is reported as not evaluated, not as compliant", async () => {
      const { name, id } = newCluster(true);
      assertSucceeded(await fx.run(TASK, { inputs: inputs(name, { policies: "noPrivilegedContainers", effect: "Audit" }) }));
      fx.azure.store.evaluatePolicies(id);
      const run = await fx.run(TASK, {
        inputs: inputs(name, { policies: "noPrivilegedContainers", effect: "Deny", reportCompliance: true }),
      });
      assertSucceeded(run);
      assert.match(run.summaries[0]!, /Not synced yet/);
      assert.match(run.summaries[0]!, /has not synced since the assignment was made or changed/);
    });

    it("after the add-on has synced: compliant and non-compliant counts per assignment", async () => {
      const { name, id } = newCluster();
      assertSucceeded(
        await fx.run(TASK, { inputs: inputs(name, { policies: "noPrivilegedContainers,podSecurityBaseline", effect: "Deny" }) }),
      );
      fx.azure.store.evaluatePolicies(id, ["aks-hardening-noPrivilegedContainers", "aks-hardening-podSecurityBaseline/NoHostPathVolume"]);
      fx.azure.clearRequests();
      const run = await fx.run(TASK, {
        inputs: inputs(name, { policies: "noPrivilegedContainers,podSecurityBaseline", effect: "Deny", reportCompliance: true }),
      });
      assertSucceeded(run);
      assert.deepEqual(fx.armWrites(), []);
      const summary = run.summaries[0]!;
      assert.doesNotMatch(summary, /Not synced yet/);
      assert.match(summary, /`aks-hardening-noPrivilegedContainers` \| 0 \| 1 \| last evaluated/);
      assert.match(summary, /`aks-hardening-podSecurityBaseline` \| 4 \| 1 \| last evaluated/);
    });
  });

  it("dry run reads and plans, writes nothing, and shows the planned changes", async () => {
    const { name, id } = newCluster();
    const run = await fx.run(TASK, { inputs: inputs(name, { ...ARTICLE, effect: "Deny", dryRun: true }) });
    assertSucceeded(run);
    assert.deepEqual(fx.armWrites(), []);
    assert.equal(addonOf(name), undefined);
    assert.deepEqual(assignmentsOn(id), []);
    assert.equal(run.outputs.changed, "false");
    assert.equal(run.outputs.policyAssignmentIds, "");
    assertSpeaksConditionally(run);
    assert.match(run.summaries[0]!, /to be created/);
  });
});
