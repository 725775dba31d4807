import { formBody, header } from "../http";
import type { Reply, RequestContext, Route } from "../http";
import { audienceFromScope } from "../directory";
import type { Directory, ServicePrincipal } from "../directory";
import { decodeJwt, JwtError, lifetimeProblem, newGuid, verifySignature } from "../jwt";
import type { DecodedJwt } from "../jwt";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

export interface EntraEnv {
  url: string;
  tenantId: string;
  directory: Directory;
}

/** Entra ID's error body: error, error_description "AADSTSn: ...\r\nTrace ID...", error_codes, trace/correlation ids. */
function entraError(env: EntraEnv, ctx: RequestContext, status: number, error: string, code: number, message: string): Reply {
  const traceId = newGuid();
  const correlationId = header(ctx, "client-request-id") ?? newGuid();
  const timestamp = new Date()
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${env.url}/error?code=${code}`,
    },
  };
}

function openIdConfiguration(env: EntraEnv, tenant: string) {
  const base = `${env.url}/${tenant}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${env.url}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${env.url}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: "EU",
    cloud_instance_name: new URL(env.url).host,
    cloud_graph_host_name: new URL(env.url).host,
    msgraph_host: new URL(env.url).host,
    rbac_url: env.url,
  };
}

export function entraRoutes(env: EntraEnv): Route[] {
  const unknownTenant = (ctx: RequestContext, tenant: string) =>
    entraError(
      env,
      ctx,
      400,
      "invalid_tenant",
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  const knownTenant = (tenant: string) => tenant.toLowerCase() === env.tenantId.toLowerCase();

  return [
    {
      method: "GET",
      path: "/{tenant}/v2.0/.well-known/openid-configuration",
      handler: (ctx) => {
        const tenant = ctx.params["tenant"] ?? "";
        return knownTenant(tenant) ? { status: 200, body: openIdConfiguration(env, env.tenantId) } : unknownTenant(ctx, tenant);
      },
    },
    {
      method: "GET",
      path: "/{tenant}/discovery/v2.0/keys",
      handler: () => ({ status: 200, body: env.directory.tokenKey.jwks() }),
    },
    {
      // Instance discovery, for clients that do not set disableInstanceDiscovery.
      method: "GET",
      path: "/common/discovery/instance",
      handler: () => {
        const host = new URL(env.url).host;
        return {
          status: 200,
          body: {
            tenant_discovery_endpoint: `${env.url}/${env.tenantId}/v2.0/.well-known/openid-configuration`,
            "api-version": "1.1",
            metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
          },
        };
      },
    },
    {
      method: "POST",
      path: "/{tenant}/oauth2/v2.0/token",
      logBody: (ctx) => {
        const form = formBody(ctx);
        const kept: Record<string, string> = {};
        for (const key of ["grant_type", "client_id", "scope"]) {
          const v = form.get(key);
          if (v !== null) kept[key] = v;
        }
        return kept;
      },
      handler: (ctx) => {
        const tenant = ctx.params["tenant"] ?? "";
        if (!knownTenant(tenant)) return unknownTenant(ctx, tenant);
        return tokenRequest(env, ctx, formBody(ctx));
      },
    },
  ];
}

function tokenRequest(env: EntraEnv, ctx: RequestContext, form: URLSearchParams): Reply {
  const missing = (name: string) =>
    entraError(env, ctx, 400, "invalid_request", 900144, `The request body must contain the following parameter: '${name}'.`);
  const grantType = form.get("grant_type");
  if (!grantType) return missing("grant_type");
  if (grantType !== "client_credentials") {
    return entraError(env, ctx, 400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grantType}'.`);
  }
  const clientId = form.get("client_id");
  if (!clientId) return missing("client_id");
  const scope = form.get("scope");
  if (!scope) return missing("scope");
  const audience = audienceFromScope(scope);
  if (!audience) {
    return entraError(
      env,
      ctx,
      400,
      "invalid_scope",
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const sp = env.directory.servicePrincipal(clientId);
  if (!sp) {
    return entraError(
      env,
      ctx,
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${env.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }

  const secret = form.get("client_secret");
  const assertion = form.get("client_assertion");
  let appidacr: "1" | "2";
  if (secret !== null) {
    if (!env.directory.secretMatches(sp, secret)) {
      return entraError(
        env,
        ctx,
        401,
        "invalid_client",
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    }
    appidacr = "1";
  } else if (assertion !== null) {
    if (form.get("client_assertion_type") !== JWT_BEARER) {
      return entraError(env, ctx, 400, "invalid_request", 50027, `client_assertion_type must be '${JWT_BEARER}'.`);
    }
    const problem = checkAssertion(env, ctx, sp, assertion);
    if (problem) return problem;
    appidacr = "2";
  } else {
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }

  const issued = env.directory.issueAccessToken({ appId: sp.clientId, objectId: sp.objectId, audience, appidacr });
  return {
    status: 200,
    body: { token_type: "Bearer", expires_in: issued.expiresIn, ext_expires_in: issued.expiresIn, access_token: issued.token },
  };
}

/** A client assertion is either signed with one of the app's certificates (iss = sub = client id) or a federated token from a trusted issuer. */
function checkAssertion(env: EntraEnv, ctx: RequestContext, sp: ServicePrincipal, assertion: string): Reply | undefined {
  let jwt: DecodedJwt;
  try {
    jwt = decodeJwt(assertion);
  } catch (err) {
    return entraError(
      env,
      ctx,
      400,
      "invalid_request",
      50027,
      `JWT token is invalid or malformed: ${err instanceof JwtError ? err.message : "unreadable"}.`,
    );
  }
  const iss = typeof jwt.claims["iss"] === "string" ? jwt.claims["iss"] : "";
  const lifetime = lifetimeProblem(jwt.claims);
  if (lifetime) {
    return entraError(
      env,
      ctx,
      400,
      "invalid_client",
      700024,
      `Client assertion is not within its valid time range (${lifetime}). Current time: ${new Date().toISOString()}.`,
    );
  }
  return iss.toLowerCase() === sp.clientId.toLowerCase()
    ? checkCertificateAssertion(env, ctx, sp, jwt)
    : checkFederatedAssertion(env, ctx, sp, jwt, iss);
}

function checkCertificateAssertion(env: EntraEnv, ctx: RequestContext, sp: ServicePrincipal, jwt: DecodedJwt): Reply | undefined {
  const x5tS256 = jwt.header["x5t#S256"];
  const x5t = jwt.header.x5t;
  const cert = sp.certificates.find((c) => c.sha256 === x5tS256 || c.sha1 === x5t);
  if (!cert) {
    const presented = Buffer.from(String(x5tS256 ?? x5t ?? ""), "base64url")
      .toString("hex")
      .toUpperCase();
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${presented}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${sp.clientId}'.]`,
    );
  }
  if (!verifySignature(jwt, cert.publicKey)) {
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      700027,
      "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]",
    );
  }
  if (String(jwt.claims["sub"] ?? "").toLowerCase() !== sp.clientId.toLowerCase()) {
    return entraError(env, ctx, 401, "invalid_client", 700023, "Client assertion subject ('sub') must be the application's client id.");
  }
  const tokenEndpoint = `${env.url}/${env.tenantId}/oauth2/v2.0/token`.toLowerCase();
  const audiences = ([] as unknown[]).concat(jwt.claims["aud"]).map((a) => String(a).toLowerCase().split("?")[0]);
  const accepted = [
    tokenEndpoint,
    `${env.url}/${env.tenantId}/v2.0`.toLowerCase(),
    `${env.url}/${env.tenantId}/oauth2/token`.toLowerCase(),
  ];
  if (!audiences.some((a) => a !== undefined && accepted.includes(a))) {
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      700212,
      `The audience of the client assertion ('${audiences.join(", ")}') is not the token endpoint '${tokenEndpoint}'.`,
    );
  }
  return undefined;
}

function checkFederatedAssertion(
  env: EntraEnv,
  ctx: RequestContext,
  sp: ServicePrincipal,
  jwt: DecodedJwt,
  iss: string,
): Reply | undefined {
  const subject = String(jwt.claims["sub"] ?? "");
  const audiences = ([] as unknown[]).concat(jwt.claims["aud"]).map(String);
  const byIssuer = sp.federatedCredentials.filter((f) => f.issuer === iss);
  if (byIssuer.length === 0) {
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      700211,
      `No matching federated identity record found for presented assertion issuer '${iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
    );
  }
  const key = env.directory.issuerKey(iss);
  if (!key || !verifySignature(jwt, key)) {
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      700027,
      `Client assertion failed signature validation against the keys of issuer '${iss}'.`,
    );
  }
  const bySubject = byIssuer.filter((f) => f.subject === subject);
  if (bySubject.length === 0) {
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      700213,
      `No matching federated identity record found for presented assertion subject '${subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`,
    );
  }
  if (!bySubject.some((f) => f.audiences.some((a) => audiences.includes(a)))) {
    return entraError(
      env,
      ctx,
      401,
      "invalid_client",
      700212,
      `No matching federated identity record found for presented assertion audience '${audiences.join(", ")}'. Expected '${EXCHANGE_AUDIENCE}'.`,
    );
  }
  return undefined;
}
