import { ArmError, queryValue } from "../http";
import type { RequestContext, Route } from "../http";
import {
  assignmentsApplyingTo,
  composeAssignment,
  policyAssignmentId,
  POLICY_ASSIGNMENT_TYPE,
  validateAssignment,
} from "../resources/policy";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireSubscription } from "./arm-common";
import type { ArmResource } from "../store";

const AUTHORIZATION = "/providers/Microsoft.Authorization";
const ASSIGNMENTS = `${AUTHORIZATION}/policyAssignments`;
const POLICY_STATES = "/providers/Microsoft.PolicyInsights/policyStates/{policyStatesResource}/queryResults";

/** The scopes an assignment can live at below a subscription, as route templates. */
const SCOPES = [
  "/subscriptions/{subscriptionId}",
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}",
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{providerNamespace}/{resourceType}/{resourceName}",
];

/** The scope a request addresses: its path up to the given provider suffix, with empty segments dropped (the SDK sends `ns//type`). */
function scopeOf(ctx: RequestContext, marker: string): string {
  const path = ctx.path.replace(/\/{2,}/g, "/");
  const at = path.toLowerCase().indexOf(marker.toLowerCase());
  return at < 0 ? path : path.slice(0, at);
}

/** The scope exists: the subscription, resource group or resource it names. */
function requireScope(env: ArmEnv, ctx: RequestContext, scope: string): string {
  requireSubscription(env, ctx);
  if (ctx.params["resourceGroupName"] === undefined) return `/subscriptions/${env.store.subscriptionId}`;
  const group = env.store.getResourceGroup(ctx.params["resourceGroupName"]);
  if (!group) throw new ArmError(404, "ResourceGroupNotFound", `Resource group '${ctx.params["resourceGroupName"]}' could not be found.`);
  if (ctx.params["resourceName"] === undefined) return group.id;
  const resource = env.store.get(scope);
  if (!resource) {
    throw new ArmError(
      404,
      "ResourceNotFound",
      `The Resource '${ctx.params["providerNamespace"]}/${ctx.params["resourceType"]}/${ctx.params["resourceName"]}' under resource group '${group.name}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }
  return resource.id;
}

function definitionRoutes(env: ArmEnv): Route[] {
  const routes: Route[] = [];
  for (const kind of ["policyDefinitions", "policySetDefinitions"]) {
    for (const prefix of ["", "/subscriptions/{subscriptionId}", "/providers/Microsoft.Management/managementGroups/{managementGroupId}"]) {
      routes.push({
        method: "GET",
        path: `${prefix}${AUTHORIZATION}/${kind}/{name}`,
        auth: "arm",
        handler: (ctx) => {
          if (ctx.params["subscriptionId"] !== undefined) requireSubscription(env, ctx);
          const found = env.store.get(ctx.path);
          if (!found) {
            const code = kind === "policyDefinitions" ? "PolicyDefinitionNotFound" : "PolicySetDefinitionNotFound";
            throw new ArmError(
              404,
              code,
              `The policy ${kind === "policyDefinitions" ? "definition" : "set definition"} '${ctx.params["name"]}' could not be found.`,
            );
          }
          return { status: 200, body: found };
        },
      });
    }
  }
  return routes;
}

function assignmentRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const routes: Route[] = [];
  for (const scopeTemplate of SCOPES) {
    routes.push(
      {
        method: "GET",
        path: `${scopeTemplate}${ASSIGNMENTS}/{policyAssignmentName}`,
        auth: "arm",
        handler: (ctx) => {
          const scope = requireScope(env, ctx, scopeOf(ctx, ASSIGNMENTS));
          const name = ctx.params["policyAssignmentName"] ?? "";
          const found = store.get(policyAssignmentId(scope, name));
          if (!found) throw new ArmError(404, "PolicyAssignmentNotFound", `The policy assignment '${name}' is not found.`);
          return { status: 200, body: assignmentAsServed(found, ctx) };
        },
      },
      {
        method: "PUT",
        path: `${scopeTemplate}${ASSIGNMENTS}/{policyAssignmentName}`,
        auth: "arm",
        handler: (ctx) => {
          const scope = requireScope(env, ctx, scopeOf(ctx, ASSIGNMENTS));
          const name = ctx.params["policyAssignmentName"] ?? "";
          if (name.length > 128 || /[<>*%&:\\?.+/]/.test(name) || /\s$/.test(name)) {
            throw new ArmError(400, "InvalidPolicyAssignmentName", `The policy assignment name '${name}' is invalid.`);
          }
          const requested = requireJsonObject(ctx);
          const properties = (requested["properties"] ?? {}) as Record<string, unknown>;
          validateAssignment(store, name, properties, requested["identity"]);
          const mode = properties["enforcementMode"];
          if (mode !== undefined && !["Default", "DoNotEnforce", "Enroll"].includes(String(mode))) {
            throw new ArmError(400, "InvalidRequestContent", `The enforcement mode '${String(mode)}' is not valid.`);
          }
          const current = store.get(policyAssignmentId(scope, name));
          const stored = store.put(
            composeAssignment({
              scope,
              name,
              requested,
              current,
              callerId: ctx.caller?.objectId ?? "",
              tenantId: store.tenantId,
              now: store.now(),
            }),
          );
          // The spec (2025-03-01) declares 201 as the only success answer, for an update as for a create.
          return { status: 201, body: assignmentAsServed(stored, ctx) };
        },
      },
      {
        method: "DELETE",
        path: `${scopeTemplate}${ASSIGNMENTS}/{policyAssignmentName}`,
        auth: "arm",
        handler: (ctx) => {
          const scope = requireScope(env, ctx, scopeOf(ctx, ASSIGNMENTS));
          const id = policyAssignmentId(scope, ctx.params["policyAssignmentName"] ?? "");
          const found = store.get(id);
          if (!found) return { status: 204 };
          store.delete(id);
          return { status: 200, body: assignmentAsServed(found, ctx) };
        },
      },
      {
        // $filter: none (applying here and to children), atScope() (applying here), atExactScope() (made here),
        // policyDefinitionId eq '{id}'.
        method: "GET",
        path: `${scopeTemplate}${ASSIGNMENTS}`,
        auth: "arm",
        handler: (ctx) => {
          const scope = requireScope(env, ctx, scopeOf(ctx, ASSIGNMENTS));
          const filter = (queryValue(ctx, "$filter") ?? "").trim();
          const scopeOfA = (a: { properties?: Record<string, unknown> }) => String(a.properties?.["scope"] ?? "").toLowerCase();
          let value;
          if (filter === "") {
            value = [
              ...assignmentsApplyingTo(store, scope),
              ...store
                .list(`/subscriptions/${store.subscriptionId}`, POLICY_ASSIGNMENT_TYPE)
                .filter((a) => scopeOfA(a).startsWith(`${scope.toLowerCase()}/`)),
            ];
          } else if (/^atScope\(\)$/i.test(filter)) {
            value = assignmentsApplyingTo(store, scope);
          } else if (/^atExactScope\(\)$/i.test(filter)) {
            value = assignmentsApplyingTo(store, scope).filter((a) => scopeOfA(a) === scope.toLowerCase());
          } else {
            const byDefinition = /^policyDefinitionId eq '([^']+)'$/i.exec(filter);
            if (!byDefinition) {
              throw new ArmError(400, "InvalidFilterInQueryString", `Invalid $filter '${filter}' specified in the query string.`);
            }
            const wanted = byDefinition[1]!.toLowerCase();
            value = assignmentsApplyingTo(store, scope).filter(
              (a) => String(a.properties?.["policyDefinitionId"]).toLowerCase() === wanted,
            );
          }
          return { status: 200, body: { value: value.map((a) => assignmentAsServed(a, ctx)) } };
        },
      },
    );
  }
  return routes;
}

/** Rows in one page of policy states, and the most `$top` may ask for (the REST spec's QueryOptions). */
/**
 * A policy assignment as the request's api-version has it. `instanceId` is not a property of
 * PolicyAssignmentProperties in 2024-05-01 (azure-rest-api-specs policy/stable/2024-05-01/policyAssignments.json
 * at 5168128725b747508c3c40617443b2fa5b0ca3bd) and appears from 2025-03-01 (the createPolicyAssignment example).
 */
function assignmentAsServed(assignment: ArmResource, ctx: RequestContext): ArmResource {
  if ((queryValue(ctx, "api-version") ?? "") >= "2025-03-01") return assignment;
  const { instanceId: _instanceId, ...properties } = assignment.properties ?? {};
  return { ...assignment, properties };
}

const POLICY_STATES_PAGE = 1000;

/**
 * Policy Insights: the latest compliance states of resources at or under a scope (a POST that only reads).
 * $filter supports `policyAssignmentId eq '{id}'` terms joined by `or`. Above 1,000 rows (or `$top`) the
 * answer carries `@odata.nextLink` with a `$skiptoken`, and the next page is POSTed to it too: the
 * service refuses a GET with HttpMethodNotSupported, which is where SDKs that follow the link with a
 * GET stop after the first page (azure-sdk-for-python#17280, azure-cli#20370; the message is quoted
 * there, the HTTP status is not, 405 is assumed).
 */
function policyStateRoutes(env: ArmEnv): Route[] {
  return SCOPES.flatMap((scopeTemplate): Route[] => [
    {
      method: "POST",
      path: `${scopeTemplate}${POLICY_STATES}`,
      auth: "arm",
      handler: (ctx: RequestContext) => {
        const scope = requireScope(env, ctx, scopeOf(ctx, "/providers/Microsoft.PolicyInsights/"));
        const which = (ctx.params["policyStatesResource"] ?? "").toLowerCase();
        if (which !== "latest" && which !== "default") {
          throw new ArmError(
            400,
            "InvalidPolicyStatesResource",
            `The policy states resource '${ctx.params["policyStatesResource"]}' is not valid; use 'latest' or 'default'.`,
          );
        }
        const filter = (queryValue(ctx, "$filter") ?? "").trim();
        let assignmentIds: string[] | undefined;
        if (filter) {
          const terms = filter.split(/\s+or\s+/i).map((term) => /^\(?\s*policyAssignmentId eq '([^']+)'\s*\)?$/i.exec(term.trim())?.[1]);
          if (terms.some((t) => t === undefined)) {
            throw new ArmError(400, "InvalidFilterInQueryString", `Invalid $filter '${filter}' specified in the query string.`);
          }
          assignmentIds = terms.map((t) => t!.toLowerCase());
        }
        const top = Number(queryValue(ctx, "$top") ?? POLICY_STATES_PAGE);
        if (!Number.isInteger(top) || top < 1 || top > POLICY_STATES_PAGE) {
          throw new ArmError(400, "InvalidTopInQueryString", `Invalid $top '${queryValue(ctx, "$top")}' specified in the query string.`);
        }
        const skipToken = queryValue(ctx, "$skiptoken");
        const skip = skipToken === undefined ? 0 : Number(Buffer.from(skipToken, "base64url").toString("utf8"));
        if (!Number.isInteger(skip) || skip < 0) {
          throw new ArmError(400, "InvalidSkipTokenInQueryString", `Invalid $skiptoken '${skipToken}' specified in the query string.`);
        }
        const context = `${env.url}${scope}/providers/Microsoft.PolicyInsights/policyStates/$metadata#${which}`;
        const all = env.store
          .policyStatesUnder(scope)
          .filter((s) => !assignmentIds || assignmentIds.includes(s.policyAssignmentId.toLowerCase()));
        const value = all.slice(skip, skip + top).map((s) => ({ "@odata.id": null, "@odata.context": `${context}/$entity`, ...s }));
        let nextLink: string | undefined;
        if (skip + top < all.length) {
          const next = new URL(`${env.url}${ctx.path}`);
          for (const [name, v] of Object.entries(ctx.query)) if (name.toLowerCase() !== "$skiptoken") next.searchParams.set(name, v);
          next.searchParams.set("$skiptoken", Buffer.from(String(skip + top)).toString("base64url"));
          nextLink = next.toString();
        }
        return {
          status: 200,
          body: { "@odata.context": context, "@odata.count": value.length, ...(nextLink ? { "@odata.nextLink": nextLink } : {}), value },
        };
      },
    },
    {
      method: "GET",
      path: `${scopeTemplate}${POLICY_STATES}`,
      auth: "arm",
      handler: () => {
        throw new ArmError(405, "HttpMethodNotSupported", "The http method 'GET' is not supported for 'queryResults'.");
      },
    },
  ]);
}

export function policyRoutes(env: ArmEnv): Route[] {
  return [...definitionRoutes(env), ...assignmentRoutes(env), ...policyStateRoutes(env)];
}
