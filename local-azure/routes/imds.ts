import { header, queryValue } from "../http";
import type { Route } from "../http";
import type { Directory } from "../directory";

export interface ImdsEnv {
  directory: Directory;
  /** The identity IMDS uses when the request names none (the VM's only identity). */
  defaultClientId: string;
}

const invalid = (description: string) => ({ status: 400, body: { error: "invalid_request", error_description: description } });

/**
 * IMDS's managed identity token endpoint on the plain-HTTP listener. The availability probe @azure/identity sends
 * (no Metadata header, no query) gets IMDS's 400, which the client reads as "IMDS is there".
 */
export function imdsRoutes(env: ImdsEnv): Route[] {
  return [
    {
      method: "GET",
      path: "/metadata/identity/oauth2/token",
      listener: "imds",
      host: /.*/,
      handler: (ctx) => {
        if (header(ctx, "metadata")?.toLowerCase() !== "true") return invalid("Required metadata header not specified");
        if (!queryValue(ctx, "api-version")) return invalid("Required query variable 'api-version' is missing");
        const resource = queryValue(ctx, "resource");
        if (!resource) return invalid("Required query variable 'resource' is missing");
        if (queryValue(ctx, "object_id") !== undefined || queryValue(ctx, "msi_res_id") !== undefined) {
          return invalid("Only client_id is supported by the local IMDS to select a user-assigned identity");
        }
        const clientId = queryValue(ctx, "client_id") ?? env.defaultClientId;
        const identity = env.directory.managedIdentity(clientId);
        if (!identity) return invalid("Identity not found");
        const issued = env.directory.issueAccessToken({
          appId: identity.clientId,
          objectId: identity.objectId,
          audience: resource,
          appidacr: "2",
          ...(identity.resourceId ? { managedIdentityResourceId: identity.resourceId } : {}),
        });
        // IMDS answers numbers as strings.
        return {
          status: 200,
          body: {
            access_token: issued.token,
            client_id: identity.clientId,
            expires_in: String(issued.expiresIn),
            expires_on: String(issued.expiresOn),
            ext_expires_in: String(issued.expiresIn),
            not_before: String(issued.notBefore),
            resource,
            token_type: "Bearer",
          },
        };
      },
    },
  ];
}
