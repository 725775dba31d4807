import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture, OWNER_ROLE } from "../harness/fixture";
import { assertSpeaksConditionally } from "../harness/wording";
import type { StepRun } from "../harness/agent";
import type { ArmResource } from "../../local-azure/index";

describe("test/tasks/enable-pod-identity", () => {
  const TASK = "EnablePodIdentity";
  const RG = "rg-pods";
  const MI_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830";
  const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
  const FEATURE = ["Microsoft.ContainerService", "EnablePodIdentityPreview"] as const;
  let fx: Fixture;
  let count = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.azure.store.setFeatureState(...FEATURE, "Registered");
  });
  after(async () => {
    await fx?.close();
  });

  const AZURE_CNI = { networkProfile: { networkPlugin: "azure" } };

  /** A fresh cluster and identity per test, so tests never see each other's state. */
  function setUp(properties: Record<string, unknown> = AZURE_CNI): { cluster: ArmResource; identity: ArmResource; name: string } {
    const name = `aks-${++count}`;
    const cluster = fx.azure.store.addManagedCluster(RG, name, { properties });
    const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-app-${count}`);
    fx.azure.faults.clear();
    fx.azure.clearRequests();
    return { cluster, identity, name };
  }

  function podInputs(name: string, identity: ArmResource, extra: Record<string, string | boolean> = {}) {
    return {
      resourceGroupName: RG,
      clusterName: name,
      identityMode: "podIdentity",
      identity: identity.name,
      namespace: "todo",
      podIdentityName: "todo-app",
      ...extra,
    };
  }

  function workloadInputs(name: string, identity: ArmResource, extra: Record<string, string | boolean> = {}) {
    return {
      resourceGroupName: RG,
      clusterName: name,
      identityMode: "workloadIdentity",
      identity: identity.id,
      namespace: "todo",
      serviceAccountName: "todo-sa",
      ...extra,
    };
  }

  interface PodIdentityShape {
    name: string;
    bindingSelector?: string;
    identity: { resourceId: string };
  }

  /** The parts of a cluster's properties these tests look at. */
  interface ClusterProperties {
    podIdentityProfile: {
      enabled?: boolean;
      allowNetworkPluginKubenet?: boolean;
      userAssignedIdentities: PodIdentityShape[];
      userAssignedIdentityExceptions?: unknown[];
    };
    oidcIssuerProfile: { enabled: boolean; issuerURL?: string };
    securityProfile: { workloadIdentity?: { enabled?: boolean } };
    nodeResourceGroup: string;
  }

  function clusterNow(name: string): ClusterProperties {
    return fx.azure.store.getManagedCluster(RG, name)!.properties as unknown as ClusterProperties;
  }

  function assignments(role: string): ArmResource[] {
    return fx.azure.store
      .listByType("Microsoft.Authorization/roleAssignments")
      .filter((a) => String(a.properties!["roleDefinitionId"]).endsWith(role));
  }

  function credentials(identity: ArmResource): ArmResource[] {
    return fx.azure.store.list(
      `${identity.id}/federatedIdentityCredentials`,
      "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
    );
  }

  function writes(): string[] {
    return fx.armWrites().map((r) => `${r.method} ${r.path.split("/").slice(-2, -1)[0]} ${r.status}`);
  }

  const assertSucceeded = (run: StepRun) => fx.assertSucceeded(run);
  const assertFailedBeforeAnyWrite = (run: StepRun, message: RegExp) => fx.assertFailedBeforeAnyWrite(run, message);

  describe("identityMode: podIdentity", () => {
    it("a fresh cluster: Managed Identity Operator for the control-plane identity, then one conditional PUT enabling the add-on with the pod identity", async () => {
      const { cluster, identity, name } = setUp();
      const run = await fx.run(TASK, { inputs: podInputs(name, identity) });
      assertSucceeded(run);

      assert.deepEqual(writes(), ["PUT roleAssignments 201", "PUT managedClusters 200"]);
      const [grant, put] = fx.armWrites();
      assert.equal(put!.ifMatch, cluster["eTag"], "the cluster PUT carries the eTag that was read");
      const grantBody = (grant!.body as { properties: Record<string, string> }).properties;
      assert.equal(grantBody["principalId"], (cluster["identity"] as { principalId: string }).principalId);
      assert.equal(grantBody["principalType"], "ServicePrincipal");
      assert.ok(grant!.path.startsWith(`${identity.id}/providers/Microsoft.Authorization/roleAssignments/`), grant!.path);

      const profile = clusterNow(name)["podIdentityProfile"];
      assert.equal(profile.enabled, true);
      assert.deepEqual(profile.userAssignedIdentities, [
        {
          name: "todo-app",
          namespace: "todo",
          bindingSelector: "todo-app",
          identity: { resourceId: identity.id, clientId: identity.properties!["clientId"], objectId: identity.properties!["principalId"] },
          provisioningState: "Assigned",
        },
      ]);
      assert.equal(run.outputs.clientId, identity.properties!["clientId"]);
      assert.equal(run.outputs.principalId, identity.properties!["principalId"]);
      assert.equal(run.outputs.bindingSelector, "todo-app");
      assert.equal(run.outputs.changed, "true");
      const deprecation = run.warnings.filter((w) => /deprecated/.test(w));
      assert.equal(deprecation.length, 1, "the deprecation is said once");
      // The migration path: the Workload ID inputs that replace this binding, and the pod label that replaces the selector.
      for (const step of [
        /identityMode: workloadIdentity/,
        /serviceAccountName: /,
        /namespace 'todo'/,
        /instead of aadpodidbinding: todo-app/,
      ])
        assert.match(deprecation[0]!, step);
      assert.match(run.summaries[0]!, /aadpodidbinding: todo-app/);
    });

    it("re-run on a compliant cluster makes no write and reports changed=false", async () => {
      const { identity, name } = setUp();
      assertSucceeded(await fx.run(TASK, { inputs: podInputs(name, identity, { grantReaderOnNodeResourceGroup: true }) }));
      fx.azure.clearRequests();
      const run = await fx.run(TASK, { inputs: podInputs(name, identity, { grantReaderOnNodeResourceGroup: true }) });
      assertSucceeded(run);
      assert.deepEqual(fx.armWrites(), []);
      assert.deepEqual(fx.permissionReads(), [], "nothing to write, so no permission to check");
      assert.equal(run.outputs.changed, "false");
      assert.match(run.summaries[0]!, /Already compliant/);
    });

    it("a Contributor connection (no role assignments) is refused before the first write, naming the action, the identity and the roles that have it", async () => {
      const { cluster, identity, name } = setUp();
      fx.giveRole("spnCertificate", "b24988ac-6180-42a0-ab88-20f7382dd24c");
      try {
        const run = await fx.run(TASK, { connection: "spnCertificate", inputs: podInputs(name, identity) });
        assertFailedBeforeAnyWrite(
          run,
          new RegExp(
            `lacks a permission this run needs: 'Microsoft\\.Authorization/roleAssignments/write' on ${identity.id} \\(to assign 'Managed Identity Operator' to the cluster's control-plane identity.*; Owner, User Access Administrator or Role Based Access Control Administrator has it\\)\\. Grant it .* Nothing was written\\.`,
          ),
        );
        assert.deepEqual(
          fx.permissionReads().map((r) => r.path.toLowerCase()),
          [cluster.id, identity.id].map((id) => `${id}/providers/Microsoft.Authorization/permissions`.toLowerCase()),
          "the scopes written: the cluster (read with the role assignments), then the identity",
        );
      } finally {
        fx.giveRole("spnCertificate", OWNER_ROLE);
      }
    });

    it("a connection that may not read its own permissions says so and goes on: the writes it may make are made", async () => {
      const { identity, name } = setUp();
      fx.giveRole("spnCertificate", [
        { actions: ["*"], notActions: ["Microsoft.Authorization/permissions/read"], dataActions: [], notDataActions: [] },
      ]);
      try {
        const run = await fx.run(TASK, { connection: "spnCertificate", inputs: podInputs(name, identity) });
        assertSucceeded(run);
        assert.deepEqual(writes(), ["PUT roleAssignments 201", "PUT managedClusters 200"]);
        assert.ok(fx.permissionReads().every((r) => r.status === 403));
        assert.match(
          run.stdout,
          /Could not read the service connection's own permissions on \S+ \(it lacks Microsoft\.Authorization\/permissions\/read there, which Reader, Contributor and Owner include\); going on without checking them first/,
        );
      } finally {
        fx.giveRole("spnCertificate", OWNER_ROLE);
      }
    });

    it("another namespace's pod identity and the exceptions are kept exactly as they were", async () => {
      const other = fx.azure.store.addUserAssignedIdentity(RG, `id-other-${count}`);
      const otherEntry = {
        name: "billing",
        namespace: "billing",
        bindingSelector: "billing-sel",
        identity: { resourceId: other.id, clientId: other.properties!["clientId"], objectId: other.properties!["principalId"] },
        provisioningState: "Assigned",
      };
      const exception = { name: "probe", namespace: "kube-system", podLabels: { app: "probe" } };
      const { identity, name } = setUp({
        ...AZURE_CNI,
        podIdentityProfile: { enabled: true, userAssignedIdentities: [otherEntry], userAssignedIdentityExceptions: [exception] },
      });
      const run = await fx.run(TASK, { inputs: podInputs(name, identity, { bindingSelector: "todo-sel" }) });
      assertSucceeded(run);
      const profile = clusterNow(name)["podIdentityProfile"];
      assert.deepEqual(profile.userAssignedIdentities[0], otherEntry);
      assert.equal(profile.userAssignedIdentities[1]!.bindingSelector, "todo-sel");
      assert.deepEqual(profile.userAssignedIdentityExceptions, [exception]);
    });

    it("the same name and namespace bound to another identity is updated in place, and the task says so", async () => {
      const old = fx.azure.store.addUserAssignedIdentity(RG, `id-old-${count}`);
      const oldEntry = {
        name: "todo-app",
        namespace: "todo",
        bindingSelector: "todo-app",
        identity: { resourceId: old.id, clientId: old.properties!["clientId"], objectId: old.properties!["principalId"] },
      };
      const { identity, name } = setUp({ ...AZURE_CNI, podIdentityProfile: { enabled: true, userAssignedIdentities: [oldEntry] } });
      const run = await fx.run(TASK, { inputs: podInputs(name, identity) });
      assertSucceeded(run);
      const entries = clusterNow(name)["podIdentityProfile"].userAssignedIdentities;
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.identity.resourceId, identity.id);
      assert.ok(
        run.warnings.some((w) => /was bound to the managed identity 'id-old-\d+'.*now bound/.test(w)),
        run.warnings.join("\n"),
      );
    });

    it("kubenet is refused without allowKubenet, before any write", async () => {
      const { identity, name } = setUp({});
      const run = await fx.run(TASK, { inputs: podInputs(name, identity) });
      assertFailedBeforeAnyWrite(run, /^allowKubenet: the cluster uses the kubenet network plugin.*workloadIdentity/);
    });

    it("kubenet with allowKubenet sets allowNetworkPluginKubenet and warns why it is risky", async () => {
      const { identity, name } = setUp({});
      const run = await fx.run(TASK, { inputs: podInputs(name, identity, { allowKubenet: true }) });
      assertSucceeded(run);
      assert.equal(clusterNow(name)["podIdentityProfile"].allowNetworkPluginKubenet, true);
      assert.ok(
        run.warnings.some((w) => /kubenet.*ARP-spoof/.test(w)),
        run.warnings.join("\n"),
      );
    });

    it("an identity that does not exist fails with a sentence naming it, before any write", async () => {
      const { name } = setUp();
      const run = await fx.run(TASK, { inputs: { ...podInputs(name, { name: "id-missing" } as ArmResource) } });
      assertFailedBeforeAnyWrite(
        run,
        /Could not read user-assigned managed identity 'id-missing' in resource group 'rg-pods'.*does not exist/,
      );
    });

    it("the role assignment already present under another name (409 RoleAssignmentExists) counts as done", async () => {
      const { cluster, identity, name } = setUp();
      fx.azure.store.put({
        id: `${identity.id}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
        name: "manual",
        type: "Microsoft.Authorization/roleAssignments",
        properties: {
          scope: identity.id,
          principalId: (cluster["identity"] as { principalId: string }).principalId,
          roleDefinitionId: `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${MI_OPERATOR}`,
        },
      });
      // ARM's read lag: the list does not show it yet, so the task tries to create its own.
      fx.azure.faults.add({ method: "GET", path: /roleAssignments$/, kind: "status", status: 200, body: { value: [] } });
      const run = await fx.run(TASK, { inputs: podInputs(name, identity) });
      assertSucceeded(run);
      assert.deepEqual(writes(), ["PUT roleAssignments 409", "PUT managedClusters 200"]);
      assert.equal(assignments(MI_OPERATOR).filter((a) => a.properties!["scope"] === identity.id).length, 1);
      assert.match(run.stdout, /already existed under another assignment name/);
    });

    it("grantReaderOnNodeResourceGroup gives the identity Reader on the node resource group", async () => {
      const { identity, name } = setUp();
      const run = await fx.run(TASK, { inputs: podInputs(name, identity, { grantReaderOnNodeResourceGroup: true }) });
      assertSucceeded(run);
      const reader = assignments(READER).filter((a) => a.properties!["principalId"] === identity.properties!["principalId"]);
      assert.equal(reader.length, 1);
      assert.equal(
        reader[0]!.properties!["scope"],
        `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${clusterNow(name)["nodeResourceGroup"]}`,
      );
    });

    it("an unregistered preview feature fails with the exact az command, before any write", async () => {
      const { identity, name } = setUp();
      fx.azure.store.setFeatureState(...FEATURE, "NotRegistered");
      try {
        const run = await fx.run(TASK, { inputs: podInputs(name, identity) });
        assertFailedBeforeAnyWrite(run, /az feature register --namespace Microsoft\.ContainerService --name EnablePodIdentityPreview/);
      } finally {
        fx.azure.store.setFeatureState(...FEATURE, "Registered");
      }
    });

    it("a preview feature it may not read warns, naming the operation Features_Get is authorized as, and goes on", async () => {
      const { identity, name } = setUp();
      // Features_Get is authorized as Microsoft.Features/providers/features/read ("Gets the feature of a
      // subscription in a given resource provider"); features/read is the subscription-wide list (Azure
      // resource provider operations, Microsoft.Features).
      fx.azure.faults.denyAuthorization({
        method: "GET",
        path: /\/providers\/Microsoft\.Features\/providers\/Microsoft\.ContainerService\/features\/EnablePodIdentityPreview$/i,
        action: "Microsoft.Features/providers/features/read",
        scope: `/subscriptions/${fx.azure.subscriptionId}`,
        objectId: fx.principalObjectId(),
      });
      const run = await fx.run(TASK, { inputs: podInputs(name, identity) });
      assertSucceeded(run);
      assert.ok(
        run.warnings.some((w) => w.includes("EnablePodIdentityPreview") && w.includes("Microsoft.Features/providers/features/read")),
        run.warnings.join("\n"),
      );
      assert.equal(clusterNow(name)["podIdentityProfile"].enabled, true);
    });

    it("a busy cluster (409 OperationNotAllowed) is waited for, then updated", async () => {
      const { cluster, identity, name } = setUp();
      fx.azure.store.startOperation(cluster.id, { refusals: 1 });
      const run = await fx.run(TASK, { inputs: podInputs(name, identity), variables: { "AksHardening.ClusterBusyTimeoutSeconds": "5" } });
      assertSucceeded(run);
      assert.deepEqual(
        writes().filter((w) => w.includes("managedClusters")),
        ["PUT managedClusters 409", "PUT managedClusters 200"],
      );
      assert.equal(clusterNow(name)["podIdentityProfile"].enabled, true);
    });
  });

  describe("identityMode: workloadIdentity", () => {
    it("a fresh cluster: one cluster PUT enables the OIDC issuer and workload identity, then the federated credential trusts its issuer", async () => {
      const { identity, name } = setUp();
      const run = await fx.run(TASK, { inputs: workloadInputs(name, identity) });
      assertSucceeded(run);
      assert.deepEqual(writes(), ["PUT managedClusters 200", "PUT federatedIdentityCredentials 201"]);
      const properties = clusterNow(name);
      assert.equal(properties["oidcIssuerProfile"].enabled, true);
      assert.equal(properties["securityProfile"].workloadIdentity?.enabled, true);
      const issuer = properties["oidcIssuerProfile"].issuerURL as string;
      assert.match(issuer, /^https:\/\/westeurope\.oic\.prod-aks\.azure\.com\/[0-9a-f-]+\/[0-9a-f-]+\/$/);
      const [credential] = credentials(identity);
      assert.equal(credential!.name, `${name}-todo-todo-sa`);
      assert.deepEqual(credential!.properties, {
        issuer,
        subject: "system:serviceaccount:todo:todo-sa",
        audiences: ["api://AzureADTokenExchange"],
      });
      assert.equal(run.outputs.oidcIssuerUrl, issuer);
      assert.equal(run.outputs.clientId, identity.properties!["clientId"]);
      assert.equal(run.outputs.bindingSelector, "");
      assert.equal(run.outputs.changed, "true");
      assert.ok(!run.warnings.some((w) => /deprecated/.test(w)));
      assert.match(run.summaries[0]!, new RegExp(`azure\\.workload\\.identity/client-id: "${String(identity.properties!["clientId"])}"`));
      assert.match(run.summaries[0]!, /azure\.workload\.identity\/use: "true"/);
      assert.match(run.summaries[0]!, /\| OIDC issuer \| _off_ \| enabled \|/, "the summary shows the state before the write");
      assert.match(run.summaries[0]!, /\| Workload identity \| _off_ \| enabled \|/);
    });

    it("re-run makes no write", async () => {
      const { identity, name } = setUp();
      assertSucceeded(await fx.run(TASK, { inputs: workloadInputs(name, identity) }));
      fx.azure.clearRequests();
      const run = await fx.run(TASK, { inputs: workloadInputs(name, identity) });
      assertSucceeded(run);
      assert.deepEqual(fx.armWrites(), []);
      assert.equal(run.outputs.changed, "false");
    });

    it("a credential of another name that already trusts the service account is enough", async () => {
      const { identity, name } = setUp({
        oidcIssuerProfile: { enabled: true, issuerURL: "https://westeurope.oic.prod-aks.azure.com/t/i/" },
        securityProfile: { workloadIdentity: { enabled: true } },
      });
      fx.azure.store.addFederatedIdentityCredential(identity.id, "made-by-hand", {
        issuer: "https://westeurope.oic.prod-aks.azure.com/t/i/",
        subject: "system:serviceaccount:todo:todo-sa",
      });
      const run = await fx.run(TASK, { inputs: workloadInputs(name, identity) });
      assertSucceeded(run);
      assert.deepEqual(fx.armWrites(), []);
      assert.match(run.stdout, /'made-by-hand' already trusts system:serviceaccount:todo:todo-sa/);
    });

    it("an identity with 20 federated credentials fails with a clear error, before any write", async () => {
      const { identity, name } = setUp();
      for (let i = 0; i < 20; i++)
        fx.azure.store.addFederatedIdentityCredential(identity.id, `fic-${i}`, {
          issuer: "https://issuer.example/",
          subject: `system:serviceaccount:ns:sa-${i}`,
        });
      const run = await fx.run(TASK, { inputs: workloadInputs(name, identity) });
      assertFailedBeforeAnyWrite(run, /already has 20 federated identity credentials, Azure's limit per identity/);
      assert.equal(clusterNow(name)["oidcIssuerProfile"].enabled, false);
    });

    it("dry run reads, plans and writes nothing", async () => {
      const { identity, name } = setUp();
      const run = await fx.run(TASK, { inputs: workloadInputs(name, identity, { dryRun: true }) });
      assertSucceeded(run);
      assert.deepEqual(fx.armWrites(), []);
      assert.equal(run.outputs.changed, "false");
      assert.equal(clusterNow(name)["oidcIssuerProfile"].enabled, false);
      assertSpeaksConditionally(run);
      assert.match(run.summaries[0]!, /Federated credential .* \| _none_ \|/);
    });
  });

  describe("identityMode left out", () => {
    it("means Workload ID: a step with serviceAccountName and no identityMode never enables the add-on or grants Managed Identity Operator", async () => {
      const { identity, name } = setUp();
      const { identityMode: _, ...inputs } = workloadInputs(name, identity);
      const run = await fx.run(TASK, { inputs });
      assertSucceeded(run);
      assert.deepEqual(writes(), ["PUT managedClusters 200", `PUT federatedIdentityCredentials 201`]);
      assert.notEqual(clusterNow(name)["podIdentityProfile"]?.enabled, true, "the add-on stays off");
      assert.deepEqual(
        assignments(MI_OPERATOR).filter((a) => a.id.startsWith(`${identity.id}/`)),
        [],
        "no Managed Identity Operator on the identity",
      );
      assert.equal(clusterNow(name)["securityProfile"].workloadIdentity?.enabled, true);
      assert.deepEqual(run.warnings, []);
    });

    it("with podIdentityName and no identityMode, fails before anything is read or written, naming the input and both ways out", async () => {
      const { identity, name } = setUp();
      const run = await fx.run(TASK, {
        inputs: { resourceGroupName: RG, clusterName: name, identity: identity.name, namespace: "todo", podIdentityName: "todo-app" },
      });
      assertFailedBeforeAnyWrite(
        run,
        /podIdentityName: is an input of identityMode 'podIdentity', but identityMode is 'workloadIdentity' \(the default\)\. Remove it for Workload ID, or set identityMode: podIdentity/,
      );
      assert.deepEqual(
        fx.azure.requests.filter((r) => r.path.startsWith("/subscriptions/")),
        [],
        "refused before any Azure call",
      );
    });
  });

  describe("inputs that contradict the mode are refused before any write", () => {
    const cases: { what: string; mode: "pod" | "workload"; extra: Record<string, string>; message: RegExp }[] = [
      {
        what: "serviceAccountName and federatedCredentialName with podIdentity",
        mode: "pod",
        extra: { serviceAccountName: "todo-sa", federatedCredentialName: "fic-todo" },
        message:
          /serviceAccountName and federatedCredentialName: are inputs of identityMode 'workloadIdentity', but identityMode is 'podIdentity'\. Remove them for the add-on, or set identityMode: workloadIdentity\./,
      },
      {
        what: "allowKubenet and grantReaderOnNodeResourceGroup true with workloadIdentity",
        mode: "workload",
        extra: { allowKubenet: "true", grantReaderOnNodeResourceGroup: "true" },
        message:
          /allowKubenet and grantReaderOnNodeResourceGroup: are inputs of identityMode 'podIdentity', but identityMode is 'workloadIdentity'\./,
      },
      {
        what: "bindingSelector with workloadIdentity",
        mode: "workload",
        extra: { bindingSelector: "sel" },
        message: /bindingSelector: is an input/,
      },
    ];
    for (const { what, mode, extra, message } of cases) {
      it(what, async () => {
        const { identity, name } = setUp();
        const inputs = mode === "pod" ? podInputs(name, identity, extra) : workloadInputs(name, identity, extra);
        assertFailedBeforeAnyWrite(await fx.run(TASK, { inputs }), message);
      });
    }

    it("the classic editor's hidden allowKubenet=false is no contradiction", async () => {
      const { identity, name } = setUp();
      assertSucceeded(await fx.run(TASK, { inputs: workloadInputs(name, identity, { allowKubenet: "false" }) }));
    });
  });

  // Input-only mistakes are in the bad-input matrix (test/reliability/bad-inputs.test.ts).
});
