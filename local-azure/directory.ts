import { timingSafeEqual } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { certificateThumbprints, newGuid, SigningKey } from "./jwt";
import type { CertificateThumbprints } from "./jwt";

export interface ServicePrincipal {
  clientId: string;
  objectId: string;
  clientSecret?: string;
  certificates: CertificateThumbprints[];
  federatedCredentials: { issuer: string; subject: string; audiences: string[] }[];
}

export interface ManagedIdentityPrincipal {
  clientId: string;
  objectId: string;
  resourceId?: string;
}

/**
 * The kinds of principal ARM's role assignments name (`principalType`). Managed identities and apps
 * are both service principals in the directory.
 */
export type PrincipalType = "User" | "Group" | "ServicePrincipal";

/** Access token lifetime Entra uses for app tokens (about an hour, with jitter). */
const TOKEN_LIFETIME_SECONDS = 3599;

/**
 * The tenant's directory: app registrations (service principals) and managed identities that may get
 * tokens, the key that signs access tokens, and the external OIDC issuers whose tokens the tenant can verify.
 */
export class Directory {
  readonly tokenKey = new SigningKey();
  private readonly servicePrincipals = new Map<string, ServicePrincipal>();
  private readonly managedIdentities = new Map<string, ManagedIdentityPrincipal>();
  private readonly trustedIssuers = new Map<string, KeyObject>();
  /** Users and groups by object id: they get no tokens here, but role assignments name them. */
  private readonly usersAndGroups = new Map<string, PrincipalType>();
  /** Every bearer token handed out (access tokens, Azure DevOps OIDC tokens), so tests can prove none is ever printed. */
  readonly issuedTokens: string[] = [];

  constructor(
    readonly tenantId: string,
    /** Issuer of access tokens (Entra v1 style: `{authority}/{tenant}/`). */
    readonly accessTokenIssuer: string,
  ) {}

  addServicePrincipal(p: { clientId: string; clientSecret?: string; certificatePem?: string; objectId?: string }): ServicePrincipal {
    const existing = this.servicePrincipals.get(p.clientId.toLowerCase());
    const sp: ServicePrincipal = existing ?? {
      clientId: p.clientId,
      objectId: p.objectId ?? newGuid(),
      certificates: [],
      federatedCredentials: [],
    };
    if (p.clientSecret !== undefined) sp.clientSecret = p.clientSecret;
    if (p.certificatePem !== undefined) sp.certificates.push(certificateThumbprints(p.certificatePem));
    this.servicePrincipals.set(p.clientId.toLowerCase(), sp);
    return sp;
  }

  addFederatedCredential(p: { clientId: string; issuer: string; subject: string; audiences?: string[] }): void {
    const sp = this.servicePrincipals.get(p.clientId.toLowerCase()) ?? this.addServicePrincipal({ clientId: p.clientId });
    sp.federatedCredentials.push({ issuer: p.issuer, subject: p.subject, audiences: p.audiences ?? ["api://AzureADTokenExchange"] });
  }

  servicePrincipal(clientId: string): ServicePrincipal | undefined {
    return this.servicePrincipals.get(clientId.toLowerCase());
  }

  addManagedIdentity(p: { clientId: string; objectId?: string; resourceId?: string }): ManagedIdentityPrincipal {
    const mi: ManagedIdentityPrincipal = {
      clientId: p.clientId,
      objectId: p.objectId ?? newGuid(),
      ...(p.resourceId ? { resourceId: p.resourceId } : {}),
    };
    this.managedIdentities.set(p.clientId.toLowerCase(), mi);
    return mi;
  }

  managedIdentity(clientId: string): ManagedIdentityPrincipal | undefined {
    return this.managedIdentities.get(clientId.toLowerCase());
  }

  /** A user or a group of the tenant (object id), for role assignments and access policies that name one. */
  addUserOrGroup(type: "User" | "Group", objectId: string = newGuid()): string {
    this.usersAndGroups.set(objectId.toLowerCase(), type);
    return objectId;
  }

  /** What the directory knows the object id to be; undefined when it holds no such principal. */
  principalType(objectId: string): PrincipalType | undefined {
    const id = objectId.toLowerCase();
    const known = this.usersAndGroups.get(id);
    if (known) return known;
    const isServicePrincipal = [...this.servicePrincipals.values(), ...this.managedIdentities.values()].some(
      (p) => p.objectId.toLowerCase() === id,
    );
    return isServicePrincipal ? "ServicePrincipal" : undefined;
  }

  /** The object id of a service principal or managed identity, for role assignments. */
  objectIdOf(clientId: string): string | undefined {
    return this.servicePrincipal(clientId)?.objectId ?? this.managedIdentity(clientId)?.objectId;
  }

  trustIssuer(issuer: string, key: KeyObject): void {
    this.trustedIssuers.set(issuer, key);
  }

  issuerKey(issuer: string): KeyObject | undefined {
    return this.trustedIssuers.get(issuer);
  }

  secretMatches(sp: ServicePrincipal, secret: string): boolean {
    if (sp.clientSecret === undefined) return false;
    const a = Buffer.from(sp.clientSecret);
    const b = Buffer.from(secret);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Issues an app-only access token the way Entra does for the client credentials grant. */
  issueAccessToken(p: {
    appId: string;
    objectId: string;
    audience: string;
    appidacr: "0" | "1" | "2";
    managedIdentityResourceId?: string;
  }): { token: string; expiresIn: number; expiresOn: number; notBefore: number } {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + TOKEN_LIFETIME_SECONDS;
    const token = this.tokenKey.sign({
      aud: p.audience,
      iss: this.accessTokenIssuer,
      iat: now,
      nbf: now,
      exp,
      appid: p.appId,
      appidacr: p.appidacr,
      idp: this.accessTokenIssuer,
      idtyp: "app",
      oid: p.objectId,
      sub: p.objectId,
      tid: this.tenantId,
      uti: newGuid().replace(/-/g, ""),
      ver: "1.0",
      ...(p.managedIdentityResourceId ? { xms_mirid: p.managedIdentityResourceId } : {}),
    });
    this.issuedTokens.push(token);
    return { token, expiresIn: TOKEN_LIFETIME_SECONDS, expiresOn: exp, notBefore: now };
  }
}

/**
 * The token audience for a v2 scope: the resource with `/.default` removed. `https://management.core.windows.net//.default`
 * (the double-slash form clients build from a resource ending in `/`) yields `https://management.core.windows.net/`.
 */
export function audienceFromScope(scope: string): string | undefined {
  const scopes = scope.split(" ").filter((s) => s.length > 0);
  const resourceScope = scopes.find((s) => s.endsWith("/.default"));
  if (!resourceScope) return undefined;
  return resourceScope.slice(0, -"/.default".length);
}
