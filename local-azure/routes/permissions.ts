import { ArmError } from "../http";
import type { Route } from "../http";
import { authorizationFailedBody } from "../faults";
import { holdsAction, permissionsAt } from "../resources/role-definitions";
import type { ArmEnv } from "./arm-common";

const READ_PERMISSIONS = "Microsoft.Authorization/permissions/read";

/**
 * The caller's own permissions at a scope: Permissions_ListForResourceGroup and
 * Permissions_ListForResource, api-version 2022-04-01 (azure-rest-api-specs,
 * specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
 * authorization-RoleDefinitionsCalls.json): `{ value: Permission[] }`, one entry per role the caller
 * holds at the scope or above it (resources/role-definitions.ts). Reading the list is itself the action
 * Microsoft.Authorization/permissions/read ("Lists all the permissions the caller has at a given
 * scope", MicrosoftDocs/azure-docs, role-based-access-control/resource-provider-operations.md):
 * a caller whose roles lack it gets ARM's 403 AuthorizationFailed. The spec lists a resource group
 * and a resource only. As in the role assignment routes, the scope's resources are not looked up
 * (the local Azure keeps no node resource groups, which AKS would create).
 */
export function permissionRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  return [
    {
      method: "GET",
      path: "{*scope}/providers/Microsoft.Authorization/permissions",
      auth: "arm",
      handler: (ctx) => {
        const scope = ctx.params["scope"] ?? "";
        const [, sub, group] = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)(?:\/|$)/i.exec(scope) ?? [];
        if (!sub || !group) {
          throw new ArmError(
            404,
            "NotFound",
            `The local Azure lists permissions of a resource group or a resource only (the spec's operations), not of ${scope}.`,
          );
        }
        if (sub.toLowerCase() !== store.subscriptionId.toLowerCase()) {
          throw new ArmError(404, "SubscriptionNotFound", `The subscription '${sub}' could not be found.`);
        }
        const caller = ctx.caller?.objectId ?? "";
        const value = permissionsAt(store, caller, scope);
        if (!holdsAction(value, READ_PERMISSIONS)) {
          return { status: 403, body: authorizationFailedBody({ objectId: caller, action: READ_PERMISSIONS, scope }) };
        }
        return { status: 200, body: { value } };
      },
    },
  ];
}
