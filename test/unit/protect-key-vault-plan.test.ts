import { describe, it } from "mocha";
import assert from "node:assert/strict";
import type { Vault } from "@azure/arm-keyvault";
import { parseIpv4Range, type Ipv4Range } from "../../core/ipv4-ranges";
import type { ProtectKeyVaultRequest } from "../../tasks/ProtectKeyVault/inputs";
import { planMigration, planNetwork, planPurgeProtection, vaultPatch } from "../../tasks/ProtectKeyVault/plan";
import { planPrivateEndpoint, privateLinkZoneName, type PrivateEndpointState } from "../../tasks/ProtectKeyVault/private-endpoint";
import { mapPermissions } from "../../tasks/ProtectKeyVault/role-mapping";

describe("test/unit/protect-key-vault-plan", () => {
  const target = { name: "kv", resourceGroupName: "rg", id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv" };
  const request = (p: Partial<ProtectKeyVaultRequest> = {}): ProtectKeyVaultRequest =>
    ({
      firewall: "denyByDefault",
      allowClusters: [],
      allowedIpRanges: [],
      bypassAzureServices: true,
      enablePurgeProtection: false,
      permissionModel: "unchanged",
      dryRun: false,
      roleAssignmentWaitMs: 0,
      ...p,
    }) as ProtectKeyVaultRequest;
  const vault = (properties: Partial<Vault["properties"]> = {}): Vault =>
    ({ properties: { tenantId: "t", sku: { family: "A", name: "standard" }, ...properties } }) as Vault;
  const range = (text: string) => parseIpv4Range(text) as Ipv4Range;

  describe("access policies → roles", () => {
    it("chooses the narrowest role covering each kind and names what it adds", () => {
      assert.deepEqual(
        mapPermissions({ secrets: ["Get", "List"] }).roles.map((r) => [r.role, r.wider]),
        [["Key Vault Secrets User", []]],
      );
      assert.deepEqual(
        mapPermissions({ secrets: ["get"] }).roles.map((r) => [r.role, r.wider]),
        [["Key Vault Secrets User", ["list"]]],
      );
      assert.deepEqual(
        mapPermissions({ secrets: ["list"] }).roles.map((r) => r.role),
        ["Key Vault Reader"],
      );
      assert.deepEqual(
        mapPermissions({ secrets: ["get", "set"] }).roles.map((r) => r.role),
        ["Key Vault Secrets Officer"],
      );
      assert.deepEqual(
        mapPermissions({ keys: ["get", "unwrapKey", "wrapKey"] }).roles.map((r) => r.role),
        ["Key Vault Crypto Service Encryption User"],
      );
      assert.deepEqual(
        mapPermissions({ keys: ["sign"] }).roles.map((r) => r.role),
        ["Key Vault Crypto User"],
      );
      assert.deepEqual(
        mapPermissions({ keys: ["rotate"], certificates: ["all"] }).roles.map((r) => r.role),
        ["Key Vault Crypto Officer", "Key Vault Certificates Officer"],
      );
    });

    it("names permissions no role covers: managed storage account keys and unknown names", () => {
      assert.deepEqual(mapPermissions({ storage: ["get"], secrets: ["get", "frobnicate"] }).uncovered, [
        "secrets: frobnicate",
        "storage: get",
      ]);
    });

    it("a migration keeps existing assignments, refuses a compound identity, and does nothing on an RBAC vault", () => {
      const policies = [{ tenantId: "t", objectId: "A", permissions: { secrets: ["get", "list"] } }];
      const existing = [{ principalId: "a", scope: "/subscriptions/s", roleDefinitionId: "/x/4633458b-17de-408a-b874-0445c86b69e6" }];
      const held = planMigration(
        request({ permissionModel: "rbac" }),
        target,
        vault({ accessPolicies: policies, enableRbacAuthorization: false }),
        existing,
      );
      assert.equal(held.empty, false, "the switch itself is still to be made");
      assert.deepEqual(held.grants, [], "the role inherited from the subscription is not assigned again");
      assert.throws(
        () =>
          planMigration(
            request({ permissionModel: "rbac" }),
            target,
            vault({ accessPolicies: [{ ...policies[0]!, applicationId: "app" }], enableRbacAuthorization: false }),
            [],
          ),
        /compound identity/,
      );
      assert.equal(planMigration(request({ permissionModel: "rbac" }), target, vault({ enableRbacAuthorization: true }), []).empty, true);
    });
  });

  describe("network", () => {
    it("keeps every rule, adds only what no rule covers, and sends the whole rule set", () => {
      const v = vault({
        networkAcls: {
          defaultAction: "Allow",
          bypass: "AzureServices",
          ipRules: [{ value: "203.0.113.0/24" }],
          virtualNetworkRules: [{ id: "/sub/a" }],
        },
      });
      const plan = planNetwork(request({ allowedIpRanges: [range("203.0.113.9"), range("198.51.100.0/24")] }), target, v, [
        {
          cluster: { resourceGroupName: "rg", clusterName: "aks" },
          subnetRules: ["/SUB/A", "/sub/b"],
          addresses: ["20.1.2.3/32"],
          reason: "",
        },
      ]);
      assert.deepEqual(plan.addedIpRules, ["198.51.100.0/24", "20.1.2.3/32"]);
      assert.deepEqual(plan.addedSubnetRules, ["/sub/b"]);
      assert.deepEqual(
        plan.patch.networkAcls?.ipRules?.map((r) => r.value),
        ["203.0.113.0/24", "198.51.100.0/24", "20.1.2.3/32"],
      );
      assert.equal(plan.patch.networkAcls?.defaultAction, "Deny");
      assert.equal(plan.patch.publicNetworkAccess, "Enabled");
    });

    it("is empty on a compliant vault, and refuses public access off without a private endpoint", () => {
      const v = vault({
        publicNetworkAccess: "Enabled",
        networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
      });
      assert.equal(planNetwork(request(), target, v, []).empty, true);
      assert.throws(() => planNetwork(request({ firewall: "disablePublicAccess" }), target, v, []), /lock everyone out/);
      assert.equal(planNetwork(request({ firewall: "disablePublicAccess" }), target, v, [], true).empty, false);
    });
  });

  it("purge protection is never planned off, and the vault update carries only what changes", () => {
    const on = vault({ enablePurgeProtection: true });
    assert.deepEqual(planPurgeProtection(request({ enablePurgeProtection: false }), on), { empty: true, before: true, after: true });
    const purge = planPurgeProtection(request({ enablePurgeProtection: true }), vault());
    const unchanged = planNetwork(request({ firewall: "unchanged" }), target, vault(), []);
    const noMigration = planMigration(request(), target, vault({ enableRbacAuthorization: false }), []);
    assert.deepEqual(vaultPatch(unchanged, purge, noMigration), { enablePurgeProtection: true });
  });

  it("the private DNS zone follows the vault's cloud", () => {
    assert.equal(privateLinkZoneName("https://kv.vault.azure.net/"), "privatelink.vaultcore.azure.net");
    assert.equal(privateLinkZoneName("https://kv.vault.usgovcloudapi.net/"), "privatelink.vaultcore.usgovcloudapi.net");
    assert.equal(privateLinkZoneName("https://kv.vault.azure.cn/"), "privatelink.vaultcore.azure.cn");
  });

  it("an endpoint, link or zone group whose last write ended Failed or Canceled is written again; its connection status is not trusted", () => {
    const network = "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network";
    const subnetId = `${network}/virtualNetworks/vnet/subnets/endpoints`;
    const zone = { id: `${network}/privateDnsZones/privatelink.vaultcore.azure.net`, name: "privatelink.vaultcore.azure.net" };
    const endpointId = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-kv";
    const state = (provisioningState: string): PrivateEndpointState => ({
      subnetId,
      vnet: { id: `${network}/virtualNetworks/vnet`, name: "vnet", location: "westeurope" },
      zoneName: zone.name,
      zone,
      endpoint: {
        id: endpointId,
        name: "pe-kv",
        properties: {
          provisioningState,
          subnet: { id: subnetId },
          privateLinkServiceConnections: [{ properties: { privateLinkServiceConnectionState: { status: "Approved" } } }],
        },
      },
      links: [
        {
          id: `${zone.id}/virtualNetworkLinks/l`,
          name: "l",
          properties: { provisioningState, virtualNetwork: { id: `${network}/virtualNetworks/vnet` } },
        },
      ],
      zoneGroups: [
        {
          id: `${endpointId}/privateDnsZoneGroups/default`,
          name: "default",
          properties: { provisioningState, privateDnsZoneConfigs: [{ properties: { privateDnsZoneId: zone.id } }] },
        },
      ],
    });
    const inPlace = planPrivateEndpoint(target, state("Succeeded"), "s");
    assert.equal(inPlace.empty, true);
    assert.equal(inPlace.connectionStatus, "Approved");
    for (const ended of ["Failed", "Canceled"]) {
      const plan = planPrivateEndpoint(target, state(ended), "s");
      assert.deepEqual([plan.createEndpoint, plan.createLink, plan.createZoneGroup, plan.createZone], [true, true, true, false], ended);
      assert.equal(plan.connectionStatus, undefined, ended);
      assert.equal(plan.endpointId, endpointId);
    }
  });
});
