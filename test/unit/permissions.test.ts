import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { permits, type PermissionEntry } from "../../core/permissions";

describe("test/unit/permissions", () => {
  // Contributor as Azure publishes it (built-in-roles/privileged.md), and Reader's */read.
  const contributor: PermissionEntry = {
    actions: ["*"],
    notActions: ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"],
    dataActions: [],
    notDataActions: [],
  };
  const reader: PermissionEntry = { actions: ["*/read"], notActions: [], dataActions: [], notDataActions: [] };

  it("'*' matches any run of characters, '/' included, in any letter case", () => {
    assert.ok(permits([contributor], "Microsoft.ContainerService/managedClusters/write"));
    assert.ok(permits([reader], "Microsoft.Authorization/permissions/read"));
    assert.ok(!permits([reader], "Microsoft.ContainerService/managedClusters/write"));
    assert.ok(permits([{ actions: ["Microsoft.Authorization/policyassignments/*"] }], "Microsoft.Authorization/policyAssignments/write"));
    assert.ok(
      !permits([{ actions: ["Microsoft.ContainerService/managedClusters/read"] }], "Microsoft.ContainerService/managedClusters/readX"),
    );
  });

  it("an entry's notActions take the action out of that entry only: Contributor cannot assign roles, Contributor with User Access Administrator can", () => {
    const action = "Microsoft.Authorization/roleAssignments/write";
    assert.ok(!permits([contributor], action));
    assert.ok(!permits([contributor, reader], action));
    assert.ok(permits([contributor, { actions: ["*/read", "Microsoft.Authorization/*"] }], action));
  });

  it("data actions are granted by dataActions only, minus the same entry's notDataActions", () => {
    const secrets = "Microsoft.KeyVault/vaults/secrets/setSecret/action";
    assert.ok(!permits([contributor], secrets, "dataAction"), "a '*' in actions grants no data action");
    assert.ok(permits([{ dataActions: ["Microsoft.KeyVault/vaults/secrets/*"] }], secrets, "dataAction"));
    assert.ok(
      !permits([{ dataActions: ["Microsoft.KeyVault/vaults/secrets/*"], notDataActions: ["*/setSecret/action"] }], secrets, "dataAction"),
    );
  });

  it("an empty list grants nothing; regex characters in an action are literal", () => {
    assert.ok(!permits([], "Microsoft.ContainerService/managedClusters/write"));
    assert.ok(!permits([{ actions: ["Microsoft.Web/sites/config/list/action"] }], "Microsoft.Web/sites/configXlist/action"));
  });
});
