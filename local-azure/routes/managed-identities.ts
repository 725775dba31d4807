import { ArmError } from "../http";
import type { Route } from "../http";
import type { ArmResource } from "../store";
import { FEDERATED_CREDENTIAL_TYPE, MAX_FEDERATED_CREDENTIALS } from "../store";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireResourceGroup, requireSubscription, resourceNotFound } from "./arm-common";

const TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities";
const BASE = `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/${TYPE}`;
const CREDENTIALS = `${BASE}/{resourceName}/federatedIdentityCredentials`;
/** Federated identity credential names: 3-120 letters, digits, '-' and '_', starting with a letter or digit. */
const CREDENTIAL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/;

interface CredentialProperties {
  issuer?: unknown;
  subject?: unknown;
  audiences?: unknown;
}

/**
 * User-assigned managed identities (api-version 2024-11-30): read and list; tests create them through the
 * store. Their federated identity credentials: create or update, get, list, delete, with the service's
 * rules (FederatedIdentityCredentialCreate example; the errors documented for the resource): names of 3-120
 * characters, exactly one audience, an issuer+subject pair unique per identity, at most 20 per identity.
 * Identities are listed by resource group and by subscription.
 */
export function managedIdentityRoutes(env: ArmEnv): Route[] {
  const { store } = env;
  const identityOf = (ctx: Parameters<Route["handler"]>[0]): ArmResource => {
    const group = requireResourceGroup(env, ctx);
    const name = ctx.params["resourceName"] ?? "";
    const identity = store.get(`${group.id}/providers/${TYPE}/${name}`);
    if (!identity) throw resourceNotFound(TYPE, name, group.name);
    return identity;
  };
  const credentialsOf = (identity: ArmResource) => store.list(`${identity.id}/federatedIdentityCredentials`, FEDERATED_CREDENTIAL_TYPE);

  return [
    {
      method: "GET",
      path: `${BASE}/{resourceName}`,
      auth: "arm",
      handler: (ctx) => ({ status: 200, body: identityOf(ctx) }),
    },
    {
      method: "GET",
      path: BASE,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        return { status: 200, body: { value: store.list(`${group.id}/providers/${TYPE}`, TYPE) } };
      },
    },
    {
      method: "GET",
      path: CREDENTIALS,
      auth: "arm",
      handler: (ctx) => ({ status: 200, body: { value: credentialsOf(identityOf(ctx)) } }),
    },
    {
      method: "GET",
      path: `${CREDENTIALS}/{credentialName}`,
      auth: "arm",
      handler: (ctx) => {
        const identity = identityOf(ctx);
        const name = ctx.params["credentialName"] ?? "";
        const found = store.get(`${identity.id}/federatedIdentityCredentials/${name}`);
        if (!found)
          throw resourceNotFound(`${TYPE}/federatedIdentityCredentials`, `${identity.name}/${name}`, ctx.params["resourceGroupName"] ?? "");
        return { status: 200, body: found };
      },
    },
    {
      method: "PUT",
      path: `${CREDENTIALS}/{credentialName}`,
      auth: "arm",
      handler: (ctx) => {
        const identity = identityOf(ctx);
        const name = ctx.params["credentialName"] ?? "";
        if (!CREDENTIAL_NAME.test(name)) {
          throw new ArmError(400, "BadRequest", `Federated Identity Credential name '${name}' is invalid.`);
        }
        const properties = (requireJsonObject(ctx)["properties"] ?? {}) as CredentialProperties;
        const { issuer, subject, audiences } = properties;
        if (typeof issuer !== "string" || !issuer || typeof subject !== "string" || !subject || !Array.isArray(audiences)) {
          throw new ArmError(400, "BadRequest", "Federated Identity Credential from HTTP body has empty properties.");
        }
        if (audiences.length !== 1 || typeof audiences[0] !== "string") {
          throw new ArmError(400, "BadRequest", "Federated identity credentials must have exactly 1 audience.");
        }
        const id = `${identity.id}/federatedIdentityCredentials/${name}`;
        const others = credentialsOf(identity).filter((c) => c.id.toLowerCase() !== id.toLowerCase());
        const current = store.get(id);
        const sameTrust = others.find((c) => {
          const p = c.properties as { issuer: string; subject: string };
          return p.issuer === issuer && p.subject === subject;
        });
        if (sameTrust) throw new ArmError(400, "BadRequest", "Issuer and subject combination already exists for this Managed Identity.");
        if (!current && others.length >= MAX_FEDERATED_CREDENTIALS) {
          throw new ArmError(
            400,
            "BadRequest",
            `The managed identity '${identity.name}' already has ${others.length} federated identity credentials; at most ${MAX_FEDERATED_CREDENTIALS} are allowed per identity.`,
          );
        }
        const saved = store.addFederatedIdentityCredential(identity.id, name, { issuer, subject, audiences: audiences as string[] });
        return { status: current ? 200 : 201, body: saved };
      },
    },
    {
      method: "DELETE",
      path: `${CREDENTIALS}/{credentialName}`,
      auth: "arm",
      handler: (ctx) => {
        const identity = identityOf(ctx);
        const removed = store.delete(`${identity.id}/federatedIdentityCredentials/${ctx.params["credentialName"] ?? ""}`);
        return { status: removed ? 200 : 204 };
      },
    },
    {
      method: "GET",
      path: `/subscriptions/{subscriptionId}/providers/${TYPE}`,
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        return { status: 200, body: { value: env.store.listByType(TYPE) } };
      },
    },
  ];
}
