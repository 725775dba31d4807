import { header, queryValue } from "../http";
import type { Route } from "../http";
import type { Directory } from "../directory";
import { newGuid } from "../jwt";
import type { SigningKey } from "../jwt";

export interface AdoOidc {
  /** Issuer of the OIDC tokens (stands in for https://vstoken.dev.azure.com/{organizationId}). */
  issuer: string;
  /** What the agent puts in SYSTEM_OIDCREQUESTURI. */
  requestUri: string;
  /** The SystemVssConnection AccessToken (System.AccessToken) the request must carry. */
  systemAccessToken: string;
  /** The `sub` of tokens issued for a service connection: `sc://{organization}/{project}/{serviceConnection}`. */
  subjectFor(serviceConnectionId: string): string;
}

export interface AdoOidcEnv {
  url: string;
  key: SigningKey;
  directory: Directory;
  organization: string;
  project: string;
}

const ORGANIZATION_ID = "5e1d3a4b-0f27-4c5e-9a3b-6b2d8c7e9f10";

/**
 * The Azure DevOps OIDC token endpoint (`POST .../_apis/distributedtask/hubs/build/plans/{plan}/jobs/{job}/oidctoken`),
 * answering `{"oidcToken": "<jwt>"}` with aud `api://AzureADTokenExchange`. Service connections are identified by id;
 * the local organization names each service connection by its id, so the subject is `sc://{org}/{project}/{id}`.
 */
export function createAdoOidc(env: AdoOidcEnv): { oidc: AdoOidc; routes: Route[] } {
  const issuer = `${env.url}/vstoken/${ORGANIZATION_ID}`;
  const planId = newGuid();
  const jobId = newGuid();
  const projectId = newGuid();
  const oidc: AdoOidc = {
    issuer,
    requestUri: `${env.url}/${env.organization}/${projectId}/_apis/distributedtask/hubs/build/plans/${planId}/jobs/${jobId}/oidctoken`,
    systemAccessToken: `local-system-access-token-${newGuid()}`,
    subjectFor: (serviceConnectionId) => `sc://${env.organization}/${env.project}/${serviceConnectionId}`,
  };
  env.directory.trustIssuer(issuer, env.key.publicKey);

  const unauthorized = {
    status: 401,
    body: {
      $id: "1",
      innerException: null,
      message: "TF400813: The user '' is not authorized to access this resource.",
      typeName: "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
      typeKey: "UnauthorizedRequestException",
      errorCode: 0,
      eventId: 3000,
    },
  };

  const routes: Route[] = [
    {
      method: "POST",
      path: "/{organization}/{projectId}/_apis/distributedtask/hubs/build/plans/{planId}/jobs/{jobId}/oidctoken",
      logBody: () => undefined,
      handler: (ctx) => {
        if (header(ctx, "authorization") !== `Bearer ${oidc.systemAccessToken}`) return unauthorized;
        const serviceConnectionId = queryValue(ctx, "serviceConnectionId");
        if (!serviceConnectionId) {
          return {
            status: 400,
            body: {
              $id: "1",
              innerException: null,
              message: "The service connection id (serviceConnectionId) is required.",
              typeKey: "ArgumentNullException",
              errorCode: 0,
              eventId: 0,
            },
          };
        }
        const now = Math.floor(Date.now() / 1000);
        const oidcToken = env.key.sign({
          jti: newGuid(),
          sub: oidc.subjectFor(serviceConnectionId),
          aud: "api://AzureADTokenExchange",
          iss: issuer,
          nbf: now,
          iat: now,
          exp: now + 600,
        });
        env.directory.issuedTokens.push(oidcToken);
        return { status: 200, body: { oidcToken } };
      },
    },
    {
      method: "GET",
      path: `/vstoken/${ORGANIZATION_ID}/.well-known/openid-configuration`,
      handler: () => ({
        status: 200,
        body: {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks`,
          subject_types_supported: ["public", "pairwise"],
          response_types_supported: ["id_token"],
          claims_supported: ["sub", "aud", "exp", "iat", "iss", "nbf"],
          id_token_signing_alg_values_supported: ["RS256"],
          scopes_supported: ["openid"],
        },
      }),
    },
    {
      method: "GET",
      path: `/vstoken/${ORGANIZATION_ID}/.well-known/jwks`,
      handler: () => ({ status: 200, body: env.key.jwks() }),
    },
  ];
  return { oidc, routes };
}
