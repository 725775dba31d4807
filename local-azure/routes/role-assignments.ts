import { ArmError, queryValue } from "../http";
import type { RequestContext, Route } from "../http";
import type { ArmResource } from "../store";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject } from "./arm-common";

const TYPE = "Microsoft.Authorization/roleAssignments";
const PRINCIPAL_TYPES = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];

interface RoleAssignmentProperties {
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  scope: string;
}

const lower = (text: string) => text.toLowerCase().replace(/\/+$/, "");
const propertiesOf = (r: ArmResource) => r.properties as unknown as RoleAssignmentProperties;
/** Role definition ids compare by their GUID: ARM accepts them at subscription or tenant scope. */
const roleGuid = (roleDefinitionId: string) => roleDefinitionId.split("/").pop()!.toLowerCase();

/**
 * Role assignments (Microsoft.Authorization, api-version 2022-04-01) at any scope: create (201),
 * get, list with `atScope()` / `principalId eq` / `assignedTo()` filters. A second assignment of
 * the same role to the same principal at the same scope is 409 RoleAssignmentExists. Without a
 * `principalType` an unknown principal is 400 PrincipalNotFound (as during directory replication) and
 * the assignment records the directory's type; a `principalType` that is not the directory's is 400
 * UnmatchedPrincipalType.
 */
export function roleAssignmentRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const path = `{*scope}/providers/${TYPE}`;
  return [
    {
      method: "PUT",
      path: `${path}/{roleAssignmentName}`,
      auth: "arm",
      handler: (ctx) => {
        const scope = scopeOf(env, ctx);
        const name = ctx.params["roleAssignmentName"] ?? "";
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name)) {
          throw new ArmError(
            400,
            "InvalidRoleAssignmentId",
            `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
          );
        }
        const body = requireJsonObject(ctx);
        const requested = (body["properties"] ?? {}) as Partial<RoleAssignmentProperties>;
        if (!requested.roleDefinitionId || !requested.principalId) {
          throw new ArmError(
            400,
            "InvalidRequestContent",
            "The request content was invalid: properties.roleDefinitionId and properties.principalId are required.",
          );
        }
        if (requested.principalType && !PRINCIPAL_TYPES.includes(requested.principalType)) {
          throw new ArmError(400, "InvalidPrincipalType", `The principal type '${requested.principalType}' is not valid.`);
        }
        const actualType = store.directory.principalType(requested.principalId);
        if (requested.principalType && actualType && requested.principalType !== actualType) {
          // ARM checks a sent principalType against the directory. Shape (typo "PrinciaplType" included)
          // from a real deployment error quoted in Azure/modern-web-app-pattern-dotnet#129.
          throw new ArmError(
            400,
            "UnmatchedPrincipalType",
            `The PrincipalId '${requested.principalId.replace(/-/g, "")}' has type '${actualType}' , which is different from specified PrinciaplType '${requested.principalType}'.`,
          );
        }
        if (!requested.principalType && !actualType) {
          // With a principalType ARM skips the lookup, which is how a principal that the directory has not
          // replicated yet can be assigned (https://aka.ms/docs-principaltype); without one it looks it up.
          throw new ArmError(
            400,
            "PrincipalNotFound",
            `Principal ${requested.principalId.replace(/-/g, "")} does not exist in the directory ${store.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
          );
        }
        const id = `${scope}/providers/${TYPE}/${name}`;
        const existing = store.get(id);
        if (existing) {
          const current = propertiesOf(existing);
          if (
            lower(current.principalId) !== lower(requested.principalId) ||
            roleGuid(current.roleDefinitionId) !== roleGuid(requested.roleDefinitionId)
          ) {
            throw new ArmError(
              409,
              "RoleAssignmentUpdateNotPermitted",
              "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            );
          }
          return { status: 200, body: existing };
        }
        const duplicate = store
          .listByType(TYPE)
          .find(
            (r) =>
              lower(propertiesOf(r).scope) === lower(scope) &&
              lower(propertiesOf(r).principalId) === lower(requested.principalId!) &&
              roleGuid(propertiesOf(r).roleDefinitionId) === roleGuid(requested.roleDefinitionId!),
          );
        if (duplicate) throw new ArmError(409, "RoleAssignmentExists", "The role assignment already exists.");
        const now = new Date().toISOString();
        const created = store.put({
          id,
          name,
          type: TYPE,
          properties: {
            roleDefinitionId: requested.roleDefinitionId,
            principalId: requested.principalId,
            principalType: requested.principalType ?? actualType,
            scope,
            condition: null,
            conditionVersion: null,
            createdOn: now,
            updatedOn: now,
            createdBy: ctx.caller?.objectId ?? null,
            updatedBy: ctx.caller?.objectId ?? null,
            delegatedManagedIdentityResourceId: null,
            description: requested["description" as keyof typeof requested] ?? null,
          },
        });
        store.notePropagating(created.id);
        return { status: 201, body: created };
      },
    },
    {
      method: "GET",
      path: `${path}/{roleAssignmentName}`,
      auth: "arm",
      handler: (ctx) => {
        const scope = scopeOf(env, ctx);
        const found = store.get(`${scope}/providers/${TYPE}/${ctx.params["roleAssignmentName"]}`);
        if (!found) throw new ArmError(404, "RoleAssignmentNotFound", "The role assignment was not found.");
        return { status: 200, body: found };
      },
    },
    {
      method: "GET",
      path,
      auth: "arm",
      handler: (ctx) => {
        const scope = lower(scopeOf(env, ctx));
        const filter = queryValue(ctx, "$filter") ?? "";
        const atScope = /atScope\(\)/i.test(filter);
        const principal = /(?:principalId\s+eq\s+|assignedTo\()'([^']+)'/i.exec(filter)?.[1]?.toLowerCase();
        const value = store.listByType(TYPE).filter((r) => {
          const assignmentScope = lower(propertiesOf(r).scope);
          // Assignments at the scope and above it (inherited) always; below it only without atScope().
          const related =
            scope === assignmentScope || scope.startsWith(`${assignmentScope}/`) || (!atScope && assignmentScope.startsWith(`${scope}/`));
          return related && (principal === undefined || lower(propertiesOf(r).principalId) === principal);
        });
        return { status: 200, body: { value } };
      },
    },
  ];
}

/** The scope in the path must be in the local subscription (or a management group / the tenant root, which is not modelled). */
function scopeOf(env: ArmEnv, ctx: RequestContext): string {
  const scope = ctx.params["scope"] ?? "";
  const sub = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
  if (!sub || sub.toLowerCase() !== env.store.subscriptionId.toLowerCase()) {
    throw new ArmError(404, "SubscriptionNotFound", `The subscription '${sub ?? ""}' could not be found.`);
  }
  return scope;
}
