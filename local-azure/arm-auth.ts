import { header } from "./http";
import type { Caller, Reply, RequestContext } from "./http";
import type { Directory } from "./directory";
import { decodeJwt, lifetimeProblem, verifySignature } from "./jwt";

/** ARM accepts tokens for either of its identifier URIs, with or without the trailing slash. */
export function armAudiences(armAudience: string): string[] {
  const bare = (s: string) => s.replace(/\/+$/, "");
  return [
    ...new Set([armAudience, bare(armAudience), `${bare(armAudience)}/`, "https://management.azure.com/", "https://management.azure.com"]),
  ];
}

/** Checks the bearer token as ARM does; answers 401 with ARM's error codes and a WWW-Authenticate challenge. */
export function armAuthenticator(p: { url: string; directory: Directory; armAudience: string }): (ctx: RequestContext) => Caller | Reply {
  const audiences = armAudiences(p.armAudience);
  const challenge = (error: string, description: string): Record<string, string> => ({
    "www-authenticate": `Bearer authorization_uri="${p.url}/${p.directory.tenantId}", error="${error}", error_description="${description}"`,
  });
  const fail = (code: string, message: string, error = "invalid_token"): Reply => ({
    status: 401,
    headers: challenge(error, message),
    body: { error: { code, message } },
  });

  return (ctx) => {
    const authorization = header(ctx, "authorization");
    if (!authorization) return fail("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    if (!match?.[1])
      return fail("AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.");
    let jwt;
    try {
      jwt = decodeJwt(match[1]);
    } catch {
      return fail("InvalidAuthenticationToken", "The access token is invalid.");
    }
    if (jwt.header.kid !== p.directory.tokenKey.kid || !verifySignature(jwt, p.directory.tokenKey.publicKey)) {
      return fail("InvalidAuthenticationToken", "The access token is invalid.");
    }
    const lifetime = lifetimeProblem(jwt.claims, undefined, 0);
    if (lifetime)
      return fail("ExpiredAuthenticationToken", `The access token expiry UTC time is earlier than current UTC time (${lifetime}).`);
    const aud = String(jwt.claims["aud"] ?? "");
    if (!audiences.includes(aud)) {
      return fail(
        "InvalidAuthenticationTokenAudience",
        `The access token has been obtained for wrong audience or resource '${aud}'. It should exactly match with one of the allowed audiences ${audiences.map((a) => `'${a}'`).join(",")}.`,
      );
    }
    if (String(jwt.claims["tid"] ?? "") !== p.directory.tenantId) {
      return fail(
        "InvalidAuthenticationTokenTenant",
        `The access token is from the wrong issuer '${String(jwt.claims["iss"])}'. It must match the tenant '${p.directory.tenantId}' associated with this subscription.`,
      );
    }
    return { objectId: String(jwt.claims["oid"]), appId: String(jwt.claims["appid"]), tenantId: String(jwt.claims["tid"]) };
  };
}
