import { header, jsonBody, queryValue } from "../http";
import type { Caller, Reply, RequestContext, Route } from "../http";
import { decodeJwt, lifetimeProblem, verifySignature } from "../jwt";
import type { AccessPolicyEntry, SecretVersion, VaultSecretRecord } from "../resources/key-vault";
import { MAX_SECRET_VALUE_BYTES, SECRET_NAME } from "../resources/key-vault";
import { holdsDataAction, permissionsOf } from "../resources/role-definitions";
import type { VaultFirewalls } from "../resources/vault-network";
import type { ArmResource, ResourceStore } from "../store";

/** The Key Vault data plane's token audience in Azure's public cloud (what its 401 challenge names). */
export const VAULT_AUDIENCE = "https://vault.azure.net";
/** Host names of vaults: `<vault>.vault.azure.net`. Tests resolve them to the local Azure. */
export const VAULT_HOST = /^([a-z0-9-]{3,24})\.vault\.azure\.net$/i;

type SecretOperation = "get" | "list" | "set" | "delete" | "recover";

/** The data action of each operation, as Key Vault names it in a 403 and a role grants it (resources/role-definitions.ts). */
const DATA_ACTIONS: Record<SecretOperation, string> = {
  get: "Microsoft.KeyVault/vaults/secrets/getSecret/action",
  list: "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
  set: "Microsoft.KeyVault/vaults/secrets/setSecret/action",
  delete: "Microsoft.KeyVault/vaults/secrets/delete",
  recover: "Microsoft.KeyVault/vaults/secrets/recover/action",
};

export interface VaultEnv {
  /** The local authority (the challenge's `authorization` is `{url}/{tenant}`). */
  url: string;
  store: ResourceStore;
  /** The vaults' firewalls as the data plane enforces them (late after a write). */
  vaultFirewalls: VaultFirewalls;
  /** The caller's public address as the vault sees it (the address the request's connection leaves from). */
  clientAddress: (ctx: RequestContext) => string;
}

interface VaultRequest {
  ctx: RequestContext;
  vault: ArmResource;
  base: string;
  caller: Caller;
}

const kvError = (status: number, code: string, message: string, inner?: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers,
  body: { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } },
});

/**
 * The Key Vault data plane for secrets on `https://<vault>.vault.azure.net` (api-version 7.x and
 * 2025-07-01+): set (each one a new version), get (latest or a version), list, versions, delete
 * (soft delete when the vault has it), deleted secrets and recover. Requests without a bearer token
 * get the 401 challenge the Key Vault clients expect (authorization + resource); the caller's
 * permissions come from the vault's access policies or, on RBAC vaults, from role assignments in
 * the store, and a missing one is Key Vault's 403 with its real message. Values never reach the
 * request log.
 */
export function keyVaultSecretRoutes(env: VaultEnv): Route[] {
  const route = (method: string, path: string, operation: SecretOperation, handler: (request: VaultRequest) => Reply): Route => ({
    method,
    path,
    host: VAULT_HOST,
    auth: "none",
    // Bodies hold secret values: the log keeps none of them.
    logBody: () => undefined,
    handler: (ctx) => {
      const vault = env.store.keyVaultByName(VAULT_HOST.exec(ctx.host)?.[1] ?? "");
      if (!vault) return { status: 404, body: "" };
      const caller = authenticate(env, ctx);
      if ("status" in caller) return caller;
      if (!queryValue(ctx, "api-version")) return kvError(400, "BadParameter", "The 'api-version' query parameter is missing.");
      const blocked = firewall(env.vaultFirewalls, vault, caller, env.clientAddress(ctx));
      if (blocked) return blocked;
      const denied = authorize(env.store, vault, caller, operation, ctx);
      if (denied) return denied;
      const base = String(vault.properties?.["vaultUri"] ?? `https://${vault.name}.vault.azure.net/`).replace(/\/+$/, "");
      return handler({ ctx, vault, base, caller });
    },
  });

  const { store } = env;
  const live = (r: VaultRequest, name: string) => {
    const record = store.vaultSecret(r.vault.name, name);
    return record && !record.properties.deleted ? record : undefined;
  };
  const notFound = (name: string) =>
    kvError(
      404,
      "SecretNotFound",
      `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    );

  return [
    route("GET", "/secrets", "list", (r) => ({
      status: 200,
      body: {
        value: store
          .listByType("Microsoft.KeyVault/vaults/secrets")
          .filter((s) => s.id.toLowerCase().startsWith(`${r.vault.id.toLowerCase()}/`))
          .map((s) => s as VaultSecretRecord)
          .filter((s) => !s.properties.deleted)
          .map((s) => ({ id: `${r.base}/secrets/${s.name}`, attributes: attributes(r.vault, s.properties.versions.at(-1)!) })),
        nextLink: null,
      },
    })),
    route("GET", "/secrets/{name}/versions", "list", (r) => {
      const name = r.ctx.params["name"] ?? "";
      const record = live(r, name);
      if (!record) return notFound(name);
      return {
        status: 200,
        body: {
          value: record.properties.versions.map((v) => ({
            id: `${r.base}/secrets/${record.name}/${v.version}`,
            attributes: attributes(r.vault, v),
          })),
          nextLink: null,
        },
      };
    }),
    route("GET", "/secrets/{name}", "get", (r) => getSecret(r, live(r, r.ctx.params["name"] ?? ""), undefined, notFound)),
    route("GET", "/secrets/{name}/{version}", "get", (r) =>
      getSecret(r, live(r, r.ctx.params["name"] ?? ""), r.ctx.params["version"], notFound),
    ),
    route("PUT", "/secrets/{name}", "set", (r) => {
      const name = r.ctx.params["name"] ?? "";
      if (!SECRET_NAME.test(name)) {
        return kvError(400, "BadParameter", `The request URI contains an invalid name: ${name}`);
      }
      const body = jsonBody(r.ctx) as { value?: unknown; contentType?: string; tags?: Record<string, string> } | undefined;
      if (typeof body?.value !== "string") return kvError(400, "BadParameter", "Property 'value' is required.");
      if (Buffer.byteLength(body.value, "utf8") > MAX_SECRET_VALUE_BYTES) {
        return kvError(400, "BadParameter", "The secret value is larger than the maximum allowed size of 25 KB.");
      }
      const record = store.vaultSecret(r.vault.name, name);
      if (record?.properties.deleted) {
        return kvError(
          409,
          "Conflict",
          `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
          "ObjectIsDeletedButRecoverable",
        );
      }
      if (store.refuseWriteWhileRecovering(r.vault.name, name)) {
        // Wording and shape from the 409 quoted in terraform-provider-azurerm#12285 and azure-sdk-for-net#31581.
        return kvError(
          409,
          "Conflict",
          `Secret ${name} is currently being recovered and cannot be re-created; retry later.`,
          "ObjectIsBeingRecovered",
        );
      }
      const version = store.setVaultSecret(r.vault.name, name, body.value, {
        ...(body.contentType ? { contentType: body.contentType } : {}),
        ...(body.tags ? { tags: body.tags } : {}),
      });
      return { status: 200, body: secretBundle(r, name, version, true) };
    }),
    route("DELETE", "/secrets/{name}", "delete", (r) => {
      const name = r.ctx.params["name"] ?? "";
      if (!live(r, name)) return notFound(name);
      const deleted = store.deleteVaultSecret(r.vault.name, name)!;
      return { status: 200, body: deletedBundle(r, deleted) };
    }),
    route("GET", "/deletedsecrets/{name}", "get", (r) => {
      const name = r.ctx.params["name"] ?? "";
      const record = store.vaultSecret(r.vault.name, name);
      if (!record?.properties.deleted) return kvError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
      return { status: 200, body: deletedBundle(r, record) };
    }),
    route("POST", "/deletedsecrets/{name}/recover", "recover", (r) => {
      const name = r.ctx.params["name"] ?? "";
      const recovered = store.recoverVaultSecret(r.vault.name, name);
      if (!recovered) return kvError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
      return { status: 200, body: secretBundle(r, recovered.name, recovered.properties.versions.at(-1)!, false) };
    }),
  ];
}

function getSecret(
  r: VaultRequest,
  record: VaultSecretRecord | undefined,
  version: string | undefined,
  notFound: (name: string) => Reply,
): Reply {
  const name = r.ctx.params["name"] ?? "";
  if (!record) return notFound(name);
  const found = version ? record.properties.versions.find((v) => v.version === version) : record.properties.versions.at(-1);
  if (!found) return notFound(name);
  if (!found.enabled) {
    // Key Vault's answer to reading a disabled secret (azure-sdk-for-js#24756, azure-powershell#15378).
    return kvError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled");
  }
  return { status: 200, body: secretBundle(r, record.name, found, true) };
}

function attributes(vault: ArmResource, v: SecretVersion) {
  const softDelete = vault.properties?.["enableSoftDelete"] !== false;
  return {
    enabled: v.enabled,
    created: v.created,
    updated: v.updated,
    recoveryLevel: softDelete ? "Recoverable+Purgeable" : "Purgeable",
    recoverableDays: softDelete ? Number(vault.properties?.["softDeleteRetentionInDays"] ?? 90) : 0,
  };
}

function secretBundle(r: VaultRequest, name: string, v: SecretVersion, withValue: boolean) {
  return {
    ...(withValue ? { value: v.value } : {}),
    ...(v.contentType ? { contentType: v.contentType } : {}),
    id: `${r.base}/secrets/${name}/${v.version}`,
    attributes: attributes(r.vault, v),
    tags: v.tags ?? {},
  };
}

function deletedBundle(r: VaultRequest, record: VaultSecretRecord) {
  const latest = record.properties.versions.at(-1)!;
  return {
    recoveryId: `${r.base}/deletedsecrets/${record.name}`,
    deletedDate: record.properties.deleted?.deletedDate,
    scheduledPurgeDate: record.properties.deleted?.scheduledPurgeDate,
    id: `${r.base}/secrets/${record.name}/${latest.version}`,
    attributes: attributes(r.vault, latest),
    tags: latest.tags ?? {},
  };
}

/** Bearer token for the vault audience; without one, Key Vault's challenge. */
function authenticate(env: VaultEnv, ctx: RequestContext): Caller | Reply {
  const tenantId = env.store.tenantId;
  const challenge = { "www-authenticate": `Bearer authorization="${env.url}/${tenantId}", resource="${VAULT_AUDIENCE}"` };
  const unauthorized = (message: string) => kvError(401, "Unauthorized", message, undefined, challenge);
  const authorization = header(ctx, "authorization");
  const token = authorization ? /^Bearer\s+(.+)$/i.exec(authorization)?.[1] : undefined;
  if (!token) return unauthorized("AKV10000: Request is missing a Bearer or PoP token.");
  let jwt;
  try {
    jwt = decodeJwt(token);
  } catch {
    return unauthorized("AKV10032: Invalid issuer or token.");
  }
  const directory = env.store.directory;
  if (jwt.header.kid !== directory.tokenKey.kid || !verifySignature(jwt, directory.tokenKey.publicKey)) {
    return unauthorized("AKV10032: Invalid issuer or token.");
  }
  if (lifetimeProblem(jwt.claims, undefined, 0)) return unauthorized("AKV10022: Token expired.");
  const aud = String(jwt.claims["aud"] ?? "").replace(/\/+$/, "");
  if (aud !== VAULT_AUDIENCE) return unauthorized(`AKV10022: Invalid audience. Expected ${VAULT_AUDIENCE}, found: ${aud}.`);
  if (String(jwt.claims["tid"] ?? "") !== tenantId) return unauthorized("AKV10032: Invalid issuer. The token is from another tenant.");
  return { objectId: String(jwt.claims["oid"]), appId: String(jwt.claims["appid"]), tenantId };
}

/**
 * The vault's network rules: `publicNetworkAccess: Disabled` (private endpoint only) refuses every
 * caller over the public endpoint; the firewall (`networkAcls` with `defaultAction: Deny`) is checked after the token and before
 * any permission: a caller whose address no rule admits gets 403 ForbiddenByFirewall whatever its
 * permissions. Message shape from Key Vault answers quoted in MicrosoftDocs/azure-devops-docs#8581 and
 * terraform-provider-azurerm#4553; the local Azure has no trusted Azure services, so `bypass` admits no one.
 */
function firewall(firewalls: VaultFirewalls, vault: ArmResource, caller: Caller, address: string): Reply | undefined {
  if (vault.properties?.["publicNetworkAccess"] === "Disabled") {
    // Private endpoint only: message as quoted in secrets-store-csi-driver-provider-azure#873; the inner
    // code is not shown there (ForbiddenByConnection assumed).
    return kvError(
      403,
      "Forbidden",
      `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: appid=${caller.appId};oid=${caller.objectId};iss=https://sts.windows.net/${caller.tenantId}/\r\nVault: ${vault.name};location=${vault.location ?? ""}`,
      "ForbiddenByConnection",
    );
  }
  if (firewalls.admits(vault, address)) return undefined;
  return kvError(
    403,
    "Forbidden",
    `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${address}\r\nCaller: appid=${caller.appId};oid=${caller.objectId};iss=https://sts.windows.net/${caller.tenantId}/\r\nVault: ${vault.name};location=${vault.location ?? ""}`,
    "ForbiddenByFirewall",
  );
}

/**
 * Access policies or, with `enableRbacAuthorization`, role assignments at the secret, the vault or
 * above (a role may be given on one secret: "Secret scope role assignment", MicrosoftDocs/azure-docs,
 * articles/key-vault/general/rbac-guide.md); 403 as Key Vault words it.
 */
function authorize(
  store: ResourceStore,
  vault: ArmResource,
  caller: Caller,
  operation: SecretOperation,
  ctx: RequestContext,
): Reply | undefined {
  const oid = caller.objectId.toLowerCase();
  const iss = `https://sts.windows.net/${caller.tenantId}/`;
  const location = vault.location ?? "";
  if (vault.properties?.["enableRbacAuthorization"] === true) {
    const vaultScope = vault.id.toLowerCase();
    const name = ctx.params["name"];
    const target = name ? `${vaultScope}/secrets/${name.toLowerCase()}` : vaultScope;
    const allowed = store.listByType("Microsoft.Authorization/roleAssignments").some((assignment) => {
      const p = assignment.properties as { scope?: string; principalId?: string; roleDefinitionId?: string };
      const scope = (p.scope ?? "").toLowerCase().replace(/\/+$/, "");
      return (
        p.principalId?.toLowerCase() === oid &&
        (target === scope || target.startsWith(`${scope}/`)) &&
        holdsDataAction(permissionsOf(store, p.roleDefinitionId ?? ""), DATA_ACTIONS[operation])
      );
    });
    if (allowed) return undefined;
    return kvError(
      403,
      "Forbidden",
      `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=${caller.appId};oid=${caller.objectId};iss=${iss}\r\nAction: '${DATA_ACTIONS[operation]}'\r\nResource: '${vaultScope}${name ? `/secrets/${name.toLowerCase()}` : ""}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: ${vault.name};location=${location}\r\n`,
      "ForbiddenByRbac",
    );
  }
  const policies = (vault.properties?.["accessPolicies"] ?? []) as AccessPolicyEntry[];
  const granted = policies
    .filter((p) => p.objectId.toLowerCase() === oid && p.tenantId.toLowerCase() === caller.tenantId.toLowerCase() && !p.applicationId)
    .flatMap((p) => p.permissions.secrets ?? [])
    .map((p) => p.toLowerCase());
  if (granted.includes(operation) || granted.includes("all")) return undefined;
  return kvError(
    403,
    "Forbidden",
    `The user, group or application 'appid=${caller.appId};oid=${caller.objectId};iss=${iss}' does not have secrets ${operation} permission on key vault '${vault.name};location=${location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
    "AccessDenied",
  );
}
