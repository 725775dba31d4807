import type { BuiltInRole } from "../../core/roles";

/**
 * Access-policy permissions → the built-in Key Vault roles that cover them, after Microsoft's
 * "Migrate from vault access policy to an Azure role-based access control permission model"
 * (learn.microsoft.com/azure/key-vault/general/rbac-migration: Secret Management → Key Vault Secrets
 * Officer, Key Management → Key Vault Crypto Officer, Certificate Management → Key Vault Certificates
 * Officer, the storage connectors' get/wrap/unwrap → Key Vault Crypto Service Encryption User), with the
 * roles' own descriptions ("Azure built-in roles for Security", MicrosoftDocs/azure-docs built-in-roles/
 * security.md): Reader reads metadata only (lists, never a value), Secrets User reads secret contents,
 * Crypto User performs cryptographic operations, Certificate User reads whole certificates.
 *
 * For each kind (keys, secrets, certificates) the narrowest role whose permissions include all of the
 * policy's is chosen; what the role grants beyond the policy is named. Permission names are Key
 * Vault's (KeyPermissions, SecretPermissions, CertificatePermissions in the Microsoft.KeyVault spec).
 */

export type PermissionKind = "keys" | "secrets" | "certificates" | "storage";

const ALL: Record<PermissionKind, readonly string[]> = {
  keys: [
    "encrypt",
    "decrypt",
    "wrapkey",
    "unwrapkey",
    "sign",
    "verify",
    "get",
    "list",
    "create",
    "update",
    "import",
    "delete",
    "backup",
    "restore",
    "recover",
    "purge",
    "release",
    "rotate",
    "getrotationpolicy",
    "setrotationpolicy",
  ],
  secrets: ["get", "list", "set", "delete", "backup", "restore", "recover", "purge"],
  certificates: [
    "get",
    "list",
    "delete",
    "create",
    "import",
    "update",
    "managecontacts",
    "getissuers",
    "listissuers",
    "setissuers",
    "deleteissuers",
    "manageissuers",
    "recover",
    "purge",
    "backup",
    "restore",
  ],
  storage: [],
};

/** Per kind, candidate roles from narrowest to widest, each with the permissions it covers. */
const CANDIDATES: Record<Exclude<PermissionKind, "storage">, readonly { role: BuiltInRole; covers: readonly string[] }[]> = {
  secrets: [
    { role: "Key Vault Reader", covers: ["list"] },
    { role: "Key Vault Secrets User", covers: ["get", "list"] },
    { role: "Key Vault Secrets Officer", covers: ALL.secrets },
  ],
  keys: [
    { role: "Key Vault Reader", covers: ["list"] },
    { role: "Key Vault Crypto Service Encryption User", covers: ["get", "list", "wrapkey", "unwrapkey"] },
    { role: "Key Vault Crypto User", covers: ["get", "list", "encrypt", "decrypt", "wrapkey", "unwrapkey", "sign", "verify"] },
    { role: "Key Vault Crypto Officer", covers: ALL.keys },
  ],
  certificates: [
    { role: "Key Vault Reader", covers: ["list"] },
    { role: "Key Vault Certificate User", covers: ["get", "list"] },
    { role: "Key Vault Certificates Officer", covers: ALL.certificates },
  ],
};

export interface RoleChoice {
  kind: Exclude<PermissionKind, "storage">;
  role: BuiltInRole;
  /** The policy's permissions of this kind. */
  permissions: string[];
  /** What the role grants of this kind beyond the policy (empty: it covers it exactly). */
  wider: string[];
}

export interface PrincipalMapping {
  roles: RoleChoice[];
  /** Permissions no built-in role covers (kind: permission). */
  uncovered: string[];
}

/** Pure: the roles covering one access policy's permissions. */
export function mapPermissions(permissions: Partial<Record<PermissionKind, readonly string[] | undefined>>): PrincipalMapping {
  const roles: RoleChoice[] = [];
  const uncovered: string[] = [];
  for (const kind of ["keys", "secrets", "certificates"] as const) {
    const asked = expand(kind, permissions[kind] ?? []);
    if (asked.length === 0) continue;
    const unknown = asked.filter((p) => !ALL[kind].includes(p));
    uncovered.push(...unknown.map((p) => `${kind}: ${p}`));
    const known = asked.filter((p) => ALL[kind].includes(p));
    if (known.length === 0) continue;
    const choice = CANDIDATES[kind].find((c) => known.every((p) => c.covers.includes(p)))!;
    roles.push({ kind, role: choice.role, permissions: known, wider: choice.covers.filter((p) => !known.includes(p)) });
  }
  // Managed storage account keys have no Azure RBAC role: "Key Vault managed storage account keys … are
  // supported only with the access policy permission model" (rbac-guide, "Azure built-in roles for Key Vault data plane operations").
  uncovered.push(...expand("storage", permissions.storage ?? []).map((p) => `storage: ${p}`));
  return { roles, uncovered };
}

function expand(kind: PermissionKind, permissions: readonly string[]): string[] {
  const lower = [...new Set(permissions.map((p) => p.toLowerCase()))];
  return lower.includes("all") && kind !== "storage" ? [...ALL[kind]] : lower;
}
