import type { Route } from "../http";
import { KEY_VAULT_TYPE, refuseOneWayReversals, requireAccessPolicies } from "../resources/key-vault";
import { isPlainObject } from "../resources/merge";
import { normalizeNetworkAcls } from "../resources/vault-network";
import type { ArmEnv } from "./arm-common";
import { requireJsonObject, requireResourceGroup, resourceNotFound } from "./arm-common";
import type { VaultWriteObserver } from "./key-vaults";

/** VaultPatchProperties (Microsoft.KeyVault 2026-02-01) a PATCH may set; `vaultUri`, `provisioningState` and `hsmPoolResourceId` are the service's. */
const PATCHABLE = [
  "tenantId",
  "sku",
  "accessPolicies",
  "enabledForDeployment",
  "enabledForDiskEncryption",
  "enabledForTemplateDeployment",
  "enableSoftDelete",
  "enableRbacAuthorization",
  "softDeleteRetentionInDays",
  "enablePurgeProtection",
  "networkAcls",
  "publicNetworkAccess",
] as const;

/**
 * Vaults_Update (PATCH …/vaults/{vaultName}, api-version 2026-02-01): the properties sent replace the
 * vault's, the others stay; `networkAcls` is replaced as a whole (what is not sent of it takes its
 * default: local-azure/resources/vault-network.ts), `accessPolicies` too; `tags`, when sent, replace
 * the tags. Answers 200 with the vault (spec example updateVault). Soft delete and purge protection
 * only go one way.
 */
export function keyVaultUpdateRoutes(env: ArmEnv & { vaultFirewalls?: VaultWriteObserver }): Route[] {
  const { store } = env;
  return [
    {
      method: "PATCH",
      path: `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/${KEY_VAULT_TYPE}/{vaultName}`,
      auth: "arm",
      handler: (ctx) => {
        const group = requireResourceGroup(env, ctx);
        const name = ctx.params["vaultName"] ?? "";
        const vault = store.getKeyVault(group.name, name);
        if (!vault) throw resourceNotFound(KEY_VAULT_TYPE, name, group.name);
        const body = requireJsonObject(ctx);
        const requested = isPlainObject(body["properties"]) ? body["properties"] : {};
        const current = vault.properties ?? {};
        refuseOneWayReversals(current, requested);
        const changes: Record<string, unknown> = {};
        for (const key of PATCHABLE) if (requested[key] !== undefined) changes[key] = structuredClone(requested[key]);
        if (changes["networkAcls"] !== undefined) changes["networkAcls"] = normalizeNetworkAcls(changes["networkAcls"]);
        if (changes["accessPolicies"] !== undefined) changes["accessPolicies"] = requireAccessPolicies(changes["accessPolicies"]);
        env.vaultFirewalls?.beforeWrite(vault);
        const updated = store.put({
          ...vault,
          ...(isPlainObject(body["tags"]) ? { tags: structuredClone(body["tags"]) } : {}),
          properties: { ...current, ...changes },
        });
        return { status: 200, body: updated };
      },
    },
  ];
}
