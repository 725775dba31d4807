import { ArmError } from "../http";
import type { Route } from "../http";
import type { ArmResource } from "../store";
import type { AccessPolicyEntry } from "../resources/key-vault";
import { composeVaultForPut, KEY_VAULT_TYPE, keyVaultId } from "../resources/key-vault";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireResourceGroup, requireSubscription, resourceNotFound } from "./arm-common";

const BASE = `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/${KEY_VAULT_TYPE}`;
const PERMISSION_KINDS = ["keys", "secrets", "certificates", "storage"] as const;

/**
 * Key vaults (Microsoft.KeyVault, api-version 2026-02-01): get, list by resource group and by
 * subscription, and `accessPolicies/{add|replace|remove}` (Vaults_UpdateAccessPolicy). `add` merges
 * the given permissions into the principal's entry (or adds one), `replace` sets them, `remove`
 * takes them away and drops an entry left with none; every other entry is untouched. PUT of the vault
 * itself (Vaults_CreateOrUpdate: 201 created, 200 updated, the final state in the body, as in the spec
 * example createVault) is what `az keyvault set-policy` sends: it GETs the vault and PUTs it back.
 */
/** Told of every accepted vault write, before it changes anything (the data plane's firewall lags behind it). */
export interface VaultWriteObserver {
  beforeWrite(vault: ArmResource): void;
}

export function keyVaultRoutes(env: ArmEnv & { vaultFirewalls?: VaultWriteObserver }): Route[] {
  const { store } = env;
  const requireVault = (ctx: Parameters<Route["handler"]>[0]) => {
    const group = requireResourceGroup(env, ctx);
    const name = ctx.params["vaultName"] ?? "";
    const vault = store.getKeyVault(group.name, name);
    if (!vault) throw resourceNotFound(KEY_VAULT_TYPE, name, group.name);
    return vault;
  };
  return [
    {
      method: "GET",
      path: `${BASE}/{vaultName}`,
      auth: "arm",
      handler: (ctx) => ({ status: 200, body: requireVault(ctx) }),
    },
    {
      method: "GET",
      path: BASE,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        return { status: 200, body: { value: store.list(`${group.id}/providers/${KEY_VAULT_TYPE}`, KEY_VAULT_TYPE) } };
      },
    },
    {
      method: "GET",
      path: `/subscriptions/{subscriptionId}/providers/${KEY_VAULT_TYPE}`,
      auth: "arm",
      handler: (ctx) => {
        requireSubscription(env, ctx);
        return { status: 200, body: { value: store.listByType(KEY_VAULT_TYPE) } };
      },
    },
    {
      method: "PUT",
      path: `${BASE}/{vaultName}`,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        const name = ctx.params["vaultName"] ?? "";
        // Vault names are DNS names, global across Azure (spec: vaultName pattern ^[a-zA-Z0-9-]{3,24}$).
        if (!/^[a-zA-Z0-9-]{3,24}$/.test(name))
          throw new ArmError(400, "VaultNameNotValid", `The vault name '${name}' is invalid: use 3-24 letters, digits and dashes.`);
        const current = store.getKeyVault(group.name, name);
        const elsewhere = store.keyVaultByName(name);
        if (!current && elsewhere)
          throw new ArmError(409, "VaultAlreadyExists", `The vault name '${name}' is already in use. Vault names are globally unique.`);
        const vault = composeVaultForPut({
          id: keyVaultId(store.subscriptionId, group.name, name),
          name,
          current,
          requested: requireJsonObject(ctx),
          callerId: ctx.caller?.objectId ?? "",
        });
        if (current) env.vaultFirewalls?.beforeWrite(current);
        return { status: current ? 200 : 201, body: store.put(vault) };
      },
    },
    {
      method: "PUT",
      path: `${BASE}/{vaultName}/accessPolicies/{operationKind}`,
      auth: "arm",
      handler: (ctx) => {
        const vault = requireVault(ctx);
        const kind = (ctx.params["operationKind"] ?? "").toLowerCase();
        if (!["add", "replace", "remove"].includes(kind)) {
          throw new ArmError(
            400,
            "BadRequest",
            `The access policy operation kind '${ctx.params["operationKind"]}' is not valid; use add, replace or remove.`,
          );
        }
        const body = requireJsonObject(ctx);
        const requested = ((body["properties"] as { accessPolicies?: AccessPolicyEntry[] } | undefined)?.accessPolicies ??
          []) as AccessPolicyEntry[];
        if (!Array.isArray(requested) || requested.some((p) => !p?.objectId || !p.tenantId || !p.permissions)) {
          throw new ArmError(400, "BadRequest", "Every access policy needs tenantId, objectId and permissions.");
        }
        const policies = structuredClone((vault.properties?.["accessPolicies"] ?? []) as AccessPolicyEntry[]);
        for (const change of requested) {
          const index = policies.findIndex(
            (p) => p.objectId.toLowerCase() === change.objectId.toLowerCase() && (p.applicationId ?? "") === (change.applicationId ?? ""),
          );
          const entry = index >= 0 ? policies[index]! : { tenantId: change.tenantId, objectId: change.objectId, permissions: {} };
          for (const category of PERMISSION_KINDS) {
            const given = change.permissions[category];
            if (given === undefined) continue;
            const current = entry.permissions[category] ?? [];
            const has = (list: string[], p: string) => list.some((q) => q.toLowerCase() === p.toLowerCase());
            entry.permissions[category] =
              kind === "add"
                ? [...current, ...given.filter((p) => !has(current, p))]
                : kind === "replace"
                  ? [...given]
                  : current.filter((p) => !has(given, p));
          }
          const empty = PERMISSION_KINDS.every((category) => (entry.permissions[category] ?? []).length === 0);
          if (index >= 0 && kind === "remove" && empty) policies.splice(index, 1);
          else if (index < 0 && kind !== "remove") policies.push(entry);
        }
        store.put({ ...vault, properties: { ...vault.properties, accessPolicies: policies } });
        return {
          status: 200,
          body: { id: `${vault.id}/accessPolicies/`, type: `${KEY_VAULT_TYPE}/accessPolicies`, properties: { accessPolicies: policies } },
        };
      },
    },
  ];
}
