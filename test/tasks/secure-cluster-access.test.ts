import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture, OWNER_ROLE } from "../harness/fixture";
import { assertSpeaksConditionally } from "../harness/wording";
import type { StepRun } from "../harness/agent";
import type { ArmResource } from "../../local-azure/index";
import { DeploySignIn, type RawAnswer } from "../harness/deploy-sign-in";
const ROLE = {
  reader: "7f6c6a51-bcf8-42ba-9220-52d62157d7db",
  writer: "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
  admin: "3498e952-d568-435e-9b2c-8d77e338d7f7",
  clusterAdmin: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
};
const SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

describe("test/tasks/secure-cluster-access", () => {
  const TASK = "SecureClusterAccess";
  const RG = "rg-access";
  /** Tiny, so that a grant that never takes effect fails the run in about a second. */
  /** 40 ms of waiting, 10 ms apart (QUICK_WAITS): five reviews before a grant counts as not in effect. */
  const VARIABLES = { "AksHardening.RoleAssignmentWaitSeconds": "0.04" };
  let fx: Fixture;
  let signIn: DeploySignIn;
  let adminGroup: string;
  let count = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    signIn = new DeploySignIn(fx);
    adminGroup = fx.azure.store.directory.addUserOrGroup("Group");
  });
  after(async () => {
    await fx?.close();
  });

  /** A cluster as `az aks create` leaves it, with settings of its own that the task must keep. */
  function setUp(properties: Record<string, unknown> = {}): { cluster: ArmResource; name: string } {
    const name = `aks-${++count}`;
    const cluster = fx.azure.store.addManagedCluster(RG, name, {
      tags: { team: "payments" },
      properties: {
        apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24"] },
        addonProfiles: { azurepolicy: { enabled: true } },
        ...properties,
      },
    });
    fx.azure.faults.clear();
    fx.azure.clearRequests();
    return { cluster, name };
  }

  const run = (name: string, inputs: Record<string, string | boolean> = {}, variables: Record<string, string> = VARIABLES) =>
    fx.run(TASK, { inputs: { resourceGroupName: RG, clusterName: name, ...inputs }, variables });

  function clusterNow(name: string): Record<string, unknown> {
    return fx.azure.store.getManagedCluster(RG, name)!.properties!;
  }

  /** ARM writes as "PUT <type> <status>", in the order they were made. */
  function writes(): string[] {
    return fx.armWrites().map((r) => `${r.method} ${r.path.split("/").slice(-2, -1)[0]} ${r.status}`);
  }

  function assignmentsOn(scope: string): ArmResource[] {
    return fx.azure.store
      .listByType("Microsoft.Authorization/roleAssignments")
      .filter((a) => String(a.properties!["scope"]).toLowerCase() === scope.toLowerCase());
  }

  function reviews(): Record<string, string>[] {
    return fx.azure.requests
      .filter((r) => r.method === "POST" && r.path === SSAR_PATH)
      .map((r) => (r.body as { spec: { resourceAttributes: Record<string, string> } }).spec.resourceAttributes);
  }

  /**
   * What a deploy step after the task does, as the service connection: az aks get-credentials (the
   * user kubeconfig, whose CA checks the API server), kubelogin convert-kubeconfig -l azurecli (a token
   * for the AKS server app) and kubectl auth can-i.
   */
  async function canI(cluster: ArmResource, attributes: Record<string, string>): Promise<RawAnswer> {
    return signIn.canI(await signIn.userKubeconfig(cluster.id), attributes);
  }
  const armCall = (method: string, path: string) => signIn.arm(method, path);

  const deployInTodo = { namespace: "todo", verb: "create", group: "apps", resource: "deployments" };
  const assertSucceeded = (r: StepRun) => fx.assertSucceeded(r);

  describe("a default cluster with an admin group and the pipeline's own grant", () => {
    let cluster: ArmResource;
    let name: string;
    const inputs = () => ({ adminGroupObjectIds: adminGroup, clusterRoleGrants: "serviceConnection writer todo # the deploy job" });

    before(() => {
      ({ cluster, name } = setUp());
    });

    it("before the task the deploy step's Entra token is refused (no Entra sign-in) and the admin kubeconfig is handed out", async () => {
      assert.equal((await canI(cluster, deployInTodo)).status, 401);
      assert.equal((await armCall("POST", `${cluster.id}/listClusterAdminCredential`)).status, 200);
    });

    it("first run: the grant and one conditional PUT turning on AKS-managed Entra ID, the admin group, Azure RBAC and no local accounts; everything else kept; the pipeline's access proved", async () => {
      fx.azure.clearRequests();
      const result = await run(name, inputs());
      assertSucceeded(result);

      assert.deepEqual(writes().sort(), ["PUT managedClusters 200", "PUT roleAssignments 201"]);
      const put = fx.armWrites().find((w) => w.path.includes("managedClusters"))!;
      assert.equal(put.ifMatch, cluster["eTag"], "the cluster PUT carries the eTag that was read");
      const now = clusterNow(name);
      assert.deepEqual(now["aadProfile"], {
        managed: true,
        enableAzureRBAC: true,
        adminGroupObjectIDs: [adminGroup],
        clientAppID: null,
        serverAppID: null,
        tenantID: fx.azure.tenantId,
      });
      assert.equal(now["disableLocalAccounts"], true);
      // What the task does not own is as it was.
      assert.deepEqual(now["apiServerAccessProfile"], { authorizedIPRanges: ["203.0.113.0/24"] });
      assert.deepEqual(now["addonProfiles"], { azurepolicy: { enabled: true } });
      assert.deepEqual(fx.azure.store.getManagedCluster(RG, name)!.tags, { team: "payments" });

      const [grant] = assignmentsOn(`${cluster.id}/namespaces/todo`);
      assert.ok(grant, "the writer grant is at the namespace's scope");
      assert.ok(String(grant.properties!["roleDefinitionId"]).endsWith(ROLE.writer));
      assert.equal(grant.properties!["principalId"], fx.principalObjectId());
      const sent = fx.armWrites().find((w) => w.path.includes("roleAssignments"))!.body as { properties: Record<string, string> };
      assert.equal(
        sent.properties["principalType"],
        "ServicePrincipal",
        "the connection's token is app-only: a service principal, read not guessed",
      );

      assert.deepEqual(reviews(), [deployInTodo], "the API server was asked what the deploy step will do");
      const summary = result.summaries[0]!;
      assert.match(summary, /Proved: the API server allows the service connection to create deployments in namespace 'todo'/);
      assert.match(summary, /AKS-managed \(irreversible\)/);
      assert.match(summary, /cannot be turned off again/);
      assert.ok(result.warnings.some((w) => /^Irreversible: AKS-managed Microsoft Entra ID cannot be turned off again/.test(w)));
      assert.match(summary, /service principal: the service connection's own principal, whose access token is app-only/);
      assert.deepEqual(result.outputs, { entraId: "true", azureRbac: "true", localAccountsDisabled: "true", changed: "true" });
    });

    it("the admin kubeconfig is refused now, and a later step reaches the API server as the service connection, with what it was granted and no more", async () => {
      const admin = await armCall("POST", `${cluster.id}/listClusterAdminCredential`);
      assert.equal(admin.status, 400);
      assert.match(admin.text, /Getting static credential isn't allowed because this cluster is set to disable local accounts/);

      const allowed = await canI(cluster, deployInTodo);
      assert.equal(allowed.status, 201, allowed.text);
      assert.equal((allowed.json as { status: { allowed: boolean } }).status.allowed, true);
      const elsewhere = await canI(cluster, { ...deployInTodo, namespace: "kube-system" });
      assert.deepEqual((elsewhere.json as { status: unknown }).status, {
        allowed: false,
        denied: true,
        reason: "User does not have access to the resource in Azure. Update role assignment to allow access.",
      });
    });

    it("re-run on the compliant cluster makes no write, asks nothing of the API server and reports changed=false", async () => {
      fx.azure.clearRequests();
      const result = await run(name, inputs());
      assertSucceeded(result);
      assert.deepEqual(fx.armWrites(), []);
      assert.deepEqual(fx.permissionReads(), [], "nothing to write, so no permission to check");
      assert.deepEqual(reviews(), []);
      assert.match(result.summaries[0]!, /Already compliant/);
      assert.match(result.summaries[0]!, /was in place before this run; its access was not asked again/);
      assert.equal(result.outputs["changed"], "false");
    });

    it("AksHardeningReport@1 after the task: identity.entraId, identity.azureRbac and identity.localAccounts pass", async () => {
      const report = await fx.run("AksHardeningReport", { inputs: { resourceGroupName: RG, clusterName: name } });
      assertSucceeded(report);
      for (const id of ["identity.entraId", "identity.azureRbac", "identity.localAccounts"]) {
        assert.match(report.stdout, new RegExp(`^\\s+\\[PASS\\] ${id.replace(".", "\\.")}: `, "m"), `${id} passes:\n${report.stdout}`);
      }
    });
  });

  it("dry run: reads, writes nothing, and shows the change with Entra ID named irreversible; the outputs are the cluster as it is", async () => {
    const { name } = setUp();
    const result = await run(name, { adminGroupObjectIds: adminGroup, dryRun: true });
    assertSucceeded(result);
    assert.deepEqual(fx.armWrites(), []);
    assert.equal(clusterNow(name)["aadProfile"], undefined);
    const summary = result.summaries[0]!;
    assertSpeaksConditionally(result);
    assert.match(summary, /\| Local accounts \| enabled \| disabled \|/);
    assert.ok(result.warnings.some((w) => /^Irreversible if applied: AKS-managed Microsoft Entra ID cannot be turned off again/.test(w)));
    assert.deepEqual(result.outputs, { entraId: "false", azureRbac: "false", localAccountsDisabled: "false", changed: "false" });
  });

  it("a Contributor connection asked to grant itself a role is refused before the first write, naming roleAssignments/write on the cluster; the cluster keeps its local accounts", async () => {
    const { cluster, name } = setUp();
    fx.giveRole("spnCertificate", "b24988ac-6180-42a0-ab88-20f7382dd24c");
    try {
      const refused = await fx.run(TASK, {
        connection: "spnCertificate",
        inputs: {
          resourceGroupName: RG,
          clusterName: name,
          adminGroupObjectIds: adminGroup,
          clusterRoleGrants: "serviceConnection clusterAdmin",
        },
        variables: VARIABLES,
      });
      fx.assertFailedBeforeAnyWrite(
        refused,
        new RegExp(
          `'Microsoft\\.Authorization/roleAssignments/write' on ${cluster.id} \\(to assign 'Azure Kubernetes Service RBAC Cluster Admin' to the service connection's principal .*; Owner, User Access Administrator or Role Based Access Control Administrator has it\\)`,
        ),
      );
      assert.notEqual(clusterNow(name)["disableLocalAccounts"], true);
    } finally {
      fx.giveRole("spnCertificate", OWNER_ROLE);
    }
  });

  describe("no lock-out", () => {
    it("turning local accounts off with no admin group and no cluster-wide admin grant is refused before any write, saying what is missing", async () => {
      const { name } = setUp();
      const result = await run(name, { clusterRoleGrants: `${adminGroup} admin todo` });
      fx.assertFailedBeforeAnyWrite(result, /^disableLocalAccounts: turning local accounts off would lock everyone out/);
      const message = result.resultMessage!;
      assert.match(message, /no Entra admin group \(adminGroupObjectIds is empty and the cluster has none\)/);
      assert.match(message, /no one holds Azure Kubernetes Service RBAC Admin or Cluster Admin on the whole cluster/);
      assert.match(message, /admin for object ID [0-9a-f-]+ in 'todo' is limited to a namespace/);
      assert.match(
        message,
        /Add a group's object ID to adminGroupObjectIds, or a line '<object ID> clusterAdmin' to clusterRoleGrants, or set disableLocalAccounts: false/,
      );
      assert.equal(clusterNow(name)["disableLocalAccounts"], false);
    });

    it("the pipeline's own clusterAdmin grant is enough: it is written before the cluster, whose local accounts go only once it exists", async () => {
      const { cluster, name } = setUp();
      const result = await run(name, { clusterRoleGrants: "serviceConnection clusterAdmin" });
      assertSucceeded(result);
      assert.deepEqual(writes(), ["PUT roleAssignments 201", "PUT managedClusters 200"]);
      assert.equal(assignmentsOn(cluster.id).length, 1);
      assert.deepEqual(reviews(), [{ verb: "create", group: "", resource: "namespaces" }]);
      assert.match(result.summaries[0]!, /Proved: the API server allows the service connection to create namespaces/);
    });

    it("someone who already holds Azure Kubernetes Service RBAC Cluster Admin above the cluster counts as its administrator", async () => {
      const { name } = setUp();
      const scope = fx.azure.store.resourceGroupId(RG);
      fx.azure.store.put({
        id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
        name: randomUUID(),
        type: "Microsoft.Authorization/roleAssignments",
        properties: {
          roleDefinitionId: `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE.clusterAdmin}`,
          principalId: adminGroup,
          principalType: "Group",
          scope,
        },
      });
      const result = await run(name);
      assertSucceeded(result);
      assert.deepEqual(writes(), ["PUT managedClusters 200"]);
      assert.equal(clusterNow(name)["disableLocalAccounts"], true);
    });
  });

  describe("refused before any write", () => {
    it("a cluster created without Kubernetes RBAC", async () => {
      const { name } = setUp({ enableRBAC: false });
      const result = await run(name, { adminGroupObjectIds: adminGroup });
      fx.assertFailedBeforeAnyWrite(result, /created without Kubernetes RBAC \(enableRBAC false\), which AKS fixes at creation/);
    });

    it("grants that would not take effect because Azure RBAC stays off", async () => {
      const { name } = setUp();
      const result = await run(name, { adminGroupObjectIds: adminGroup, azureRbac: false, clusterRoleGrants: "serviceConnection reader" });
      fx.assertFailedBeforeAnyWrite(result, /^clusterRoleGrants: the Azure Kubernetes Service RBAC roles take effect only with Azure RBAC/);
    });

    for (const [what, inputs, message] of [
      [
        "a grant line with an unknown role and a bad namespace",
        { clusterRoleGrants: "serviceConnection owner\nserviceConnection writer Todo_App" },
        /^clusterRoleGrants: line 1: 'owner' is not a role; use reader, writer, admin, clusterAdmin\. line 2: 'Todo_App' is not a Kubernetes namespace name/,
      ],
      [
        "a grant to a name instead of an object ID",
        { clusterRoleGrants: "deploy-team writer" },
        /^clusterRoleGrants: 'deploy-team' is neither an object ID .* nor 'serviceConnection'/,
      ],
      ["an admin group given by its name", { adminGroupObjectIds: "aks-admins" }, /^adminGroupObjectIds: 'aks-admins' is not an object ID/],
    ] as const) {
      it(`bad input: ${what}`, async () => {
        const { name } = setUp();
        fx.assertFailedBeforeAnyWrite(await run(name, inputs), message);
      });
    }
  });

  it("a legacy Entra integration is migrated to AKS-managed by one PUT (its apps go, its tenant stays); azureRbac and disableLocalAccounts false leave those as they are; the re-run writes nothing", async () => {
    const { name } = setUp({
      aadProfile: { clientAppID: randomUUID(), serverAppID: randomUUID(), tenantID: fx.azure.tenantId },
    });
    const inputs = { adminGroupObjectIds: adminGroup, azureRbac: false, disableLocalAccounts: false };
    const first = await run(name, inputs);
    assertSucceeded(first);
    assert.deepEqual(writes(), ["PUT managedClusters 200"]);
    const sent = fx.armWrites()[0]!.body as { properties: { aadProfile: Record<string, unknown>; disableLocalAccounts: boolean } };
    assert.deepEqual(sent.properties.aadProfile, {
      managed: true,
      enableAzureRBAC: false,
      adminGroupObjectIDs: [adminGroup],
      tenantID: fx.azure.tenantId,
    });
    assert.equal(sent.properties.disableLocalAccounts, false);
    assert.match(
      first.summaries[0]!,
      /\| Microsoft Entra ID sign-in \| legacy \(own server and client apps\) \| AKS-managed \(irreversible\) \|/,
    );
    assert.deepEqual(first.outputs, { entraId: "true", azureRbac: "false", localAccountsDisabled: "false", changed: "true" });

    fx.azure.clearRequests();
    const again = await run(name, inputs);
    assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), []);
    assert.equal(again.outputs["changed"], "false");
  });

  it("grants at cluster and namespace scope: a managed identity (by client ID) gets principalType ServicePrincipal, a group none (Azure records Group), an inherited grant is not written again; the re-run writes nothing", async () => {
    const { cluster, name } = setUp();
    const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-ci-${count}`);
    const clientId = String(identity.properties!["clientId"]);
    const principalId = String(identity.properties!["principalId"]);
    const readers = fx.azure.store.directory.addUserOrGroup("Group");
    // The identity already reads the whole resource group's clusters.
    fx.azure.store.put({
      id: `${fx.azure.store.resourceGroupId(RG)}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
      name: randomUUID(),
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        roleDefinitionId: `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE.reader}`,
        principalId,
        principalType: "ServicePrincipal",
        scope: fx.azure.store.resourceGroupId(RG),
      },
    });
    const grants = [`${clientId} writer team-a`, `${principalId} reader`, `${readers} reader`, `${readers} admin team-b`].join("\n");
    const first = await run(name, { adminGroupObjectIds: adminGroup, clusterRoleGrants: grants });
    assertSucceeded(first);
    assert.deepEqual(writes().sort(), [
      "PUT managedClusters 200",
      "PUT roleAssignments 201",
      "PUT roleAssignments 201",
      "PUT roleAssignments 201",
    ]);
    const sentTypes = Object.fromEntries(
      fx
        .armWrites()
        .filter((w) => w.path.includes("roleAssignments"))
        .map((w) => {
          const p = (w.body as { properties: Record<string, string> }).properties;
          return [`${p["principalId"]} ${p["roleDefinitionId"]!.split("/").pop()}`, p["principalType"] ?? "none"];
        }),
    );
    assert.deepEqual(sentTypes, {
      [`${principalId} ${ROLE.writer}`]: "ServicePrincipal",
      [`${readers} ${ROLE.reader}`]: "none",
      [`${readers} ${ROLE.admin}`]: "none",
    });
    assert.equal(assignmentsOn(`${cluster.id}/namespaces/team-a`).length, 1);
    assert.equal(assignmentsOn(`${cluster.id}/namespaces/team-b`)[0]!.properties!["principalType"], "Group");
    assert.equal(assignmentsOn(cluster.id).length, 1, "only the group's reader grant is at the cluster: the identity's is inherited");
    assert.deepEqual(reviews(), [], "only the pipeline's own access can be proved");
    const summary = first.summaries[0]!;
    assert.match(
      summary,
      /Azure Kubernetes Service RBAC Reader for managed identity 'id-ci-\d+' \(object ID [0-9a-f-]+\) on `[^`]+` \| assigned \(inherited\) \| assigned \|/,
    );
    assert.match(summary, /Group, as Azure recorded it on the role assignment/);

    fx.azure.clearRequests();
    const again = await run(name, { adminGroupObjectIds: adminGroup, clusterRoleGrants: grants });
    assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), []);
    assert.equal(again.outputs["changed"], "false");
  });

  describe("the pipeline's grant takes effect late", () => {
    it("the API server is asked again until it allows the grant; the wait is logged and the summary says at which review", async () => {
      const { name } = setUp();
      fx.azure.store.roleAssignmentPropagationChecks = 2;
      try {
        const result = await run(
          name,
          { adminGroupObjectIds: adminGroup, clusterRoleGrants: "serviceConnection writer todo" },
          {
            "AksHardening.RoleAssignmentWaitSeconds": "4",
          },
        );
        assertSucceeded(result);
        assert.equal(reviews().length, 3);
        assert.match(
          result.stdout,
          /does not allow the service connection to create deployments in namespace 'todo' yet \(denied: User does not have access to the resource in Azure/,
        );
        assert.match(result.summaries[0]!, /allowed at review 3/);
      } finally {
        fx.azure.store.roleAssignmentPropagationChecks = 0;
      }
    });

    it("a grant still not in effect when the wait runs out fails the step after its summary, naming the pipeline variable", async () => {
      const { name } = setUp();
      fx.azure.store.roleAssignmentPropagationChecks = Infinity;
      try {
        const result = await run(name, { adminGroupObjectIds: adminGroup, clusterRoleGrants: "serviceConnection reader" });
        assert.equal(result.result, "Failed");
        assert.match(
          result.resultMessage!,
          /has not taken effect: after \d+ m?s \(\d+ reviews\) the API server [^ ]+ still does not allow it to list pods across the cluster/,
        );
        assert.match(result.resultMessage!, /raise the pipeline variable AksHardening\.RoleAssignmentWaitSeconds/);
        assert.match(
          result.summaries[0]!,
          /Not in effect yet: the API server does not allow the service connection to list pods across the cluster/,
        );
        assert.equal(clusterNow(name)["disableLocalAccounts"], true, "the change itself was made");
      } finally {
        fx.azure.store.roleAssignmentPropagationChecks = 0;
      }
    });
  });
});
