import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture } from "../harness/fixture";
import { assertSpeaksConditionally } from "../harness/wording";
import {
  addClusterOutboundIps,
  addCustomRole,
  assignRole,
  OWNER_ROLE,
  addNatGateway,
  addPublicIpAddress,
  addVirtualNetwork,
  type AccessPolicyEntry,
  type ArmResource,
  type VaultNetworkAcls,
} from "../../local-azure/index";
import { composePrivateEndpoint, recordVaultConnection } from "../../local-azure/resources/private-endpoint";

describe("test/tasks/protect-key-vault", () => {
  const TASK = "ProtectKeyVault";
  const RG = "rg-protect";
  const ROLES = {
    reader: "21090545-7ca7-4776-b22c-e363652d74d2",
    secretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
    secretsOfficer: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    cryptoServiceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    certificatesOfficer: "a4417e6f-fecd-4de8-b567-7b0420556985",
    contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  };
  const OFFICE = "198.51.100.0/24";
  const OTHER_SUBNET = `/subscriptions/00000000-0000-0000-0000-00000000beef/resourceGroups/rg-other/providers/Microsoft.Network/virtualNetworks/vnet-other/subnets/apps`;
  let fx: Fixture;
  let count = 0;

  before(async () => {
    fx = await Fixture.start();
  });
  after(async () => {
    await fx?.close();
  });

  /** A vault with someone else's IP rule, virtual network rule, tag and access policy, all of which must survive. */
  function newVault(p: { accessPolicies?: AccessPolicyEntry[]; properties?: Record<string, unknown> } = {}) {
    const name = `kv-protect-${++count}`;
    const networkAcls: VaultNetworkAcls = {
      bypass: "AzureServices",
      defaultAction: "Allow",
      ipRules: [{ value: "203.0.113.0/24" }],
      virtualNetworkRules: [{ id: OTHER_SUBNET }],
    };
    const policies = p.accessPolicies ?? [
      { tenantId: fx.azure.tenantId, objectId: fx.principalObjectId(), permissions: { secrets: ["get", "list", "set", "recover"] } },
    ];
    const vault = fx.azure.store.addKeyVault(RG, name, {
      accessPolicies: policies,
      networkAcls,
      ...(p.properties ? { properties: p.properties } : {}),
    });
    fx.azure.store.put({ ...vault, tags: { owner: "platform-team" } });
    return { name, id: vault.id };
  }

  /** A virtual network with one subnet `endpoints` for a private endpoint; returns the subnet's ID. */
  const endpointSubnet = (vnet: string, prefix: string, resourceGroup = "rg-net") =>
    addVirtualNetwork(fx.azure.store, {
      resourceGroup,
      name: vnet,
      addressPrefixes: [`${prefix}.0.0/16`],
      subnets: [{ name: "endpoints", addressPrefix: `${prefix}.1.0/24` }],
    }).subnets[0]!.id;

  const vaultOf = (name: string) => fx.azure.store.getKeyVault(RG, name)!;
  const run = (inputs: Record<string, string | boolean>, extra: { variables?: Record<string, string> } = {}) =>
    fx.run(TASK, { inputs: { resourceGroupName: RG, ...inputs }, ...extra });
  const begin = () => {
    fx.azure.faults.clear();
    fx.azure.clearRequests();
  };
  const vaultWrites = () => fx.armWrites().filter((r) => /\/Microsoft\.KeyVault\/vaults\//i.test(r.path));

  /** Three clusters, one per way out: a node subnet with the Key Vault service endpoint, the load balancer's IP, a NAT gateway's IPs. */
  function clusters() {
    const store = fx.azure.store;
    const { subnets } = addVirtualNetwork(store, {
      resourceGroup: "rg-net",
      name: `vnet-${count}`,
      addressPrefixes: ["10.10.0.0/16"],
      subnets: [
        { name: "nodes-kv", addressPrefix: "10.10.0.0/22", serviceEndpoints: ["Microsoft.KeyVault"] },
        { name: "nodes-nat", addressPrefix: "10.10.4.0/22" },
      ],
    });
    const natIp = addPublicIpAddress(store, {
      id: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.Network/publicIPAddresses/nat-ip-${count}`,
      ipAddress: "20.50.60.70",
    });
    const nat = addNatGateway(store, {
      id: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.Network/natGateways/nat-${count}`,
      publicIpAddressIds: [natIp.id],
    });
    const natSubnet = store.put({ ...subnets[1]!, properties: { ...subnets[1]!.properties, natGateway: { id: nat.id } } });
    const inSubnet = (cluster: ArmResource, subnetId: string, outboundType?: string) => {
      const properties = cluster.properties as { agentPoolProfiles: Record<string, unknown>[]; networkProfile: Record<string, unknown> };
      return store.put({
        ...cluster,
        properties: {
          ...properties,
          agentPoolProfiles: properties.agentPoolProfiles.map((p) => ({ ...p, vnetSubnetID: subnetId })),
          networkProfile: { ...properties.networkProfile, ...(outboundType ? { outboundType, loadBalancerProfile: undefined } : {}) },
        },
      });
    };
    const endpoint = inSubnet(store.addManagedCluster(RG, `aks-endpoint-${count}`), subnets[0]!.id);
    const lb = store.addManagedCluster(RG, `aks-lb-${count}`);
    addClusterOutboundIps(store, lb);
    const natCluster = inSubnet(store.addManagedCluster(RG, `aks-nat-${count}`), natSubnet.id, "userAssignedNATGateway");
    const lbIpId = (lb.properties as { networkProfile: { loadBalancerProfile: { effectiveOutboundIPs: { id: string }[] } } }).networkProfile
      .loadBalancerProfile.effectiveOutboundIPs[0]!.id;
    const lbIp = String(store.get(lbIpId)!.properties!["ipAddress"]);
    return { endpoint, lb, natCluster, endpointSubnet: subnets[0]!.id, lbIp, natIp: "20.50.60.70" };
  }

  it("denyByDefault with three clusters and a range: one vault update adds a virtual network rule and the egress IPs, keeps every other rule, tag and access policy; the re-run writes nothing", async () => {
    const c = clusters();
    const { name } = newVault();
    const policiesBefore = structuredClone(vaultOf(name).properties!["accessPolicies"]);
    const inputs = {
      keyVaultName: name,
      allowClusters: `# the article's clusters\n${RG}/${c.endpoint.name}\n${RG}/${c.lb.name}  # load balancer\n${RG}/${c.natCluster.name}`,
      allowedIpRanges: `${OFFICE}, 203.0.113.7`,
    };
    begin();
    const first = await run(inputs);
    fx.assertSucceeded(first);
    const writes = fx.armWrites();
    assert.deepEqual(
      writes.map((w) => `${w.method} ${w.path.split("/").slice(-2).join("/")}`),
      [`PATCH vaults/${name}`],
      "one vault update, nothing else",
    );
    const acls = vaultOf(name).properties!["networkAcls"] as VaultNetworkAcls;
    assert.equal(acls.defaultAction, "Deny");
    assert.equal(acls.bypass, "AzureServices");
    assert.deepEqual(
      acls.ipRules.map((r) => r.value),
      ["203.0.113.0/24", OFFICE, `${c.lbIp}/32`, `${c.natIp}/32`],
      "the vault's own rule kept; 203.0.113.7 is inside it, so not added",
    );
    assert.deepEqual(
      acls.virtualNetworkRules.map((r) => r.id),
      [OTHER_SUBNET, c.endpointSubnet],
    );
    assert.equal(vaultOf(name).properties!["publicNetworkAccess"], "Enabled");
    assert.deepEqual(vaultOf(name).tags, { owner: "platform-team" });
    assert.deepEqual(vaultOf(name).properties!["accessPolicies"], policiesBefore);
    const patch = writes[0]!.body as { properties: Record<string, unknown> };
    assert.ok(!("accessPolicies" in patch.properties) && !("enablePurgeProtection" in patch.properties), "sends only what it owns");
    const summary = first.summaries.join("\n");
    assert.match(
      summary,
      new RegExp(`${c.endpoint.name}.*virtual network rule: every node pool is in a subnet with the Microsoft\\.KeyVault service endpoint`),
    );
    assert.match(summary, new RegExp(`${c.lb.name}.*load balancer's outbound public IPs \\(outbound type loadBalancer\\)`));
    assert.match(summary, new RegExp(`${c.natCluster.name}.*NAT gateway on the node subnet \\(outbound type userAssignedNATGateway\\)`));
    assert.equal(first.outputs.changed, "true");
    assert.equal(first.outputs.defaultAction, "Deny");
    assert.equal(first.outputs.publicNetworkAccess, "Enabled");

    begin();
    const again = await run(inputs);
    fx.assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), [], "a compliant re-run writes nothing");
    assert.equal(fx.permissionReads().length, 0, "nor checks permissions for writes it does not make");
    assert.equal(again.outputs.changed, "false");
    assert.match(again.summaries.join("\n"), /Already compliant: nothing written/);
  });

  it("dry run: reads, plans and says what a real run would do, in the conditional, without writing", async () => {
    const c = clusters();
    const { name } = newVault();
    begin();
    const r = await run({
      keyVaultName: name,
      allowClusters: `${RG}/${c.lb.name}`,
      enablePurgeProtection: true,
      permissionModel: "rbac",
      dryRun: true,
    });
    fx.assertSucceeded(r);
    assert.deepEqual(fx.armWrites(), []);
    assertSpeaksConditionally(r);
    assert.match(r.summaries.join("\n"), /A real run would turn on purge protection.*irreversible/);
    assert.equal((vaultOf(name).properties!["networkAcls"] as VaultNetworkAcls).defaultAction, "Allow");
  });

  it("purge protection: turned on once, named irreversible; never sent as false, also when the input is false on a protected vault", async () => {
    const { name } = newVault();
    begin();
    const first = await run({ keyVaultName: name, firewall: "unchanged", enablePurgeProtection: true });
    fx.assertSucceeded(first);
    assert.deepEqual(
      vaultWrites().map((w) => (w.body as { properties: unknown }).properties),
      [{ enablePurgeProtection: true }],
      "only purge protection is sent",
    );
    assert.equal(vaultOf(name).properties!["enablePurgeProtection"], true);
    assert.ok(
      first.warnings.some((w) => /irreversible/i.test(w)),
      "the summary's warning names it irreversible",
    );
    begin();
    const again = await run({ keyVaultName: name, firewall: "unchanged", enablePurgeProtection: true });
    fx.assertSucceeded(again);
    begin();
    const off = await run({ keyVaultName: name, firewall: "unchanged", enablePurgeProtection: false });
    fx.assertSucceeded(off);
    assert.deepEqual(fx.armWrites(), [], "false is never sent");
    assert.match(off.summaries.join("\n"), /already on and cannot be turned off/);
  });

  it("permissionModel rbac: each access-policy principal gets the roles covering its mixed permissions before the switch; access policies and everything else stay; the re-run writes nothing", async () => {
    const reader = randomUUID();
    const app = randomUUID();
    const me = fx.principalObjectId();
    fx.azure.store.directory.addUserOrGroup("User", reader);
    fx.azure.store.directory.addUserOrGroup("Group", app);
    const { name, id } = newVault({
      accessPolicies: [
        { tenantId: fx.azure.tenantId, objectId: me, permissions: { secrets: ["get", "list", "set", "recover"] } },
        { tenantId: fx.azure.tenantId, objectId: reader, permissions: { secrets: ["get", "list"], keys: ["get", "wrapKey", "unwrapKey"] } },
        { tenantId: fx.azure.tenantId, objectId: app, permissions: { secrets: ["list"], certificates: ["all"] } },
      ],
    });
    const policiesBefore = structuredClone(vaultOf(name).properties!["accessPolicies"]);
    begin();
    const first = await run({ keyVaultName: name, firewall: "unchanged", permissionModel: "rbac" });
    fx.assertSucceeded(first);
    const assignments = fx.azure.store
      .listByType("Microsoft.Authorization/roleAssignments")
      .map((a) => a.properties as { scope: string; principalId: string; roleDefinitionId: string })
      .filter((a) => a.scope.toLowerCase() === id.toLowerCase())
      .map((a) => `${a.principalId}:${a.roleDefinitionId.split("/").pop()}`)
      .sort();
    assert.deepEqual(
      assignments,
      [
        `${me}:${ROLES.secretsOfficer}`,
        `${reader}:${ROLES.secretsUser}`,
        `${reader}:${ROLES.cryptoServiceEncryptionUser}`,
        `${app}:${ROLES.reader}`,
        `${app}:${ROLES.certificatesOfficer}`,
      ].sort(),
    );
    const order = fx.armWrites().map((w) => (/roleAssignments/.test(w.path) ? "grant" : "vault"));
    assert.deepEqual(order, ["grant", "grant", "grant", "grant", "grant", "vault"], "every grant before the switch");
    assert.equal(vaultOf(name).properties!["enableRbacAuthorization"], true);
    assert.deepEqual(vaultOf(name).properties!["accessPolicies"], policiesBefore);
    assert.match(first.summaries.join("\n"), /also grants keys: list/, "a role wider than the policy is named");

    begin();
    const again = await run({ keyVaultName: name, firewall: "unchanged", permissionModel: "rbac" });
    fx.assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), []);
  });

  it("privateEndpointSubnetId with disablePublicAccess: endpoint, zone (created once, then reused), link and zone group, then public access off; the re-run writes nothing; the scorecard's private-endpoint check passes", async () => {
    // No privatelink.vaultcore zone in the subscription yet: created in the vault's resource group.
    const { name: firstVault } = newVault();
    begin();
    const created = await run({
      keyVaultName: firstVault,
      firewall: "disablePublicAccess",
      bypassAzureServices: false,
      privateEndpointSubnetId: endpointSubnet(`vnet-zone-${count}`, "10.30"),
    });
    fx.assertSucceeded(created);
    const zoneId = `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net`;
    assert.ok(
      fx.armWrites().some((w) => w.method === "PUT" && w.path === zoneId),
      "the zone is created when the subscription has none",
    );
    assert.equal((vaultOf(firstVault).properties!["networkAcls"] as VaultNetworkAcls).bypass, "None");

    const vnetName = `vnet-pe-${++count}`;
    const subnetOfVnet = endpointSubnet(vnetName, "10.20");
    // The zone the first run made is now the subscription's: reused, not duplicated.
    const { name, id } = newVault();
    const inputs = { keyVaultName: name, firewall: "disablePublicAccess", privateEndpointSubnetId: subnetOfVnet };
    begin();
    const first = await run(inputs);
    fx.assertSucceeded(first);
    const writes = fx.armWrites().map((w) => `${w.method} ${w.path.split("/providers/").pop()}`);
    assert.deepEqual(
      [...writes].sort(),
      [
        `PATCH Microsoft.KeyVault/vaults/${name}`,
        `PUT Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net/virtualNetworkLinks/link-${vnetName}`,
        `PUT Microsoft.Network/privateEndpoints/pe-${name}`,
        `PUT Microsoft.Network/privateEndpoints/pe-${name}/privateDnsZoneGroups/default`,
      ],
      "the endpoint, the link to the existing zone, the zone group and one vault update; no new zone",
    );
    assert.equal(writes.at(-1), `PATCH Microsoft.KeyVault/vaults/${name}`, "public access goes off last, once the endpoint is approved");
    const vault = vaultOf(name);
    assert.equal(vault.properties!["publicNetworkAccess"], "Disabled");
    const connections = vault.properties!["privateEndpointConnections"] as {
      properties: { privateLinkServiceConnectionState: { status: string } };
    }[];
    assert.deepEqual(
      connections.map((c) => c.properties.privateLinkServiceConnectionState.status),
      ["Approved"],
    );
    assert.ok(fx.azure.store.get(`${zoneId}/A/${name}`), "the zone group wrote the vault's A record into the reused zone");
    assert.equal(
      first.outputs.privateEndpointId,
      `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/privateEndpoints/pe-${name}`,
    );
    assert.equal(first.outputs.publicNetworkAccess, "Disabled");
    assert.match(first.summaries.join("\n"), /found in the subscription, reused/);
    void id;

    begin();
    const again = await run(inputs);
    fx.assertSucceeded(again);
    assert.deepEqual(fx.armWrites(), [], "a compliant re-run writes nothing");
    assert.equal(again.outputs.privateEndpointId, first.outputs.privateEndpointId);

    const c = fx.azure.store.addManagedCluster(RG, `aks-pe-${count}`);
    const scorecard = await fx.run("AksHardeningReport", { inputs: { resourceGroupName: RG, clusterName: c.name, keyVaultNames: name } });
    fx.assertSucceeded(scorecard);
    for (const check of ["keyVault.network", "keyVault.privateEndpoint"]) {
      assert.match(scorecard.stdout, new RegExp(`\\[PASS\\] ${check.replace(".", "\\.")}\\b`), `${check} passes`);
    }
  });

  it("a private endpoint whose connection waits for the vault owner's approval (Pending) keeps public access on and fails saying how to approve it; after approval the re-run turns it off", async () => {
    const subnetId = endpointSubnet(`vnet-pending-${++count}`, "10.40");
    const { name, id: vaultId } = newVault();
    // Someone asked for the endpoint through manualPrivateLinkServiceConnections: the connection stays
    // Pending until the vault's owner approves it (private-endpoint-overview.md, "Private-link resource
    // approval workflow"; network 2025-05-01 privateEndpoint.json manualPrivateLinkServiceConnections).
    const endpointId = `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/privateEndpoints/pe-${name}`;
    const { endpoint } = composePrivateEndpoint(fx.azure.store, {
      id: endpointId,
      name: `pe-${name}`,
      current: undefined,
      callerId: fx.principalObjectId(),
      requested: {
        location: "westeurope",
        properties: {
          subnet: { id: subnetId },
          manualPrivateLinkServiceConnections: [
            { name: `pe-${name}`, properties: { privateLinkServiceId: vaultId, groupIds: ["vault"], requestMessage: "please approve" } },
          ],
        },
      },
    });
    fx.azure.store.put(endpoint);
    recordVaultConnection(fx.azure.store, { vaultId, endpointId, name: `pe-${name}`, status: "Pending" });
    const inputs = { keyVaultName: name, firewall: "disablePublicAccess", privateEndpointSubnetId: subnetId };

    begin();
    const pending = await run(inputs);
    assert.equal(pending.result, "Failed", pending.stdout);
    assert.match(
      pending.resultMessage ?? "",
      /public network access .* was left on: its private endpoint 'pe-kv-protect-\d+' is Pending, not Approved/,
    );
    assert.match(pending.resultMessage ?? "", /az keyvault private-endpoint-connection approve/);
    assert.deepEqual(vaultWrites(), [], "the vault is not written while its endpoint is Pending");
    assert.notEqual(vaultOf(name).properties!["publicNetworkAccess"], "Disabled");
    assert.ok(
      fx.armWrites().every((w) => !/\/privateEndpoints\/[^/]+$/i.test(w.path)),
      "the existing endpoint is kept as it is, not recreated",
    );

    // The vault's owner approves the connection: the endpoint and the vault both show Approved.
    const current = fx.azure.store.get(endpointId)!;
    const connections = current.properties!["manualPrivateLinkServiceConnections"] as {
      properties: { privateLinkServiceConnectionState: { status: string } };
    }[];
    connections[0]!.properties.privateLinkServiceConnectionState.status = "Approved";
    fx.azure.store.put(current);
    recordVaultConnection(fx.azure.store, { vaultId, endpointId, name: `pe-${name}`, status: "Approved" });

    begin();
    const approved = await run(inputs);
    fx.assertSucceeded(approved);
    assert.equal(vaultOf(name).properties!["publicNetworkAccess"], "Disabled");
    assert.equal(approved.outputs.privateEndpointId, endpointId);
  });

  it("a connection that may not join the endpoint's subnet is refused before any write, naming the subnet; a role given on that subnet alone is enough", async () => {
    const subnetId = endpointSubnet(`vnet-join-${++count}`, "10.50", "rg-hub-net");
    const { name } = newVault();
    const JOIN = "Microsoft.Network/virtualNetworks/subnets/join/action";
    fx.giveRole("spnKey", [{ actions: ["*"], notActions: [JOIN], dataActions: [], notDataActions: [] }]);
    try {
      begin();
      fx.assertFailedBeforeAnyWrite(
        await run({ keyVaultName: name, firewall: "unchanged", privateEndpointSubnetId: subnetId }),
        new RegExp(`lacks .*'${JOIN.replace(/[./]/g, "\\$&")}'.*${subnetId.replace(/[./]/g, "\\$&")}`, "i"),
      );

      // The network team grants the join on that one subnet: the check reads the subnet's own list and passes.
      const joinOnly = addCustomRole(fx.azure.store, {
        roleName: `subnet join ${count}`,
        permissions: [{ actions: [JOIN], notActions: [], dataActions: [], notDataActions: [] }],
      });
      assignRole(fx.azure.store, { principalId: fx.principalObjectId(), roleDefinitionId: joinOnly.id, scope: subnetId });
      begin();
      const joined = await run({ keyVaultName: name, firewall: "unchanged", privateEndpointSubnetId: subnetId });
      fx.assertSucceeded(joined);
      assert.ok(
        fx.permissionReads().some((r) => r.path.toLowerCase().startsWith(subnetId.toLowerCase())),
        "the subnet's own permissions list was read",
      );
      assert.equal(
        joined.outputs.privateEndpointId,
        `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/privateEndpoints/pe-${name}`,
      );
    } finally {
      fx.giveRole("spnKey", OWNER_ROLE);
    }
  });

  it("refusals before any write: a permission no role covers, a connection that may not assign roles, public access off without a private endpoint, an unknowable egress, a private range", async () => {
    const storageHolder = fx.azure.store.directory.addUserOrGroup("User");
    const { name: storageVault } = newVault({
      accessPolicies: [
        { tenantId: fx.azure.tenantId, objectId: storageHolder, permissions: { secrets: ["get"], storage: ["get", "regeneratekey"] } },
      ],
    });
    begin();
    fx.assertFailedBeforeAnyWrite(
      await run({ keyVaultName: storageVault, firewall: "unchanged", permissionModel: "rbac" }),
      /^permissionModel: .* would cut off access no built-in role gives: .*storage: get, storage: regeneratekey/,
    );

    const { name } = newVault();
    fx.giveRole("spnKey", ROLES.contributor);
    try {
      begin();
      fx.assertFailedBeforeAnyWrite(
        await run({ keyVaultName: name, firewall: "unchanged", permissionModel: "rbac" }),
        /lacks .*'Microsoft\.Authorization\/roleAssignments\/write'/,
      );
    } finally {
      fx.giveRole("spnKey", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    }

    begin();
    fx.assertFailedBeforeAnyWrite(
      await run({ keyVaultName: name, firewall: "disablePublicAccess" }),
      /^firewall: 'disablePublicAccess' would lock everyone out/,
    );

    const udr = fx.azure.store.addManagedCluster(RG, `aks-udr-${count}`);
    fx.azure.store.put({
      ...udr,
      properties: {
        ...udr.properties,
        networkProfile: { ...(udr.properties!["networkProfile"] as object), outboundType: "userDefinedRouting" },
      },
    });
    begin();
    fx.assertFailedBeforeAnyWrite(
      await run({ keyVaultName: name, allowClusters: `${RG}/${udr.name}` }),
      /outbound type 'userDefinedRouting'.*allowedIpRanges/,
    );

    begin();
    fx.assertFailedBeforeAnyWrite(
      await run({ keyVaultName: name, allowedIpRanges: "20.1.2.0/24\n10.1.0.0/16" }),
      /^allowedIpRanges: line 2: '10\.1\.0\.0\/16' overlaps the private range 10\.0\.0\.0\/8/,
    );
  });

  it("a protected vault: KeyVaultSecrets@1 with includeAgentIp still writes its secrets from an agent outside the firewall, and the scorecard's vault checks pass with fixes naming ProtectKeyVault@1", async () => {
    const c = clusters();
    const { name } = newVault();
    fx.azure.egressAddresses = ["192.0.2.77"];
    begin();
    fx.assertSucceeded(
      await run({ keyVaultName: name, allowClusters: `${RG}/${c.lb.name}`, enablePurgeProtection: true, permissionModel: "rbac" }),
    );

    const value = `v-${randomUUID()}`;
    begin();
    const job = await fx.runJob("KeyVaultSecrets", {
      inputs: {
        keyVaultName: name,
        resourceGroupName: RG,
        secrets: `db-password=${value}`,
        includeAgentIp: true,
        agentIpServiceUrl: `${fx.azure.url}/ip`,
      },
      secrets: { dbPassword: value },
      variables: { "AksHardening.KeyVaultProbeTimeoutSeconds": "0.2" },
    });
    fx.assertSucceeded(job.main);
    assert.deepEqual(
      fx.azure.store.vaultSecret(name, "db-password")?.properties.versions.map((v) => v.value),
      [value],
    );
    const acls = vaultOf(name).properties!["networkAcls"] as VaultNetworkAcls;
    assert.ok(!acls.ipRules.some((r) => r.value.startsWith("192.0.2.77")), "the post-job step closed the agent's address again");
    assert.equal(acls.defaultAction, "Deny");

    const scorecard = await fx.run("AksHardeningReport", {
      inputs: { resourceGroupName: RG, clusterName: c.lb.name, keyVaultNames: name },
    });
    fx.assertSucceeded(scorecard);
    for (const check of ["keyVault.network", "keyVault.permissionModel", "keyVault.recovery"]) {
      assert.match(scorecard.stdout, new RegExp(`\\[PASS\\] ${check.replace(".", "\\.")}\\b`), `${check} passes`);
    }
  });

  it("the scorecard's fixes for an unprotected vault name ProtectKeyVault@1 with its inputs", async () => {
    const { name } = newVault();
    const c = fx.azure.store.addManagedCluster(RG, `aks-score-${++count}`);
    const scorecard = await fx.run("AksHardeningReport", { inputs: { resourceGroupName: RG, clusterName: c.name, keyVaultNames: name } });
    fx.assertSucceeded(scorecard);
    const fixes = scorecard.stdout.split("\n").filter((l) => /fix: .*ProtectKeyVault@1/.test(l));
    for (const input of ["firewall: denyByDefault", "permissionModel: rbac", "enablePurgeProtection: true", "privateEndpointSubnetId"]) {
      assert.ok(
        fixes.some((f) => f.includes(input) && f.includes(`keyVaultName: ${name}`)),
        `a fix names ${input}:\n${fixes.join("\n")}`,
      );
    }
  });
});
