import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { Fixture } from "../harness/fixture";
import type { StepRun } from "../harness/agent";
import {
  etagMismatchBody,
  type AccessPolicyEntry,
  type ArmResource,
  type PolicyStateRecord,
  type VaultNetworkAcls,
} from "../../local-azure/index";

/**
 * Answers real Azure gives that the tasks must survive (issue 12), each modelled in the local Azure
 * with its source: principalType checked against the directory, Key Vault's post-recovery 409s and
 * its 403s that are not permissions, built-in policies' own namespace exclusions, and compliance
 * results paged by POST. The packaged tasks run against it as the agent runs them.
 */
describe("real Azure answers the tasks survive", () => {
  const SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
  const SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
  const RG = "rg-real";
  let fx: Fixture;
  let count = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.azure.store.setFeatureState("Microsoft.ContainerService", "EnablePodIdentityPreview", "Registered");
  });
  after(async () => {
    await fx?.close();
  });

  const succeeded = (run: StepRun) => fx.assertSucceeded(run);
  /** The job summary as the reader sees the text: markdown's backslash escapes and entities removed. */
  const summary = (run: StepRun) =>
    (run.summaries[0] ?? "")
      .replace(/\\([!-/:-@[-`{-~])/g, "$1")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");

  function assignRole(scope: string, principalId: string, role: string): void {
    fx.azure.store.put({
      id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
      name: randomUUID(),
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        scope,
        principalId,
        principalType: "ServicePrincipal",
        roleDefinitionId: `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
      },
    });
  }

  /** A vault the spnKey connection may read, write and recover secrets in. */
  function newVault(p: { rbac?: boolean; networkAcls?: VaultNetworkAcls } = {}) {
    const name = `kv-real-${++count}`;
    const principal = fx.principalObjectId("spnKey");
    const accessPolicies: AccessPolicyEntry[] = p.rbac
      ? []
      : [{ tenantId: fx.azure.tenantId, objectId: principal, permissions: { secrets: ["get", "list", "set", "recover"] } }];
    const vault = fx.azure.store.addKeyVault(RG, name, {
      enableRbacAuthorization: p.rbac ?? false,
      accessPolicies,
      ...(p.networkAcls ? { networkAcls: p.networkAcls } : {}),
    });
    if (p.rbac) assignRole(vault.id, principal, SECRETS_OFFICER);
    fx.azure.faults.clear();
    fx.azure.clearRequests();
    return { name, id: vault.id };
  }

  const roleAssignmentPuts = () =>
    fx.azure.requests.filter((r) => r.method === "PUT" && /\/providers\/Microsoft\.Authorization\/roleAssignments\//i.test(r.path));

  describe("KeyVaultSecrets@1 grantTo on an RBAC vault: principalType only when the task knows it", () => {
    for (const kind of ["User", "Group"] as const) {
      it(`a ${kind.toLowerCase()}'s object ID is assigned without principalType; the summary says Azure recorded a ${kind}`, async () => {
        const { name, id } = newVault({ rbac: true });
        const objectId = fx.azure.store.directory.addUserOrGroup(kind);
        const run = await fx.run("KeyVaultSecrets", { inputs: { keyVaultName: name, resourceGroupName: RG, grantTo: objectId } });
        succeeded(run);
        const [put, ...more] = roleAssignmentPuts();
        assert.equal(more.length, 0);
        const sent = (put!.body as { properties: Record<string, unknown> }).properties;
        assert.equal(sent["principalType"], undefined, "no principalType is sent for an object ID of unknown kind");
        assert.equal(put!.status, 201);
        const stored = fx.azure.store
          .listByType("Microsoft.Authorization/roleAssignments")
          .find((a) => a.properties!["principalId"] === objectId && String(a.properties!["scope"]) === id);
        assert.equal(stored?.properties!["principalType"], kind, "Azure records the directory's type");
        assert.ok(String(stored?.properties!["roleDefinitionId"]).endsWith(SECRETS_USER));
        assert.match(summary(run), new RegExp(`kind: ${kind}, as Azure recorded it on the role assignment`));
        assert.equal(run.outputs.changed, "true");
      });
    }

    it("an app's service principal object ID works too, and a re-run grants nothing again", async () => {
      const { name } = newVault({ rbac: true });
      const app = fx.azure.addServicePrincipal({ clientId: randomUUID() });
      succeeded(await fx.run("KeyVaultSecrets", { inputs: { keyVaultName: name, resourceGroupName: RG, grantTo: app.objectId } }));
      assert.equal(roleAssignmentPuts()[0]!.status, 201);
      fx.azure.clearRequests();
      const again = await fx.run("KeyVaultSecrets", { inputs: { keyVaultName: name, resourceGroupName: RG, grantTo: app.objectId } });
      succeeded(again);
      assert.deepEqual(fx.armWrites(), []);
      assert.match(summary(again), /kind: ServicePrincipal, as Azure recorded it/);
    });

    it("a managed identity the task resolved is sent as principalType ServicePrincipal, and the summary says how the task knows", async () => {
      const { name } = newVault({ rbac: true });
      const identity = fx.azure.store.addUserAssignedIdentity("rg-real-ids", `id-real-${count}`);
      const run = await fx.run("KeyVaultSecrets", {
        inputs: { keyVaultName: name, resourceGroupName: RG, grantTo: String(identity.properties!["clientId"]) },
      });
      succeeded(run);
      const sent = (roleAssignmentPuts()[0]!.body as { properties: Record<string, unknown> }).properties;
      assert.equal(sent["principalType"], "ServicePrincipal");
      assert.equal(sent["principalId"], identity.properties!["principalId"]);
      assert.match(summary(run), /kind: service principal: a managed identity the task read from Azure Resource Manager/);
    });

    it("the local Azure refuses a principalType that does not match the directory (400 UnmatchedPrincipalType)", async () => {
      const user = fx.azure.store.directory.addUserOrGroup("User");
      const scope = fx.azure.store.addResourceGroup("rg-real-unmatched").id;
      const token = await armToken();
      const response = await call(
        "PUT",
        `${fx.azure.url}${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
        { authorization: `Bearer ${token}`, "content-type": "application/json" },
        JSON.stringify({
          properties: {
            roleDefinitionId: `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${SECRETS_USER}`,
            principalId: user,
            principalType: "ServicePrincipal",
          },
        }),
      );
      assert.equal(response.status, 400);
      const body = response.json as { error: { code: string; message: string } };
      assert.equal(body.error.code, "UnmatchedPrincipalType");
      assert.match(body.error.message, /has type 'User' , which is different from specified PrinciaplType 'ServicePrincipal'/);
    });
  });

  /** One HTTPS request to the local Azure from the test itself (trusting its certificate). */
  function call(method: string, url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, ca: readFileSync(fx.azure.caCertPath) }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  /** An ARM token for the spnKey connection's app, straight from the local Entra (for requests the tests make themselves). */
  async function armToken(): Promise<string> {
    const { endpoint } = fx.connection("spnKey");
    const response = await call(
      "POST",
      `${fx.azure.url}/${fx.azure.tenantId}/oauth2/v2.0/token`,
      { "content-type": "application/x-www-form-urlencoded" },
      new URLSearchParams({
        grant_type: "client_credentials",
        client_id: endpoint.parameters["serviceprincipalid"]!,
        client_secret: endpoint.parameters["serviceprincipalkey"]!,
        scope: `${fx.azure.armAudience}.default`,
      }).toString(),
    );
    return (response.json as { access_token: string }).access_token;
  }

  describe("KeyVaultSecrets@1 and Key Vault's own answers", () => {
    it("a recovered secret that refuses writes for a while (409 ObjectIsBeingRecovered) is written once the recovery settles, and the wait is logged", async () => {
      const { name } = newVault();
      fx.azure.store.setVaultSecret(name, "db-password", "old-value-1234");
      fx.azure.store.deleteVaultSecret(name, "db-password");
      fx.azure.store.secretRecoveryConflicts = 2;
      try {
        const value = `new-${randomUUID()}`;
        const run = await fx.run("KeyVaultSecrets", {
          inputs: { keyVaultName: name, resourceGroupName: RG, secrets: `db-password=${value}` },
          secrets: { dbPassword: value },
        });
        succeeded(run);
        const writes = fx.azure.requests.filter((r) => r.method === "PUT" && r.path === "/secrets/db-password");
        assert.deepEqual(
          writes.map((w) => w.status),
          [409, 409, 200],
        );
        assert.deepEqual(
          fx.azure.store.vaultSecret(name, "db-password")!.properties.versions.map((v) => v.value),
          ["old-value-1234", value],
        );
        // A growing pause: QUICK_WAITS's 10 ms first, then twice that (the product starts at 1 s: test/unit/wait-budget.test.ts).
        assert.match(run.stdout, /still being recovered from soft delete \(409 ObjectIsBeingRecovered\); writing it again in 10 ms/);
        assert.match(run.stdout, /writing it again in 20 ms/);
        assert.match(run.summaries[0]!, /Secret `db-password` \| _soft-deleted_ \| recovered and updated/);
      } finally {
        fx.azure.store.secretRecoveryConflicts = 0;
      }
    });

    it("a vault firewall that blocks the agent (403 ForbiddenByFirewall) is named as such, with the agent's address and how to allow it", async () => {
      const { name } = newVault({
        networkAcls: { bypass: "AzureServices", defaultAction: "Deny", ipRules: [{ value: "198.51.100.0/24" }], virtualNetworkRules: [] },
      });
      const run = await fx.run("KeyVaultSecrets", {
        inputs: { keyVaultName: name, resourceGroupName: RG, secrets: "db-user=todo-admin-1" },
      });
      assert.equal(run.result, "Failed");
      assert.match(
        run.resultMessage ?? "",
        new RegExp(
          `^The firewall of key vault '${name}' in resource group '${RG}' blocks this agent \\(Key Vault saw it come from ${fx.azure.publicIp.replace(/\./g, "\\.")}\\).*This is not a permission problem\\. .*az keyvault network-rule add --name ${name} --ip-address ${fx.azure.publicIp.replace(/\./g, "\\.")}`,
        ),
      );
      assert.doesNotMatch(run.resultMessage ?? "", /may not|permission 'get'|Secrets Officer/);
      assert.ok(fx.azure.requests.some((r) => r.host.startsWith(`${name}.vault.azure.net`) && r.status === 403));
      assert.deepEqual(fx.azure.store.vaultSecret(name, "db-user"), undefined, "nothing was written");
    });

    it("the same vault admits the agent once its address is in the firewall's rules", async () => {
      const { name } = newVault({
        networkAcls: { bypass: "None", defaultAction: "Deny", ipRules: [{ value: `${fx.azure.publicIp}/32` }], virtualNetworkRules: [] },
      });
      succeeded(
        await fx.run("KeyVaultSecrets", { inputs: { keyVaultName: name, resourceGroupName: RG, secrets: "db-user=todo-admin-2" } }),
      );
      assert.deepEqual(
        fx.azure.store.vaultSecret(name, "db-user")!.properties.versions.map((v) => v.value),
        ["todo-admin-2"],
      );
    });

    it("a vault without public network access (403 ForbiddenByConnection) is named as such, not as a missing permission", async () => {
      const { name, id } = newVault();
      const vault = fx.azure.store.get(id)!;
      fx.azure.store.put({ ...vault, properties: { ...vault.properties, publicNetworkAccess: "Disabled" } });
      const run = await fx.run("KeyVaultSecrets", {
        inputs: { keyVaultName: name, resourceGroupName: RG, secrets: "db-user=todo-admin-3" },
      });
      assert.equal(run.result, "Failed");
      assert.match(
        run.resultMessage ?? "",
        new RegExp(
          `^The key vault '${name}' .* does not accept connections over its public endpoint .*This is not a permission problem\\. .*private endpoint`,
        ),
      );
      assert.equal(fx.azure.store.vaultSecret(name, "db-user"), undefined);
    });

    it("a disabled secret (403 SecretDisabled) is named as disabled, not as a missing permission, and is not overwritten", async () => {
      const { name } = newVault();
      fx.azure.store.setVaultSecret(name, "db-url", "jdbc:old-value");
      fx.azure.store.setVaultSecretEnabled(name, "db-url", false);
      const run = await fx.run("KeyVaultSecrets", {
        inputs: { keyVaultName: name, resourceGroupName: RG, secrets: "db-url=jdbc:new-value" },
      });
      assert.equal(run.result, "Failed");
      assert.match(
        run.resultMessage ?? "",
        new RegExp(
          `^The secret 'db-url' in key vault '${name}' .* is disabled, .*This is not a permission problem\\. Enable it .*--enabled true`,
        ),
      );
      assert.doesNotMatch(run.resultMessage ?? "", /may not|Secrets Officer/);
      assert.equal(fx.azure.store.vaultSecret(name, "db-url")!.properties.versions.length, 1);
    });

    it("a real authorization failure still says which permission is missing", async () => {
      const name = `kv-real-${++count}`;
      fx.azure.store.addKeyVault(RG, name, { enableRbacAuthorization: true });
      const run = await fx.run("KeyVaultSecrets", { inputs: { keyVaultName: name, resourceGroupName: RG, secrets: "db-user=someone-1" } });
      assert.equal(run.result, "Failed");
      assert.match(
        run.resultMessage ?? "",
        /^The service connection may not read the secret 'db-user' .*assign the connection's identity the role Key Vault Secrets Officer/,
      );
    });
  });

  describe("AssignAksPolicies@1: the definitions' own exclusions and every page of compliance results", () => {
    const RESOURCE_LIMITS = "e345eecc-fa47-480f-9e88-67dcc122b164";

    function newCluster(): { name: string; id: string } {
      const name = `aks-real-${++count}`;
      const cluster = fx.azure.store.addManagedCluster(RG, name, { properties: { addonProfiles: { azurepolicy: { enabled: true } } } });
      fx.azure.faults.clear();
      fx.azure.clearRequests();
      return { name, id: cluster.id };
    }

    const assignment = (clusterId: string, name: string) =>
      fx.azure.store.get(`${clusterId}/providers/Microsoft.Authorization/policyAssignments/${name}`)!.properties as {
        parameters: Record<string, { value: unknown }>;
      };

    it("without excludedNamespaces no value is sent, so the definition keeps its own default (azure-extensions-usage-system included)", async () => {
      const { name, id } = newCluster();
      succeeded(
        await fx.run("AssignAksPolicies", {
          inputs: { resourceGroupName: RG, clusterName: name, policies: "resourceLimits", cpuLimit: "500m", memoryLimit: "512Mi" },
        }),
      );
      const sent = fx.azure.requests.find((r) => r.method === "PUT" && r.path.endsWith("/aks-hardening-resourceLimits"))!;
      assert.equal(
        (sent.body as { properties: { parameters: Record<string, unknown> } }).properties.parameters["excludedNamespaces"],
        undefined,
      );
      assert.equal(assignment(id, "aks-hardening-resourceLimits").parameters["excludedNamespaces"], undefined);
      const definition = fx.azure.store.get(`/providers/Microsoft.Authorization/policyDefinitions/${RESOURCE_LIMITS}`)!;
      const defaults = (definition.properties!["parameters"] as Record<string, { defaultValue?: unknown }>)["excludedNamespaces"]!
        .defaultValue;
      assert.deepEqual(defaults, ["kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system"]);
    });

    it("set namespaces are written exactly; cleared again, the value the task wrote is removed", async () => {
      const { name, id } = newCluster();
      const base = { resourceGroupName: RG, clusterName: name, policies: "noPrivilegedContainers" };
      succeeded(await fx.run("AssignAksPolicies", { inputs: { ...base, excludedNamespaces: "kube-system, monitoring" } }));
      assert.deepEqual(assignment(id, "aks-hardening-noPrivilegedContainers").parameters["excludedNamespaces"], {
        value: ["kube-system", "monitoring"],
      });
      const cleared = await fx.run("AssignAksPolicies", { inputs: base });
      succeeded(cleared);
      assert.equal(assignment(id, "aks-hardening-noPrivilegedContainers").parameters["excludedNamespaces"], undefined);
      assert.equal(cleared.outputs.changed, "true");
      assert.match(summary(cleared), /excludedNamespaces: kube-system, monitoring → \(the definition's default\)/);
    });

    it("1,500 non-compliant results are counted as 1,500: every @odata.nextLink is POSTed, none is fetched with GET", async () => {
      const { name, id } = newCluster();
      const inputs = { resourceGroupName: RG, clusterName: name, policies: "noPrivilegedContainers" };
      succeeded(await fx.run("AssignAksPolicies", { inputs }));
      const [template] = fx.azure.store.evaluatePolicies(id, ["aks-hardening-noPrivilegedContainers"]);
      const rows: PolicyStateRecord[] = Array.from({ length: 1500 }, (_, i) => ({
        ...template!,
        resourceId: `${id}/pods/todo-${i}`,
      }));
      rows.push({ ...template!, resourceId: `${id}/pods/compliant`, complianceState: "Compliant", isCompliant: true });
      fx.azure.store.recordPolicyStates(id, rows);
      fx.azure.clearRequests();
      const run = await fx.run("AssignAksPolicies", { inputs: { ...inputs, reportCompliance: true } });
      succeeded(run);
      const queries = fx.azure.requests.filter((r) => /\/policyStates\/latest\/queryResults$/i.test(r.path));
      assert.deepEqual(
        queries.map((q) => `${q.method} ${q.status} ${q.query["$skiptoken"] === undefined ? "first" : "next"}`),
        ["POST 200 first", "POST 200 next"],
      );
      assert.match(run.summaries[0]!, /`aks-hardening-noPrivilegedContainers` \| 1 \| 1500 \|/);
    });

    it("the local Azure refuses a GET of the next page (HttpMethodNotSupported), as Policy Insights does", async () => {
      const { id } = newCluster();
      const token = await armToken();
      const response = await call(
        "GET",
        `${fx.azure.url}${id}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=2024-10-01&$skiptoken=MTAwMA`,
        { authorization: `Bearer ${token}` },
      );
      assert.equal(response.status, 405);
      assert.equal((response.json as { error: { code: string } }).error.code, "HttpMethodNotSupported");
    });
  });

  describe("AKS: EtagMismatch, a retry that meets our own operation, pod identities", () => {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const busyVariables = { "AksHardening.ClusterBusyTimeoutSeconds": "20" };

    function newCluster(properties: Record<string, unknown> = {}): { name: string; cluster: ArmResource; put: RegExp } {
      const name = `aks-real-${++count}`;
      const cluster = fx.azure.store.addManagedCluster(RG, name, {
        properties: { networkProfile: { networkPlugin: "azure" }, ...properties },
      });
      fx.azure.faults.clear();
      fx.azure.clearRequests();
      return { name, cluster, put: new RegExp(`${escape(cluster.id)}$`, "i") };
    }

    const ranges = (cluster: ArmResource) =>
      (fx.azure.store.get(cluster.id)!.properties!["apiServerAccessProfile"] as { authorizedIPRanges?: string[] } | undefined)
        ?.authorizedIPRanges;
    const clusterPuts = (cluster: ArmResource) =>
      fx.azure.requests.filter((r) => r.method === "PUT" && r.path.toLowerCase() === cluster.id.toLowerCase()).map((r) => r.status);

    it("409 EtagMismatch ('Another operation ... is in progress') is waited out like a busy cluster: re-read, re-planned, written", async () => {
      const { name, cluster, put } = newCluster();
      fx.azure.faults.add({ method: "PUT", path: put, kind: "status", status: 409, body: etagMismatchBody(), times: 2 });
      const run = await fx.run("RestrictApiServer", {
        inputs: { resourceGroupName: RG, clusterName: name, action: "add", authorizedIpRanges: "203.0.113.0/24" },
        variables: busyVariables,
      });
      succeeded(run);
      assert.deepEqual(clusterPuts(cluster), [409, 409, 200]);
      assert.deepEqual(ranges(cluster), ["203.0.113.0/24"]);
      assert.equal((run.stdout.match(/Another operation is running on managed cluster/g) ?? []).length, 2, "each wait is logged");
      assert.equal(run.outputs.changed, "true");
    });

    it("409 EtagMismatch past AksHardening.ClusterBusyTimeoutSeconds fails with the busy sentence, nothing written", async () => {
      const { name, cluster, put } = newCluster();
      fx.azure.faults.add({ method: "PUT", path: put, kind: "status", status: 409, body: etagMismatchBody(), times: 1000 });
      const run = await fx.run("RestrictApiServer", {
        inputs: { resourceGroupName: RG, clusterName: name, action: "add", authorizedIpRanges: "203.0.113.0/24" },
        variables: { "AksHardening.ClusterBusyTimeoutSeconds": "0.04" },
      });
      assert.equal(run.result, "Failed");
      assert.match(
        run.resultMessage ?? "",
        /^Another operation is still running on managed cluster .*AksHardening\.ClusterBusyTimeoutSeconds/,
      );
      assert.equal(ranges(cluster), undefined);
    });

    it("a write whose answer is lost, retried into the operation it started (409), still reports changed=true", async () => {
      const { name, cluster, put } = newCluster();
      // The PUT is made and its answer lost; the pipeline's retry meets the update that PUT began.
      fx.azure.faults.add({ method: "PUT", path: put, kind: "lostResponse" });
      fx.azure.faults.add({ method: "PUT", path: put, kind: "status", status: 409, body: etagMismatchBody() });
      const run = await fx.run("RestrictApiServer", {
        inputs: { resourceGroupName: RG, clusterName: name, action: "add", authorizedIpRanges: "203.0.113.0/24" },
        variables: busyVariables,
      });
      succeeded(run);
      assert.deepEqual(clusterPuts(cluster), [0, 409], "one write landed unanswered, its retry was refused as busy, none after");
      assert.deepEqual(ranges(cluster), ["203.0.113.0/24"]);
      assert.equal(run.outputs.changed, "true");
      assert.match(run.stdout, /already has the change after a write was refused \(409 EtagMismatch\)/);
      assert.match(run.summaries[0]!, /`203\.0\.113\.0\/24`/);
    });

    it("pod identity: a cluster whose exceptions AKS answers with podLabels null is read by the tasks and sent back with podLabels {}", async () => {
      const { name, cluster } = newCluster({
        podIdentityProfile: {
          enabled: true,
          userAssignedIdentities: [],
          userAssignedIdentityExceptions: [{ name: "kube-probe", namespace: "monitoring", podLabels: null }],
        },
      });
      // @azure/arm-containerservice alone cannot even read this cluster (Object.entries(null)).
      succeeded(
        await fx.run("RestrictApiServer", {
          inputs: { resourceGroupName: RG, clusterName: name, action: "add", authorizedIpRanges: "198.51.100.7" },
        }),
      );
      fx.azure.clearRequests();
      const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-real-${count}`);
      const run = await fx.run("EnablePodIdentity", {
        inputs: {
          resourceGroupName: RG,
          clusterName: name,
          identity: identity.name,
          namespace: "todo",
          podIdentityName: "todo-app",
          identityMode: "podIdentity",
        },
      });
      succeeded(run);
      const sent = fx.azure.requests.find((r) => r.method === "PUT" && r.path.toLowerCase() === cluster.id.toLowerCase())!;
      const exceptions = (sent.body as { properties: { podIdentityProfile: { userAssignedIdentityExceptions: unknown[] } } }).properties
        .podIdentityProfile.userAssignedIdentityExceptions;
      assert.deepEqual(exceptions, [{ name: "kube-probe", namespace: "monitoring", podLabels: {} }]);
      assert.equal(sent.status, 200);
    });

    it("the local Azure refuses an exception sent back with podLabels null (as the 2021-10-01 API does)", async () => {
      const { cluster } = newCluster();
      const token = await armToken();
      const body = structuredClone(fx.azure.store.get(cluster.id)!);
      body.properties!["podIdentityProfile"] = {
        enabled: true,
        userAssignedIdentities: [],
        userAssignedIdentityExceptions: [{ name: "kube-probe", namespace: "monitoring", podLabels: null }],
      };
      const response = await call(
        "PUT",
        `${fx.azure.url}${cluster.id}?api-version=2025-10-01`,
        { authorization: `Bearer ${token}`, "content-type": "application/json" },
        JSON.stringify(body),
      );
      assert.equal(response.status, 400);
      assert.match(
        (response.json as { error: { message: string } }).error.message,
        /userAssignedIdentityExceptions\[0\].*podLabels is required/,
      );
    });

    it("pod identity: a Managed Identity Operator grant not yet in effect makes AKS refuse the write (400); the task waits, writes again and the pod identity is Assigned", async () => {
      const { name, cluster } = newCluster();
      const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-real-${count}`);
      fx.azure.store.roleAssignmentPropagationChecks = 1;
      try {
        const run = await fx.run("EnablePodIdentity", {
          inputs: {
            resourceGroupName: RG,
            clusterName: name,
            identity: identity.name,
            namespace: "todo",
            podIdentityName: "todo-app",
            identityMode: "podIdentity",
          },
        });
        succeeded(run);
        assert.deepEqual(clusterPuts(cluster), [400, 200], "refused once for the missing permission, then accepted");
        const [first] = fx.azure.requests.filter((r) => r.method === "PUT" && r.path.toLowerCase() === cluster.id.toLowerCase());
        assert.ok(first);
        const entry = (
          fx.azure.store.get(cluster.id)!.properties!["podIdentityProfile"] as { userAssignedIdentities: { provisioningState: string }[] }
        ).userAssignedIdentities[0]!;
        assert.equal(entry.provisioningState, "Assigned");
        assert.match(
          run.stdout,
          /could not use the managed identity .* yet \(BadRequest\): the Managed Identity Operator grant has not propagated\. Writing the pod identity again in 10 ms/,
        );
        assert.equal(run.outputs.changed, "true");
        assert.match(summary(run), /Managed Identity Operator goes to the cluster's control-plane identity/);
      } finally {
        fx.azure.store.roleAssignmentPropagationChecks = 0;
      }
    });

    it("pod identity: a binding an earlier run left Failed is written again by the next run", async () => {
      const { name, cluster } = newCluster();
      const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-real-${count}`);
      const entry = {
        name: "todo-app",
        namespace: "todo",
        bindingSelector: "todo-app",
        identity: { resourceId: identity.id, clientId: identity.properties!["clientId"], objectId: identity.properties!["principalId"] },
        provisioningState: "Failed",
        provisioningInfo: { error: { error: { code: "LinkedAuthorizationFailed", message: "not yet" } } },
      };
      fx.azure.store.put({
        ...fx.azure.store.get(cluster.id)!,
        properties: {
          ...fx.azure.store.get(cluster.id)!.properties,
          podIdentityProfile: { enabled: true, userAssignedIdentities: [entry] },
        },
      });
      const principal = (cluster["identity"] as { principalId: string }).principalId;
      assignRole(identity.id, principal, "f1a07417-d97a-45cb-824c-7a7467783830");
      const run = await fx.run("EnablePodIdentity", {
        inputs: {
          resourceGroupName: RG,
          clusterName: name,
          identity: identity.name,
          namespace: "todo",
          podIdentityName: "todo-app",
          identityMode: "podIdentity",
        },
      });
      succeeded(run);
      assert.deepEqual(clusterPuts(cluster), [200]);
      const now = (
        fx.azure.store.get(cluster.id)!.properties!["podIdentityProfile"] as { userAssignedIdentities: { provisioningState: string }[] }
      ).userAssignedIdentities;
      assert.deepEqual(
        now.map((e) => e.provisioningState),
        ["Assigned"],
      );
      assert.equal(run.outputs.changed, "true");
    });
  });
});
