import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { describePrincipalKind, planRoleGrant, roleAssignmentName, roleDefinitionId, type RoleGrant } from "../../core/roles";
import { parseIdentityReference } from "../../core/identity";

describe("test/unit/roles", () => {
  const SUB = "/subscriptions/11111111-2222-3333-4444-555555555555";
  const grant: RoleGrant = {
    role: "Reader",
    scope: `${SUB}/resourceGroups/MC_rg_aks_westeurope`,
    principalId: "aaaaaaaa-0000-0000-0000-000000000001",
    principalDescription: "the identity",
  };
  const READER = `${SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;

  it("role assignment names are deterministic and differ by scope, role and principal", () => {
    assert.equal(roleAssignmentName(grant), roleAssignmentName({ ...grant, scope: grant.scope.toUpperCase() }));
    assert.notEqual(roleAssignmentName(grant), roleAssignmentName({ ...grant, role: "Managed Identity Operator" }));
    assert.notEqual(roleAssignmentName(grant), roleAssignmentName({ ...grant, principalId: "aaaaaaaa-0000-0000-0000-000000000002" }));
    assert.match(roleAssignmentName(grant), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(roleDefinitionId(grant), READER);
  });

  it("an assignment of the role at the scope, under any name, satisfies the grant", () => {
    const plan = planRoleGrant(grant, [
      { id: "x", scope: grant.scope, roleDefinitionId: READER, principalId: grant.principalId.toUpperCase() },
    ]);
    assert.equal(plan.empty, true);
  });

  it("an inherited assignment from a parent scope satisfies the grant; a child scope's does not", () => {
    assert.equal(planRoleGrant(grant, [{ scope: SUB, roleDefinitionId: READER, principalId: grant.principalId }]).empty, true);
    assert.equal(
      planRoleGrant(grant, [{ scope: `${grant.scope}/providers/x/y/z`, roleDefinitionId: READER, principalId: grant.principalId }]).empty,
      false,
    );
    assert.equal(
      planRoleGrant(grant, [{ scope: `${grant.scope}-other`, roleDefinitionId: READER, principalId: grant.principalId }]).empty,
      false,
    );
  });

  it("another role or another principal does not satisfy the grant", () => {
    assert.equal(
      planRoleGrant(grant, [
        { scope: grant.scope, roleDefinitionId: READER.replace("acdd72a7", "b24988ac"), principalId: grant.principalId },
      ]).empty,
      false,
    );
    assert.equal(planRoleGrant(grant, [{ scope: grant.scope, roleDefinitionId: READER, principalId: "someone-else" }]).empty, false);
  });

  it("identity references: a resource ID, or a name in the task's resource group", () => {
    const id = `${SUB}/resourceGroups/rg-ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app`;
    assert.deepEqual(parseIdentityReference("identity", id, "sub", "rg"), {
      subscriptionId: "11111111-2222-3333-4444-555555555555",
      resourceGroupName: "rg-ids",
      name: "id-app",
    });
    assert.deepEqual(parseIdentityReference("identity", "id-app", "sub", "rg"), {
      subscriptionId: "sub",
      resourceGroupName: "rg",
      name: "id-app",
    });
    assert.throws(
      () => parseIdentityReference("identity", `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`, "s", "r"),
      /^InputError|identity: .* is not the resource ID of a user-assigned managed identity/,
    );
    assert.throws(() => parseIdentityReference("identity", "a b", "s", "r"), /identity: 'a b' is neither/);
  });

  it("the summary says what kind of principal got the grant and how the task knows", () => {
    assert.match(
      describePrincipalKind("ServicePrincipal"),
      /^service principal: a managed identity the task read from Azure Resource Manager/,
    );
    assert.match(
      describePrincipalKind(undefined, "Group"),
      /^Group, as Azure recorded it on the role assignment \(the task sent no principalType/,
    );
    assert.match(
      describePrincipalKind(undefined),
      /^not known to the task: an object ID may be a user, a group or an app's service principal/,
    );
    assert.match(
      describePrincipalKind(undefined, "##vso[task.setvariable variable=x]y"),
      /^not known to the task/,
      "text from Azure that is no type is not repeated",
    );
  });
});
