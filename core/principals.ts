import * as tl from "azure-pipelines-task-lib/task";
import type { AzureClients } from "./azure";
import { describeFailure, TaskError } from "./errors";
import { identityClient, readUserAssignedIdentity, type IdentityReference } from "./identity";
import { isGuid } from "./names";

/** Who a task grants access to, as the user named it: an object or client ID, or a managed identity's resource ID. */
export type Grantee = { kind: "id"; id: string } | ({ kind: "identity"; resourceId: string } & IdentityReference);

/** A principal as far as the task can tell what it is. */
export interface ResolvedGrantee {
  principalId: string;
  description: string;
  /**
   * Only when the task read that the principal is a service principal: a managed identity read from
   * ARM, or the connection's own principal as its access token says. ARM checks a sent type against
   * the directory (400 UnmatchedPrincipalType), so anything else is sent without one.
   */
  principalType?: "ServicePrincipal";
  /** How the task knows the type, for the summary. */
  knownFrom?: string;
  note?: string;
}

/**
 * Each grantee's object ID. A resource ID is read; a GUID is looked up among the subscription's
 * user-assigned identities (so an identity's client ID works, e.g. an AKS kubelet identity), and
 * otherwise taken as the object ID of a principal whose kind the task cannot know (a user, a group
 * or an app's service principal). The identities are listed once for all the GUIDs.
 */
export async function resolveGrantees(clients: AzureClients, grantees: readonly Grantee[]): Promise<ResolvedGrantee[]> {
  const ids = grantees.filter((g): g is { kind: "id"; id: string } => g.kind === "id").map((g) => g.id.toLowerCase());
  const byId = new Map<string, ResolvedGrantee>();
  if (ids.length) {
    try {
      for await (const identity of identityClient(clients).userAssignedIdentities.listBySubscription()) {
        const clientId = identity.clientId?.toLowerCase();
        const principalId = identity.principalId?.toLowerCase();
        if (!principalId || !isGuid(principalId)) continue;
        const resolved = (how: string): ResolvedGrantee => ({
          principalId,
          description: `managed identity '${identity.name}' (${how})`,
          principalType: "ServicePrincipal",
          knownFrom: "a managed identity the task read from Azure Resource Manager",
        });
        if (clientId && ids.includes(clientId)) byId.set(clientId, resolved(`client ID ${clientId}, object ID ${principalId}`));
        if (ids.includes(principalId)) byId.set(principalId, resolved(`object ID ${principalId}`));
      }
    } catch (error) {
      tl.debug(`Could not list user-assigned identities to resolve ${ids.join(", ")}: ${describeFailure(error)}`);
    }
  }
  return Promise.all(
    grantees.map(async (grantee): Promise<ResolvedGrantee> => {
      if (grantee.kind === "identity") {
        const identity = await readUserAssignedIdentity(clients, grantee);
        return {
          principalId: identity.principalId,
          description: `managed identity '${identity.name}' (object ID ${identity.principalId})`,
          principalType: "ServicePrincipal",
          knownFrom: "a managed identity the task read from Azure Resource Manager",
        };
      }
      return (
        byId.get(grantee.id.toLowerCase()) ?? {
          principalId: grantee.id.toLowerCase(),
          description: `object ID ${grantee.id.toLowerCase()}`,
          note: `${grantee.id.toLowerCase()} is not a user-assigned identity of this subscription, so it is used as the object ID of a user, a group or an app's service principal. For an app registration, give its service principal's object ID, not its client ID.`,
        }
      );
    }),
  );
}

/**
 * The service connection's own principal: the `oid` claim of the access token it signs in with (the
 * object ID of its service principal or managed identity), read from the token the run already has
 * for ARM, so it costs no request of its own. The token says whether it is app-only (`idtyp: app`,
 * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference): then the
 * principal is a service principal.
 */
export async function connectionPrincipal(clients: AzureClients): Promise<ResolvedGrantee> {
  // Asked as the ARM clients ask (core-rest-pipeline's bearer policy: CAE on, no tenant), so the run's
  // reads share this one token request.
  const token = await clients.credential.getToken(clients.connection.armScope, { enableCae: true });
  const claims = token ? jwtClaims(token.token) : undefined;
  const oid = typeof claims?.["oid"] === "string" ? claims["oid"].toLowerCase() : undefined;
  if (!oid || !isGuid(oid)) {
    throw new TaskError(
      "The service connection's access token names no object ID (oid claim), so the task cannot tell which principal the pipeline runs as; give the principal's object ID instead of 'serviceConnection'.",
    );
  }
  const appOnly = claims?.["idtyp"] === "app";
  return {
    principalId: oid,
    description: `the service connection's principal (object ID ${oid})`,
    ...(appOnly
      ? { principalType: "ServicePrincipal" as const, knownFrom: "the service connection's own principal, whose access token is app-only" }
      : {}),
  };
}

/** The claims of a JWT, unverified: the token is the run's own, from its own authority. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  try {
    const payload = token.split(".")[1];
    return payload ? (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
