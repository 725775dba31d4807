import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture } from "../harness/fixture";
import type { AccessPolicyEntry } from "../../local-azure/index";
import { assertSucceeded, cellName } from "./cells";

describe("test/reliability/concurrency", () => {
  /**
   * Concurrency: two runs of a task against the same resource at once, and a task racing an outside
   * change. Both changes must be there afterwards (or one run must fail with a clear conflict error);
   * never one silently lost. The first write is held back until the other run's write comes in, so
   * both runs have read the resource before either write lands.
   */

  let fx: Fixture;
  let count = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.azure.store.setFeatureState("Microsoft.ContainerService", "EnablePodIdentityPreview", "Registered");
  });
  after(async () => {
    await fx?.close();
  });

  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  /** Holds the first matching write until a second one arrives (the held one counts as the first). */
  function holdFirstWrite(path: RegExp, method = "PUT"): void {
    const writes = { method, path };
    fx.azure.faults.add({ ...writes, kind: "hold", until: fx.azure.faults.afterRequests(writes, 2) });
  }

  it(cellName("RestrictApiServer", "concurrent runs", "two adds at once"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name, {
      properties: { apiServerAccessProfile: { authorizedIPRanges: ["10.1.0.0/16"] } },
    });
    holdFirstWrite(new RegExp(`${escape(cluster.id)}$`, "i"));
    const inputs = (range: string) => ({ resourceGroupName: "rg-conc", clusterName: name, action: "add", authorizedIpRanges: range });
    const runs = await Promise.all([
      fx.run("RestrictApiServer", { inputs: inputs("203.0.113.0/24") }),
      fx.run("RestrictApiServer", { inputs: inputs("198.51.100.0/24") }),
    ]);
    runs.forEach(assertSucceeded);
    const ranges = (fx.azure.store.get(cluster.id)!.properties!["apiServerAccessProfile"] as { authorizedIPRanges: string[] })
      .authorizedIPRanges;
    assert.deepEqual([...ranges].sort(), ["10.1.0.0/16", "198.51.100.0/24", "203.0.113.0/24"]);
  });

  it(cellName("RestrictApiServer", "concurrent runs", "the same change twice at once"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name, {
      properties: { apiServerAccessProfile: { authorizedIPRanges: ["10.1.0.0/16"] } },
    });
    holdFirstWrite(new RegExp(`${escape(cluster.id)}$`, "i"));
    const inputs = { resourceGroupName: "rg-conc", clusterName: name, action: "set", authorizedIpRanges: "203.0.113.0/24" };
    const runs = await Promise.all([fx.run("RestrictApiServer", { inputs }), fx.run("RestrictApiServer", { inputs })]);
    runs.forEach(assertSucceeded);
    const ranges = (fx.azure.store.get(cluster.id)!.properties!["apiServerAccessProfile"] as { authorizedIPRanges: string[] })
      .authorizedIPRanges;
    assert.deepEqual(ranges, ["203.0.113.0/24"]);
  });

  it(cellName("EnablePodIdentity", "concurrent runs", "two pod identities on one cluster at once"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name, { properties: { networkProfile: { networkPlugin: "azure" } } });
    const a = fx.azure.store.addUserAssignedIdentity("rg-conc", `id-conc-a-${count}`);
    const b = fx.azure.store.addUserAssignedIdentity("rg-conc", `id-conc-b-${count}`);
    holdFirstWrite(new RegExp(`${escape(cluster.id)}$`, "i"));
    const inputs = (identity: string, namespace: string) => ({
      resourceGroupName: "rg-conc",
      clusterName: name,
      identityMode: "podIdentity",
      identity,
      namespace,
      podIdentityName: "app",
    });
    const runs = await Promise.all([
      fx.run("EnablePodIdentity", { inputs: inputs(a.name, "team-a") }),
      fx.run("EnablePodIdentity", { inputs: inputs(b.name, "team-b") }),
    ]);
    runs.forEach(assertSucceeded);
    const profile = fx.azure.store.get(cluster.id)!.properties!["podIdentityProfile"] as {
      userAssignedIdentities: { namespace: string; identity: { resourceId: string } }[];
    };
    assert.deepEqual(profile.userAssignedIdentities.map((e) => `${e.namespace}:${e.identity.resourceId.split("/").pop()}`).sort(), [
      `team-a:${a.name}`,
      `team-b:${b.name}`,
    ]);
  });

  it(cellName("KeyVaultSecrets", "concurrent runs", "two grants and two secrets at once"), async () => {
    const vaultName = `kv-conc-${++count}`;
    const vault = fx.azure.store.addKeyVault("rg-conc", vaultName, {
      accessPolicies: [
        { tenantId: fx.azure.tenantId, objectId: fx.principalObjectId(), permissions: { secrets: ["get", "list", "set", "recover"] } },
      ],
    });
    const a = fx.azure.store.addUserAssignedIdentity("rg-conc", `id-kv-a-${count}`);
    const b = fx.azure.store.addUserAssignedIdentity("rg-conc", `id-kv-b-${count}`);
    holdFirstWrite(new RegExp(`/vaults/${vaultName}/accessPolicies/add$`));
    const values = { first: `first-${randomUUID()}`, second: `second-${randomUUID()}` };
    const run = (grantTo: string, line: string, secrets: Record<string, string>) =>
      fx.run("KeyVaultSecrets", { inputs: { keyVaultName: vaultName, grantTo, secrets: line }, secrets });
    const runs = await Promise.all([
      run(a.id, `first=${values.first}`, { first: values.first }),
      run(b.id, `second=${values.second}`, { second: values.second }),
    ]);
    runs.forEach(assertSucceeded);
    const policies = fx.azure.store.get(vault.id)!.properties!["accessPolicies"] as AccessPolicyEntry[];
    for (const identity of [a, b]) {
      assert.deepEqual(policies.find((p) => p.objectId === identity.properties!["principalId"])?.permissions.secrets, ["get", "list"]);
    }
    assert.equal(fx.azure.store.vaultSecret(vaultName, "first")?.properties.versions.at(-1)?.value, values.first);
    assert.equal(fx.azure.store.vaultSecret(vaultName, "second")?.properties.versions.at(-1)?.value, values.second);
  });

  it(cellName("KeyVaultSecrets", "outside change", "someone adds an access policy while the task grants"), async () => {
    const vaultName = `kv-conc-${++count}`;
    const vault = fx.azure.store.addKeyVault("rg-conc", vaultName, {
      accessPolicies: [
        { tenantId: fx.azure.tenantId, objectId: fx.principalObjectId(), permissions: { secrets: ["get", "list", "set", "recover"] } },
      ],
    });
    const identity = fx.azure.store.addUserAssignedIdentity("rg-conc", `id-kv-out-${count}`);
    const someoneElse: AccessPolicyEntry = { tenantId: fx.azure.tenantId, objectId: randomUUID(), permissions: { keys: ["get"] } };
    fx.azure.faults.add({
      method: "PUT",
      path: new RegExp(`/vaults/${vaultName}/accessPolicies/add$`),
      kind: "pass",
      onMatch: () => {
        const current = fx.azure.store.get(vault.id)!;
        const policies = current.properties!["accessPolicies"] as AccessPolicyEntry[];
        fx.azure.store.put({ ...current, properties: { ...current.properties, accessPolicies: [...policies, someoneElse] } });
      },
    });
    assertSucceeded(await fx.run("KeyVaultSecrets", { inputs: { keyVaultName: vaultName, grantTo: identity.id } }));
    const policies = fx.azure.store.get(vault.id)!.properties!["accessPolicies"] as AccessPolicyEntry[];
    assert.deepEqual(
      policies.find((p) => p.objectId === someoneElse.objectId),
      someoneElse,
      "the outside change is kept",
    );
    assert.deepEqual(policies.find((p) => p.objectId === identity.properties!["principalId"])?.permissions.secrets, ["get", "list"]);
  });

  it(cellName("SecureClusterAccess", "concurrent runs", "two admin groups at once"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name, { tags: { team: "payments" } });
    const [a, b] = [fx.azure.store.directory.addUserOrGroup("Group"), fx.azure.store.directory.addUserOrGroup("Group")];
    holdFirstWrite(new RegExp(`${escape(cluster.id)}$`, "i"));
    const inputs = (group: string) => ({ resourceGroupName: "rg-conc", clusterName: name, adminGroupObjectIds: group });
    const runs = await Promise.all([
      fx.run("SecureClusterAccess", { inputs: inputs(a) }),
      fx.run("SecureClusterAccess", { inputs: inputs(b) }),
    ]);
    runs.forEach(assertSucceeded);
    const now = fx.azure.store.get(cluster.id)!;
    const aad = now.properties!["aadProfile"] as { managed: boolean; adminGroupObjectIDs: string[] };
    assert.deepEqual([...aad.adminGroupObjectIDs].sort(), [a, b].sort(), "both groups administer the cluster");
    assert.equal(now.properties!["disableLocalAccounts"], true);
    assert.deepEqual(now.tags, { team: "payments" });
  });

  it(cellName("ProtectKeyVault", "concurrent runs", "two allowed ranges on one vault at once"), async () => {
    const vaultName = `kv-conc-${++count}`;
    const vault = fx.azure.store.addKeyVault("rg-conc", vaultName, {
      networkAcls: { bypass: "AzureServices", defaultAction: "Allow", ipRules: [{ value: "203.0.113.0/24" }], virtualNetworkRules: [] },
    });
    holdFirstWrite(new RegExp(`/vaults/${vaultName}$`), "PATCH");
    const inputs = (range: string) => ({ resourceGroupName: "rg-conc", keyVaultName: vaultName, allowedIpRanges: range });
    const runs = await Promise.all([
      fx.run("ProtectKeyVault", { inputs: inputs("198.51.100.0/24") }),
      fx.run("ProtectKeyVault", { inputs: inputs("192.0.2.0/24") }),
    ]);
    runs.forEach(assertSucceeded);
    const acls = fx.azure.store.get(vault.id)!.properties!["networkAcls"] as { defaultAction: string; ipRules: { value: string }[] };
    assert.equal(acls.defaultAction, "Deny");
    assert.deepEqual(acls.ipRules.map((r) => r.value).sort(), ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]);
  });

  it(cellName("AssignAksPolicies", "concurrent runs", "two policy selections on one cluster at once"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name);
    holdFirstWrite(new RegExp(`${escape(cluster.id)}$`, "i"));
    const inputs = (policies: string) => ({
      resourceGroupName: "rg-conc",
      clusterName: name,
      policies,
      cpuLimit: "500m",
      memoryLimit: "512Mi",
    });
    const runs = await Promise.all([
      fx.run("AssignAksPolicies", { inputs: inputs("noPrivilegedContainers") }),
      fx.run("AssignAksPolicies", { inputs: inputs("resourceLimits") }),
    ]);
    runs.forEach(assertSucceeded);
    const addon = (fx.azure.store.get(cluster.id)!.properties!["addonProfiles"] as Record<string, { enabled?: boolean }>)["azurepolicy"];
    assert.equal(addon?.enabled, true);
    assert.deepEqual(
      fx.azure.store
        .list(cluster.id, "Microsoft.Authorization/policyAssignments")
        .map((a) => a.name)
        .sort(),
      ["aks-hardening-noPrivilegedContainers", "aks-hardening-resourceLimits"],
    );
  });

  it(cellName("AssignAksPolicies", "outside change", "someone turns on another add-on while the task enables Azure Policy"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name);
    fx.azure.faults.add({
      method: "PUT",
      path: new RegExp(`${escape(cluster.id)}$`, "i"),
      kind: "pass",
      onMatch: () => {
        const current = fx.azure.store.get(cluster.id)!;
        const addonProfiles = { ...(current.properties!["addonProfiles"] as object), omsagent: { enabled: true, config: {} } };
        fx.azure.store.put({ ...current, properties: { ...current.properties, addonProfiles } });
        fx.azure.store.touch(cluster.id);
      },
    });
    assertSucceeded(
      await fx.run("AssignAksPolicies", {
        inputs: { resourceGroupName: "rg-conc", clusterName: name, policies: "noPrivilegedContainers" },
      }),
    );
    const addons = fx.azure.store.get(cluster.id)!.properties!["addonProfiles"] as Record<string, { enabled?: boolean }>;
    assert.equal(addons["omsagent"]?.enabled, true, "the outside change is kept");
    assert.equal(addons["azurepolicy"]?.enabled, true);
  });

  it(cellName("EnablePodIdentity", "outside change", "someone tags the cluster while the task adds a pod identity"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name, { properties: { networkProfile: { networkPlugin: "azure" } } });
    const identity = fx.azure.store.addUserAssignedIdentity("rg-conc", `id-conc-out-${count}`);
    fx.azure.faults.add({
      method: "PUT",
      path: new RegExp(`${escape(cluster.id)}$`, "i"),
      kind: "pass",
      onMatch: () => {
        const current = fx.azure.store.get(cluster.id)!;
        fx.azure.store.put({ ...current, tags: { ...(current["tags"] as object), owner: "someone-else" } });
        fx.azure.store.touch(cluster.id);
      },
    });
    const run = await fx.run("EnablePodIdentity", {
      inputs: {
        resourceGroupName: "rg-conc",
        clusterName: name,
        identityMode: "podIdentity",
        identity: identity.name,
        namespace: "todo",
        podIdentityName: "app",
      },
    });
    assertSucceeded(run);
    const now = fx.azure.store.get(cluster.id)!;
    assert.equal((now["tags"] as Record<string, string>)["owner"], "someone-else", "the outside change is kept");
    assert.equal((now.properties!["podIdentityProfile"] as { enabled: boolean }).enabled, true);
  });
  it(cellName("AksHardeningReport", "concurrent runs", "two reports of one cluster while RestrictApiServer restricts it"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name);
    // The write lands only once both reports and the task itself have read the cluster (three GETs).
    const path = new RegExp(`${escape(cluster.id)}$`, "i");
    fx.azure.faults.add({ method: "PUT", path, kind: "hold", until: fx.azure.faults.afterRequests({ method: "GET", path }, 3) });
    const firstRequest = fx.azure.requests.length;
    const report = () => fx.run("AksHardeningReport", { inputs: { resourceGroupName: "rg-conc", clusterName: name } });
    const [restrict, ...reports] = await Promise.all([
      fx.run("RestrictApiServer", { inputs: { resourceGroupName: "rg-conc", clusterName: name, authorizedIpRanges: "203.0.113.0/24" } }),
      report(),
      report(),
    ]);
    assertSucceeded(restrict!);
    reports.forEach(assertSucceeded);
    for (const run of reports) {
      // Each report saw the cluster either before or after the write, never a mix the API server check could misread.
      assert.match(
        run.stdout,
        /\[(FAIL|PASS)\] apiServer\.access: (The API server accepts connections from every address|1 authorized IP range)/,
      );
    }
    const writes = fx.azure.requests.slice(firstRequest).filter((r) => ["PUT", "PATCH", "DELETE"].includes(r.method));
    assert.deepEqual(
      writes.map((r) => `${r.method} ${r.path}`),
      [`PUT ${cluster.id}`],
      "only RestrictApiServer wrote",
    );
    const ranges = (fx.azure.store.get(cluster.id)!.properties!["apiServerAccessProfile"] as { authorizedIPRanges: string[] })
      .authorizedIPRanges;
    assert.deepEqual(ranges, ["203.0.113.0/24"]);
  });

  it(cellName("AksHardeningReport", "outside change", "someone restricts the API server as the report reads the cluster"), async () => {
    const name = `aks-conc-${++count}`;
    const cluster = fx.azure.store.addManagedCluster("rg-conc", name);
    fx.azure.faults.add({
      method: "GET",
      path: new RegExp(`${escape(cluster.id)}$`, "i"),
      kind: "pass",
      onMatch: () => {
        const current = fx.azure.store.get(cluster.id)!;
        fx.azure.store.put({
          ...current,
          properties: { ...current.properties, apiServerAccessProfile: { authorizedIPRanges: ["198.51.100.0/24"] } },
        });
      },
    });
    const run = await fx.run("AksHardeningReport", { inputs: { resourceGroupName: "rg-conc", clusterName: name } });
    assertSucceeded(run);
    assert.match(run.stdout, /\[PASS\] apiServer\.access: 1 authorized IP range, the widest a \/24\./);
    const ranges = (fx.azure.store.get(cluster.id)!.properties!["apiServerAccessProfile"] as { authorizedIPRanges: string[] })
      .authorizedIPRanges;
    assert.deepEqual(ranges, ["198.51.100.0/24"], "the outside change is untouched");
  });
});
