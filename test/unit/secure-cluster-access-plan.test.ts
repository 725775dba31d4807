import { describe, it } from "mocha";
import assert from "node:assert/strict";
import type { ManagedCluster } from "../../core/cluster";
import { InputError } from "../../core/errors";
import { accessCheckFor } from "../../tasks/SecureClusterAccess/api-server";
import { parseAdminGroups, parseGrants } from "../../tasks/SecureClusterAccess/inputs";
import {
  administratorsOf,
  planClusterAccess,
  planGrants,
  withClusterAccess,
  type AccessWant,
  type Administrators,
} from "../../tasks/SecureClusterAccess/plan";

describe("test/unit/secure-cluster-access-plan", () => {
  const SUB = "11111111-2222-3333-4444-555555555555";
  const TENANT = "99999999-8888-7777-6666-555555555555";
  const GROUP = "0b5a6c4e-3f2d-4e1a-9c8b-7d6e5f4a3b2c";
  const OTHER = "7a2e6f40-91c3-4d8b-b5e2-0f3a8c6d1e29";
  const CLUSTER_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks`;
  const noAdmins: Administrators = { existing: [], granted: [], namespaceOnly: [], unreadable: false };
  const want = (over: Partial<AccessWant> = {}): AccessWant => ({
    adminGroupObjectIds: [GROUP],
    azureRbac: true,
    disableLocalAccounts: true,
    tenantId: TENANT,
    hasGrants: false,
    administrators: noAdmins,
    cluster: "managed cluster 'aks' in resource group 'rg'",
    ...over,
  });
  const fresh: ManagedCluster = {
    location: "westeurope",
    enableRbac: true,
    disableLocalAccounts: false,
    apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24"] },
    tags: { team: "payments" },
  };

  describe("clusterRoleGrants and adminGroupObjectIds", () => {
    it("reads principal, role and namespace per line, with comments, any case of the role and serviceConnection, and folds repeats", () => {
      const grants = parseGrants(
        [
          `# the pipeline`,
          `serviceconnection Writer todo # deploy`,
          `${OTHER.toUpperCase()} clusteradmin`,
          `serviceConnection writer todo`,
        ].join("\n"),
      );
      assert.deepEqual(grants, [
        { principal: { kind: "serviceConnection" }, role: "writer", namespace: "todo" },
        { principal: { kind: "id", id: OTHER }, role: "clusterAdmin" },
      ]);
    });

    it("names every bad line with its number and what is wrong", () => {
      assert.throws(
        () => parseGrants(["serviceConnection", "team writer", `${OTHER} owner kube_system`].join("\n")),
        (error: unknown) =>
          error instanceof InputError &&
          /^clusterRoleGrants: line 1: 'serviceConnection' is not '<principal> <role> \[namespace\]'\. line 2: 'team' is neither an object ID/.test(
            error.message,
          ) &&
          /line 3: 'owner' is not a role; use reader, writer, admin, clusterAdmin\. line 3: 'kube_system' is not a Kubernetes namespace name/.test(
            error.message,
          ),
      );
    });

    it("admin groups are object IDs, lower-cased and deduplicated; a name is refused", () => {
      assert.deepEqual(parseAdminGroups(`${GROUP.toUpperCase()}, ${GROUP} # admins\n${OTHER}`), [GROUP, OTHER]);
      assert.throws(() => parseAdminGroups("aks-admins"), { message: /^adminGroupObjectIds: 'aks-admins' is not an object ID/ });
    });
  });

  describe("the cluster's sign-in settings", () => {
    it("a default cluster: AKS-managed Entra ID, the admin group, Azure RBAC and no local accounts; the PUT keeps every other setting", () => {
      const plan = planClusterAccess(want(), fresh);
      assert.equal(plan.empty, false);
      assert.deepEqual(plan.before, { entra: "none", adminGroups: [], azureRbac: false, localAccountsDisabled: false });
      assert.deepEqual(plan.after, { entra: "managed", adminGroups: [GROUP], azureRbac: true, localAccountsDisabled: true });
      assert.equal(plan.irreversible.length, 1);
      const put = withClusterAccess(fresh, plan);
      assert.deepEqual(put, {
        ...fresh,
        aadProfile: { managed: true, enableAzureRbac: true, adminGroupObjectIDs: [GROUP] },
        disableLocalAccounts: true,
      });
    });

    it("a compliant cluster plans nothing and names nothing irreversible; groups are added, never removed", () => {
      const done: ManagedCluster = {
        ...fresh,
        aadProfile: { managed: true, enableAzureRbac: true, adminGroupObjectIDs: [OTHER.toUpperCase()], tenantID: TENANT },
        disableLocalAccounts: true,
      };
      const again = planClusterAccess(want({ adminGroupObjectIds: [OTHER] }), done);
      assert.equal(again.empty, true);
      assert.deepEqual(again.irreversible, []);
      const more = planClusterAccess(want(), done);
      assert.deepEqual(more.after.adminGroups, [OTHER.toUpperCase(), GROUP]);
    });

    it("false for azureRbac or disableLocalAccounts leaves the cluster's setting as it is, in both directions", () => {
      const hardened: ManagedCluster = { ...fresh, aadProfile: { managed: true, enableAzureRbac: true }, disableLocalAccounts: true };
      const plan = planClusterAccess(want({ azureRbac: false, disableLocalAccounts: false }), hardened);
      assert.equal(plan.after.azureRbac, true);
      assert.equal(plan.after.localAccountsDisabled, true);
      const open = planClusterAccess(want({ azureRbac: false, disableLocalAccounts: false }), fresh);
      assert.equal(open.after.azureRbac, false);
      assert.equal(open.after.localAccountsDisabled, false);
    });

    it("a legacy integration is migrated: its apps are dropped, its tenant kept", () => {
      const legacy: ManagedCluster = {
        ...fresh,
        aadProfile: { clientAppID: "c", serverAppID: "s", serverAppSecret: "x", tenantID: TENANT },
      };
      const plan = planClusterAccess(want({ disableLocalAccounts: false, azureRbac: false }), legacy);
      assert.equal(plan.before.entra, "legacy");
      assert.deepEqual(withClusterAccess(legacy, plan).aadProfile, {
        tenantID: TENANT,
        managed: true,
        enableAzureRbac: false,
        adminGroupObjectIDs: [GROUP],
      });
    });

    it("refuses a cluster without Kubernetes RBAC, grants without Azure RBAC, and Azure RBAC across tenants", () => {
      assert.throws(() => planClusterAccess(want(), { ...fresh, enableRbac: false }), /created without Kubernetes RBAC/);
      assert.throws(() => planClusterAccess(want({ azureRbac: false, hasGrants: true }), fresh), { message: /^clusterRoleGrants: / });
      assert.throws(
        () => planClusterAccess(want(), { ...fresh, aadProfile: { managed: true, tenantID: "00000000-0000-0000-0000-000000000001" } }),
        /Azure RBAC for Kubernetes authorization needs the two to be the same/,
      );
    });
  });

  describe("no lock-out", () => {
    const noGroup = { adminGroupObjectIds: [] };

    it("refuses local accounts off with no admin group and no cluster-wide admin, naming both and the namespaced admin that does not count", () => {
      assert.throws(
        () =>
          planClusterAccess(
            want({ ...noGroup, administrators: { ...noAdmins, namespaceOnly: ["admin for object ID x in 'todo'"] } }),
            fresh,
          ),
        (error: unknown) =>
          error instanceof Error &&
          /^disableLocalAccounts: turning local accounts off would lock everyone out/.test(error.message) &&
          /no Entra admin group/.test(error.message) &&
          /admin for object ID x in 'todo' is limited to a namespace/.test(error.message),
      );
    });

    it("says role grants cannot stand in while Azure RBAC stays off, and when existing assignments could not be read", () => {
      assert.throws(
        () => planClusterAccess(want({ ...noGroup, azureRbac: false, administrators: { ...noAdmins, granted: ["x"] } }), fresh),
        /no role grant can stand in for one, since Azure RBAC stays off/,
      );
      assert.throws(
        () => planClusterAccess(want({ ...noGroup, administrators: { ...noAdmins, unreadable: true } }), fresh),
        /may not read the role assignments on the cluster, so existing ones were not counted/,
      );
    });

    it("an admin group the cluster already has, a new cluster-wide grant or an existing admin is enough; already disabled is no change", () => {
      assert.equal(
        planClusterAccess(want(noGroup), { ...fresh, aadProfile: { managed: true, adminGroupObjectIDs: [OTHER] } }).after
          .localAccountsDisabled,
        true,
      );
      assert.equal(
        planClusterAccess(want({ ...noGroup, administrators: { ...noAdmins, granted: ["sp"] } }), fresh).after.localAccountsDisabled,
        true,
      );
      assert.equal(
        planClusterAccess(want({ ...noGroup, administrators: { ...noAdmins, existing: ["x"] } }), fresh).after.localAccountsDisabled,
        true,
      );
      assert.doesNotThrow(() => planClusterAccess(want(noGroup), { ...fresh, disableLocalAccounts: true }));
    });

    it("counts Admin and Cluster Admin at the cluster or above it, not in a namespace nor other roles", () => {
      const role = (guid: string) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
      const grants = planGrants(
        parseGrants(`${OTHER} admin todo\n${GROUP} clusterAdmin`),
        [
          { principalId: OTHER, description: "o" },
          { principalId: GROUP, description: "g" },
        ],
        CLUSTER_ID,
        [],
      );
      const admins = administratorsOf(
        CLUSTER_ID,
        [
          {
            scope: `/subscriptions/${SUB}/resourceGroups/rg`,
            roleDefinitionId: role("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"),
            principalId: "a",
          },
          { scope: `${CLUSTER_ID}/namespaces/x`, roleDefinitionId: role("3498e952-d568-435e-9b2c-8d77e338d7f7"), principalId: "b" },
          { scope: CLUSTER_ID, roleDefinitionId: role("a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"), principalId: "c" },
          {
            scope: `/subscriptions/${SUB}/resourceGroups/rg-other`,
            roleDefinitionId: role("3498e952-d568-435e-9b2c-8d77e338d7f7"),
            principalId: "d",
          },
        ],
        grants,
      );
      assert.deepEqual(admins, { existing: ["object ID a"], granted: ["g"], namespaceOnly: ["admin for o in 'todo'"], unreadable: false });
      assert.equal(grants[0]!.plan.grant.scope, `${CLUSTER_ID}/namespaces/todo`);
      assert.equal(grants[1]!.plan.grant.role, "Azure Kubernetes Service RBAC Cluster Admin");
    });
  });

  it("each role is proved by a request it allows and the role below it does not", () => {
    assert.deepEqual(
      (["reader", "writer", "admin", "clusterAdmin"] as const).map((role) => accessCheckFor(role, "todo").description),
      [
        "list pods in namespace 'todo'",
        "create deployments in namespace 'todo'",
        "create rolebindings in namespace 'todo'",
        "create resourcequotas in namespace 'todo'",
      ],
    );
    assert.deepEqual(accessCheckFor("clusterAdmin", undefined), {
      verb: "create",
      group: "",
      resource: "namespaces",
      description: "create namespaces",
    });
  });
});
