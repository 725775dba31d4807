import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, constants, X509Certificate } from "node:crypto";
import type { KeyObject } from "node:crypto";

export type JwtHeader = { alg: string; typ?: string; kid?: string; x5t?: string; "x5t#S256"?: string; [k: string]: unknown };
export type JwtClaims = { [claim: string]: unknown };

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

/** An RSA key that issues tokens (Entra access tokens, ADO OIDC tokens) and publishes its JWKS. */
export class SigningKey {
  readonly kid: string;
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor() {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
    this.kid = createHash("sha256")
      .update(this.publicKey.export({ format: "der", type: "spki" }))
      .digest("base64url")
      .slice(0, 27);
  }

  sign(claims: JwtClaims): string {
    const header: JwtHeader = { typ: "JWT", alg: "RS256", kid: this.kid };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign("sha256", Buffer.from(signingInput), this.privateKey);
    return `${signingInput}.${b64url(signature)}`;
  }

  jwks(): { keys: object[] } {
    const jwk = this.publicKey.export({ format: "jwk" });
    return { keys: [{ kty: "RSA", use: "sig", kid: this.kid, n: jwk.n, e: jwk.e, alg: "RS256" }] };
  }
}

export class JwtError extends Error {}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("the token is not a JWS compact serialization (three dot-separated parts)");
  const [h, c, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as JwtHeader;
    const claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8")) as JwtClaims;
    if (typeof header !== "object" || header === null || typeof claims !== "object" || claims === null) throw new Error("not objects");
    return { header, claims, signingInput: `${h}.${c}`, signature: Buffer.from(s, "base64url") };
  } catch {
    throw new JwtError("the token header or payload is not base64url-encoded JSON");
  }
}

/** Verifies an RS256 or PS256 signature (PS256 is what MSAL uses for certificate assertions with x5t#S256). */
export function verifySignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  switch (jwt.header.alg) {
    case "RS256":
      return verify("sha256", data, key, jwt.signature);
    case "PS256":
      return verify(
        "sha256",
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
        jwt.signature,
      );
    default:
      return false;
  }
}

/** Checks exp/nbf with a small clock skew allowance; returns the reason when the token is outside its lifetime. */
export function lifetimeProblem(claims: JwtClaims, nowSeconds = Math.floor(Date.now() / 1000), skewSeconds = 300): string | undefined {
  const exp = claims["exp"];
  const nbf = claims["nbf"];
  if (typeof exp !== "number") return "the token has no exp claim";
  if (exp + skewSeconds < nowSeconds) return "the token has expired";
  if (typeof nbf === "number" && nbf - skewSeconds > nowSeconds) return "the token is not yet valid";
  return undefined;
}

export interface CertificateThumbprints {
  sha1: string; // base64url of the DER SHA-1 digest, as in a JWT x5t header
  sha256: string; // base64url of the DER SHA-256 digest, as in x5t#S256
  publicKey: KeyObject;
}

export function certificateThumbprints(certificatePem: string): CertificateThumbprints {
  const cert = new X509Certificate(certificatePem);
  return {
    sha1: createHash("sha1").update(cert.raw).digest("base64url"),
    sha256: createHash("sha256").update(cert.raw).digest("base64url"),
    publicKey: createPublicKey(cert.publicKey.export({ format: "pem", type: "spki" })),
  };
}

export const newGuid = (): string => randomUUID();
