/**
 * `npm run test:az`: a client nobody here wrote, Debian's `az` 2.45, runs every command of the article
 * that core az has against the local Azure; each must succeed, and the state it leaves is read back by
 * our packaged tasks (our task after az) and the state our tasks leave is read back by az (az after our
 * task). Kept out of `npm test`: it installs the azure-cli package with apt when az is missing.
 * Where Debian's package itself is broken, the test records the package's error and checks that it is
 * that fault, not the local Azure's.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "mocha";
import { azError } from "../../bench/pipeline";
import { ensureAzureCli, startAzSession, type AzSession } from "../../bench/az-cli";
import { Fixture } from "../harness/fixture";
import type { StepRun } from "../harness/agent";

const OFFICE_RANGES = ["20.50.0.0/24", "52.10.1.14/32"];
const AGENT_RANGE = "52.10.2.0/24";
const NO_PRIVILEGED_CONTAINERS = "95edb821-ddaf-4404-9732-666045e056b4";
const RESOURCE_LIMITS = "e345eecc-fa47-480f-9e88-67dcc122b164";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

interface DemoResources {
  rg: string;
  cluster: string;
  clusterId: string;
  nodeRg: string;
  vault: string;
  identity: { name: string; id: string; clientId: string; principalId: string };
  otherIdentity: { id: string; principalId: string };
}

/**
 * The local Azure az talks to, holding the demo's resources (resource group, Azure CNI cluster, access-policy
 * vault, user-assigned identity). Started in-process; the one place to switch to `npm run local-azure`.
 */
async function startLocalAzureWithDemoResources(): Promise<{ fx: Fixture; resources: DemoResources }> {
  // Each cluster write answers InProgress to one poll; Retry-After 1 only sets how soon az polls again.
  const fx = await Fixture.start({ operationPolls: 1, retryAfterSeconds: 1 });
  const store = fx.azure.store;
  const rg = "rg-todo";
  const cluster = store.addManagedCluster(rg, "aks-todo", { properties: { networkProfile: { networkPlugin: "azure" } } });
  const nodeRg = String(cluster.properties!["nodeResourceGroup"]);
  store.addResourceGroup(nodeRg);
  const vault = "kv-todo-app";
  store.addKeyVault(rg, vault, {
    accessPolicies: [
      {
        tenantId: fx.azure.tenantId,
        objectId: fx.principalObjectId("spnKey"),
        permissions: { secrets: ["get", "list", "set", "recover"] },
      },
    ],
  });
  const identity = store.addUserAssignedIdentity(rg, "id-todo-app");
  const other = store.addUserAssignedIdentity(rg, "id-todo-worker");
  return {
    fx,
    resources: {
      rg,
      cluster: cluster.name,
      clusterId: cluster.id,
      nodeRg,
      vault,
      identity: {
        name: identity.name,
        id: identity.id,
        clientId: String(identity.properties!["clientId"]),
        principalId: String(identity.properties!["principalId"]),
      },
      otherIdentity: { id: other.id, principalId: String(other.properties!["principalId"]) },
    },
  };
}

describe("the real az CLI against the local Azure", function () {
  this.timeout(180_000);
  let fx: Fixture;
  let r: DemoResources;
  let az: AzSession;
  let azVersion = "";
  const loginRequests: string[] = [];
  let refusedBySetUp = 0;

  before(async function () {
    // Installing the package (apt-get update and install, each bounded in bench/az-cli.ts) takes about 1.5 minutes here.
    this.timeout(2_400_000);
    const cli = ensureAzureCli((line) => console.log(line));
    if ("skipped" in cli) throw new Error(`az is not available, so this test cannot run: ${cli.skipped}`);
    azVersion = cli.version;
    ({ fx, resources: r } = await startLocalAzureWithDemoResources());
    const sp = fx.connection("spnKey").endpoint.parameters;
    az = await startAzSession(fx.azure, { clientId: sp["serviceprincipalid"]!, clientSecret: sp["serviceprincipalkey"]! });
    loginRequests.push(...fx.azure.requests.map((q) => `${q.method} ${q.path} ${q.status}`));
    // A fresh config dir makes az probe https://azure.microsoft.com once before looking for a newer
    // version (azure-cli core util.py `_update_latest_from_github`); the proxy refuses it.
    refusedBySetUp = az.proxy.refused.length;
  });

  after(async () => {
    await az?.close();
    await fx?.close();
  });

  /** Runs az; fails the test with az's own error when it does not succeed. */
  async function azOk(args: string[]): Promise<string> {
    fx.azure.clearRequests();
    const run = await az.run(args);
    assert.equal(run.exitCode, 0, `az ${args.join(" ")} failed: ${azError(run.stderr)}\n${run.stderr.slice(-3000)}`);
    return run.stdout;
  }
  const azJson = async <T>(args: string[]): Promise<T> => JSON.parse(await azOk([...args, "-o", "json"])) as T;

  async function task(name: string, inputs: Record<string, string | boolean>): Promise<StepRun> {
    fx.azure.clearRequests();
    const run = await fx.run(name, { inputs });
    fx.assertSucceeded(run);
    return run;
  }
  const clusterWrites = () => fx.armWrites().filter((q) => /\/managedClusters\/[^/]+$/i.test(q.path));
  const cluster = () => fx.azure.store.getManagedCluster(r.rg, r.cluster)!;

  it("az login reads the subscriptions list from the local Azure; the tenants list is served too", async () => {
    assert.ok(
      loginRequests.some((q) => /^GET \/subscriptions 200$/.test(q)),
      loginRequests.join("\n"),
    );
    const account = await azJson<{ id: string; tenantId: string }>(["account", "show"]);
    assert.equal(account.id, fx.azure.subscriptionId);
    assert.equal(account.tenantId, fx.azure.tenantId);
    // A service-principal login names its tenant, so az 2.45 lists tenants only for user sign-ins; ask for it.
    const tenants = await azJson<{ value: { tenantId: string }[] }>([
      "rest",
      "--method",
      "get",
      "--url",
      `${fx.azure.url}/tenants?api-version=2022-12-01`,
    ]);
    assert.deepEqual(
      tenants.value.map((t) => t.tenantId),
      [fx.azure.tenantId],
    );
  });

  it("az group show reads the node resource group", async () => {
    const group = await azJson<{ id: string; location: string }>(["group", "show", "-n", r.nodeRg]);
    assert.equal(group.id.toLowerCase(), fx.azure.store.getResourceGroup(r.nodeRg)!.id.toLowerCase());
  });

  it("az aks show reads the cluster, a managed-identity cluster with servicePrincipalProfile msi", async () => {
    const shown = await azJson<{ id: string; nodeResourceGroup: string; servicePrincipalProfile: { clientId: string } }>([
      "aks",
      "show",
      "-g",
      r.rg,
      "-n",
      r.cluster,
    ]);
    assert.equal(shown.id, r.clusterId);
    assert.equal(shown.nodeResourceGroup, r.nodeRg);
    assert.equal(shown.servicePrincipalProfile.clientId, "msi");
  });

  it("az identity show reads the identity; az identity federated-credential create is reused by EnablePodIdentity", async () => {
    const shown = await azJson<{ clientId: string; principalId: string }>(["identity", "show", "-g", r.rg, "-n", r.identity.name]);
    assert.equal(shown.clientId, r.identity.clientId);
    assert.equal(shown.principalId, r.identity.principalId);

    // Our task first (Workload ID for todo/todo-app); az then lists the credential the task made.
    const ours = await task("EnablePodIdentity", {
      resourceGroupName: r.rg,
      clusterName: r.cluster,
      identityMode: "workloadIdentity",
      identity: r.identity.name,
      namespace: "todo",
      serviceAccountName: "todo-app",
    });
    const issuer = ours.outputs["oidcIssuerUrl"] ?? "";
    assert.match(issuer, /^https:\/\//);
    const listed = await azJson<{ name: string; issuer: string; subject: string }[]>([
      "identity",
      "federated-credential",
      "list",
      "-g",
      r.rg,
      "--identity-name",
      r.identity.name,
    ]);
    assert.deepEqual(
      listed.map((c) => [c.issuer, c.subject]),
      [[issuer, "system:serviceaccount:todo:todo-app"]],
    );

    // az creates one for todo/worker; our task for that service account finds it and writes nothing.
    await azOk([
      "identity",
      "federated-credential",
      "create",
      "-g",
      r.rg,
      "--identity-name",
      r.identity.name,
      "--name",
      "todo-worker-by-az",
      "--issuer",
      issuer,
      "--subject",
      "system:serviceaccount:todo:worker",
      "--audiences",
      "api://AzureADTokenExchange",
    ]);
    const again = await task("EnablePodIdentity", {
      resourceGroupName: r.rg,
      clusterName: r.cluster,
      identityMode: "workloadIdentity",
      identity: r.identity.name,
      namespace: "todo",
      serviceAccountName: "worker",
    });
    assert.equal(again.outputs["changed"], "false", again.stdout);
    assert.deepEqual(fx.armWrites(), []);
  });

  it("az aks update --api-server-authorized-ip-ranges: RestrictApiServer finds it done, az reads what the task adds", async () => {
    await azOk(["aks", "update", "-g", r.rg, "-n", r.cluster, "--api-server-authorized-ip-ranges", OFFICE_RANGES.join(",")]);
    const after = cluster().properties!;
    assert.deepEqual((after["apiServerAccessProfile"] as { authorizedIPRanges: string[] }).authorizedIPRanges, OFFICE_RANGES);
    // az 2.45 speaks api-version 2022-11-01, which has no workload identity: the cluster keeps it.
    assert.equal((after["securityProfile"] as { workloadIdentity?: { enabled?: boolean } }).workloadIdentity?.enabled, true);
    assert.deepEqual(after["servicePrincipalProfile"], { clientId: "msi" });

    const set = await task("RestrictApiServer", {
      resourceGroupName: r.rg,
      clusterName: r.cluster,
      action: "set",
      authorizedIpRanges: OFFICE_RANGES.join(","),
    });
    assert.equal(set.outputs["changed"], "false", set.stdout);
    assert.deepEqual(clusterWrites(), []);

    await task("RestrictApiServer", { resourceGroupName: r.rg, clusterName: r.cluster, action: "add", authorizedIpRanges: AGENT_RANGE });
    const ranges = await azJson<string[]>([
      "aks",
      "show",
      "-g",
      r.rg,
      "-n",
      r.cluster,
      "--query",
      "apiServerAccessProfile.authorizedIpRanges",
    ]);
    assert.deepEqual([...ranges].sort(), [...OFFICE_RANGES, AGENT_RANGE].sort());
  });

  it("az aks enable-addons --addons azure-policy: AssignAksPolicies leaves the add-on alone, az shows the cluster after its own PUT", async () => {
    await azOk(["aks", "enable-addons", "--addons", "azure-policy", "-g", r.rg, "-n", r.cluster]);
    assert.equal((cluster().properties!["addonProfiles"] as Record<string, { enabled: boolean }>)["azurepolicy"]?.enabled, true);
    const shown = await azJson<{ servicePrincipalProfile: { clientId: string } }>(["aks", "show", "-g", r.rg, "-n", r.cluster]);
    assert.equal(shown.servicePrincipalProfile.clientId, "msi");

    await task("AssignAksPolicies", {
      resourceGroupName: r.rg,
      clusterName: r.cluster,
      policies: "noPrivilegedContainers",
      effect: "Deny",
    });
    assert.deepEqual(clusterWrites(), [], "the add-on az enabled must not be written again");
  });

  it("az policy assignment create/list: az lists the task's assignment, the task reports az's", async () => {
    await azOk([
      "policy",
      "assignment",
      "create",
      "--name",
      "resource-limits-by-az",
      "--policy",
      RESOURCE_LIMITS,
      "--scope",
      r.clusterId,
      "--params",
      JSON.stringify({ effect: { value: "Deny" }, cpuLimit: { value: "500m" }, memoryLimit: { value: "512Mi" } }),
    ]);
    const listed = await azJson<{ name: string; policyDefinitionId: string }[]>(["policy", "assignment", "list", "--scope", r.clusterId]);
    const byName = new Map(listed.map((a) => [a.name, a.policyDefinitionId.split("/").pop()]));
    assert.equal(byName.get("aks-hardening-noPrivilegedContainers"), NO_PRIVILEGED_CONTAINERS);
    assert.equal(byName.get("resource-limits-by-az"), RESOURCE_LIMITS);

    const ours = await task("AssignAksPolicies", {
      resourceGroupName: r.rg,
      clusterName: r.cluster,
      policies: "noPrivilegedContainers",
      effect: "Deny",
    });
    assert.equal(ours.outputs["changed"], "false", ours.stdout);
    assert.match(ours.summaries.join("\n"), /not made by this task[^\n]*resource-limits-by-az/);
  });

  it("az keyvault set-policy: KeyVaultSecrets finds the grant in place, az reads the task's grant", async () => {
    await azOk([
      "keyvault",
      "set-policy",
      "-g",
      r.rg,
      "-n",
      r.vault,
      "--secret-permissions",
      "get",
      "list",
      "--object-id",
      r.identity.principalId,
    ]);
    const grantsTo = (objectId: string) =>
      (
        fx.azure.store.getKeyVault(r.rg, r.vault)!.properties!["accessPolicies"] as {
          objectId: string;
          permissions: { secrets?: string[] };
        }[]
      ).find((p) => p.objectId === objectId);
    assert.deepEqual([...(grantsTo(r.identity.principalId)?.permissions.secrets ?? [])].sort(), ["get", "list"]);

    const same = await task("KeyVaultSecrets", { resourceGroupName: r.rg, keyVaultName: r.vault, grantTo: r.identity.id });
    assert.equal(same.outputs["changed"], "false", same.stdout);
    assert.deepEqual(fx.armWrites(), []);

    await task("KeyVaultSecrets", { resourceGroupName: r.rg, keyVaultName: r.vault, grantTo: r.otherIdentity.id });
    const policies = await azJson<{ objectId: string; permissions: { secrets: string[] } }[]>([
      "keyvault",
      "show",
      "-g",
      r.rg,
      "-n",
      r.vault,
      "--query",
      "properties.accessPolicies",
    ]);
    const granted = policies.find((p) => p.objectId === r.otherIdentity.principalId);
    assert.deepEqual([...(granted?.permissions.secrets ?? [])].sort(), ["get", "list"]);
    // The connection's own entry, which neither client owns here, is still there.
    assert.ok(policies.some((p) => p.objectId === fx.principalObjectId("spnKey")));
  });

  /**
   * Commands Debian's package cannot run: each either works (then its result is checked) or fails with
   * the package's known fault before sending anything, which is recorded in the output, not modelled.
   */
  const PACKAGE_FAULTS = [
    {
      command: "az keyvault secret set",
      fault: /No module named 'azure\.keyvault\.v7_0'/,
      args: (): string[] => ["keyvault", "secret", "set", "--vault-name", r.vault, "--name", "db-user", "--value", "todoadmin"],
      worked: () => assert.ok(fx.azure.store.vaultSecret(r.vault, "db-user")),
    },
    {
      command: "az role assignment create",
      fault: /'RoleAssignmentsOperations' object has no attribute 'config'/,
      args: (): string[] => [
        "role",
        "assignment",
        "create",
        "--role",
        READER,
        "--assignee-object-id",
        r.identity.principalId,
        "--assignee-principal-type",
        "ServicePrincipal",
        "--scope",
        fx.azure.store.getResourceGroup(r.nodeRg)!.id,
      ],
      worked: () =>
        assert.ok(
          fx.azure.store
            .listByType("Microsoft.Authorization/roleAssignments")
            .some((a) => a.properties?.["principalId"] === r.identity.principalId),
        ),
    },
  ];
  for (const broken of PACKAGE_FAULTS) {
    it(`${broken.command}: works, or fails only by Debian's package's own fault (recorded)`, async () => {
      fx.azure.clearRequests();
      const run = await az.run(broken.args());
      if (run.exitCode === 0) {
        broken.worked();
        return;
      }
      assert.match(
        run.stderr,
        broken.fault,
        `${broken.command} failed otherwise than the package's known fault:\n${run.stderr.slice(-3000)}`,
      );
      assert.deepEqual(fx.armWrites(), [], "the package fails before it sends anything");
      console.log(`      package fault (Debian azure-cli ${azVersion}), not the local Azure's: ${broken.command}: ${azError(run.stderr)}`);
    });
  }

  it("every request of the commands above went to the local Azure: the proxy refused no other host", () => {
    assert.deepEqual(az.proxy.refused.slice(refusedBySetUp), []);
  });
});
