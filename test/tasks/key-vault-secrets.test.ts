import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture, OWNER_ROLE, type ConnectionKind } from "../harness/fixture";
import * as path from "node:path";
import { runStep, type StepRun } from "../harness/agent";
import { RESOURCE_LINK_TYPE, type AccessPolicyEntry, type VaultNetworkAcls } from "../../local-azure/index";
import { assertSpeaksConditionally } from "../harness/wording";

describe("test/tasks/key-vault-secrets", () => {
  const TASK = "KeyVaultSecrets";
  const RG = "rg-secrets";
  const SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
  const SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
  let fx: Fixture;
  let vaultCount = 0;

  /** The article's three secrets, as secret pipeline variables. */
  const ARTICLE = {
    dbUrl: `jdbc:postgresql://todo-db.postgres.database.azure.com:5432/todo?sslmode=require&x=${randomUUID()}`,
    dbUser: `todoadmin-${randomUUID().slice(0, 8)}`,
    dbPassword: `P@ss=${randomUUID()}`,
  };
  const ARTICLE_LINES = "# the article's secrets\ndb-url=$(dbUrl)\n\ndb-user=$(dbUser)\ndb-password=$(dbPassword)";

  before(async () => {
    fx = await Fixture.start();
    fx.secrets.push(...Object.values(ARTICLE));
  });
  after(async () => {
    await fx?.close();
  });

  /** The agent expands $(var) macros in inputs before the task runs; secret variables come as SECRET_*. */
  function expand(text: string, values: Record<string, string>): string {
    return text.replace(/\$\((\w+)\)/g, (whole, name: string) => values[name] ?? whole);
  }

  /** A fresh vault per test; the connection's principal may get, list, set and recover (or is Secrets Officer). */
  function newVault(
    p: { rbac?: boolean; connectionPermissions?: string[]; otherPolicies?: AccessPolicyEntry[]; connection?: ConnectionKind } = {},
  ) {
    const name = `kv-test-${++vaultCount}`;
    const principal = fx.principalObjectId(p.connection ?? "spnKey");
    const accessPolicies: AccessPolicyEntry[] = [...(p.otherPolicies ?? [])];
    if (!p.rbac && p.connectionPermissions?.length !== 0) {
      accessPolicies.push({
        tenantId: fx.azure.tenantId,
        objectId: principal,
        permissions: { secrets: p.connectionPermissions ?? ["get", "list", "set", "recover"] },
      });
    }
    const vault = fx.azure.store.addKeyVault(RG, name, { enableRbacAuthorization: p.rbac ?? false, accessPolicies });
    if (p.rbac && p.connectionPermissions?.length !== 0) assignRole(vault.id, principal, SECRETS_OFFICER);
    fx.azure.faults.clear();
    fx.azure.clearRequests();
    return { name, id: vault.id };
  }

  function assignRole(scope: string, principalId: string, role: string): void {
    fx.azure.store.put({
      id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
      name: randomUUID(),
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        scope,
        principalId,
        principalType: "ServicePrincipal",
        roleDefinitionId: `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
      },
    });
  }

  function run(
    vault: string,
    extra: Record<string, string | boolean>,
    options: { secrets?: Record<string, string>; connection?: ConnectionKind } = {},
  ) {
    const secrets = options.secrets ?? ARTICLE;
    const inputs: Record<string, string | boolean> = { keyVaultName: vault, ...extra };
    if (typeof inputs.secrets === "string") inputs.secrets = expand(inputs.secrets, secrets);
    return fx.run(TASK, { inputs, secrets, ...(options.connection ? { connection: options.connection } : {}) });
  }

  function versions(vault: string, name: string): string[] {
    return fx.azure.store.vaultSecret(vault, name)?.properties.versions.map((v) => v.value) ?? [];
  }

  function dataPlaneWrites() {
    return fx.azure.requests.filter((r) => r.host.includes(".vault.azure.net") && ["PUT", "POST", "DELETE", "PATCH"].includes(r.method));
  }

  const assertSucceeded = (run: StepRun) => fx.assertSucceeded(run);

  function assertFailedBeforeAnyWrite(run: StepRun, message: RegExp): void {
    fx.assertFailedBeforeAnyWrite(run, message);
    assert.deepEqual(dataPlaneWrites(), [], "no data-plane write");
  }

  it("the article's three secrets from secret variables: created, values registered as secrets, names as outputs", async () => {
    const { name } = newVault();
    const r = await run(name, { resourceGroupName: RG, secrets: ARTICLE_LINES });
    assertSucceeded(r);
    assert.deepEqual(versions(name, "db-url"), [ARTICLE.dbUrl]);
    assert.deepEqual(versions(name, "db-user"), [ARTICLE.dbUser]);
    assert.deepEqual(versions(name, "db-password"), [ARTICLE.dbPassword]);
    for (const value of Object.values(ARTICLE)) assert.ok(r.registeredSecrets.includes(value), "every value is registered with the agent");
    // After task-lib's start-up lines, the first registrations are the values, before the connection's own secret.
    const first = r.commands.findIndex((c) => c.action === "setsecret");
    assert.deepEqual(
      r.commands
        .slice(first, first + 3)
        .map((c) => c.message)
        .sort(),
      Object.values(ARTICLE).sort(),
      "the values are registered before anything else happens",
    );
    assert.equal(r.outputs.vaultUri, `https://${name}.vault.azure.net/`);
    assert.equal(r.outputs.secretNames, "db-url,db-user,db-password");
    assert.equal(r.outputs.changed, "true");
    assert.match(r.summaries[0]!, /Secret `db-url` \| _absent_ \| created/);
    assert.match(r.summaries[0]!, /Permission model: vault access policy\n/);
    assert.deepEqual(fx.armWrites(), [], "no grant was asked for");
  });

  it("concurrent secret reads: the vault is challenged once, and one token request per audience serves every read", async () => {
    const { name } = newVault();
    const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-reads-${vaultCount}`);
    const secrets = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`value${i}`, `value-${i}-${randomUUID()}`]));
    const lines = Object.keys(secrets)
      .map((variable, i) => `app-secret-${i}=$(${variable})`)
      .join("\n");
    assertSucceeded(await run(name, { resourceGroupName: RG, grantTo: identity.id, secrets: lines }, { secrets }));
    fx.azure.clearRequests();
    assertSucceeded(await run(name, { resourceGroupName: RG, grantTo: identity.id, secrets: lines }, { secrets }));
    const vaultRequests = fx.azure.requests.filter((r) => r.host.includes(".vault.azure.net"));
    assert.deepEqual(
      vaultRequests.filter((r) => r.status === 401).map((r) => r.path),
      [vaultRequests[0]!.path],
      "only the first data-plane request is sent without a token",
    );
    assert.equal(vaultRequests.filter((r) => r.status === 200).length, 6, "each secret read once with the token");
    const tokenScopes = fx.azure.requests
      .filter((r) => r.path.toLowerCase().endsWith("/oauth2/v2.0/token"))
      .map((r) => String((r.body as { scope?: string } | undefined)?.scope ?? ""));
    assert.equal(
      tokenScopes.length,
      2,
      `one token for ARM (vault and identity read together), one for Key Vault: ${tokenScopes.join(", ")}`,
    );
    assert.ok(tokenScopes.some((scope) => scope.includes("https://vault.azure.net/.default")));
  });

  it("a re-run writes nothing and creates no new versions; one changed value makes exactly one new version", async () => {
    const { name } = newVault();
    assertSucceeded(await run(name, { secrets: ARTICLE_LINES }));
    fx.azure.clearRequests();
    const again = await run(name, { secrets: ARTICLE_LINES });
    assertSucceeded(again);
    assert.deepEqual(dataPlaneWrites(), []);
    assert.deepEqual(fx.armWrites(), []);
    assert.equal(again.outputs.changed, "false");
    assert.match(again.summaries[0]!, /Already compliant/);
    for (const secret of ["db-url", "db-user", "db-password"]) assert.equal(versions(name, secret).length, 1);

    fx.azure.clearRequests();
    const rotated = { ...ARTICLE, dbPassword: `rotated-${randomUUID()}` };
    fx.secrets.push(rotated.dbPassword);
    const changed = await run(name, { secrets: ARTICLE_LINES }, { secrets: rotated });
    assertSucceeded(changed);
    assert.deepEqual(versions(name, "db-password"), [ARTICLE.dbPassword, rotated.dbPassword]);
    assert.equal(versions(name, "db-url").length, 1);
    assert.deepEqual(
      dataPlaneWrites().map((w) => `${w.method} ${w.path}`),
      ["PUT /secrets/db-password"],
    );
    assert.match(changed.summaries[0]!, /Secret `db-password` \| exists \| updated/);
    assert.match(changed.summaries[0]!, /Secret `db-url` \| exists \| unchanged/);
  });

  describe("granting access", () => {
    it("access-policy vault: accessPolicies/add merges get,list into the identity's policy; another principal's policy is untouched", async () => {
      const identity = fx.azure.store.addUserAssignedIdentity("rg-ids", `id-app-${vaultCount}`);
      const principalId = String(identity.properties!["principalId"]);
      const other: AccessPolicyEntry = {
        tenantId: fx.azure.tenantId,
        objectId: randomUUID(),
        permissions: { keys: ["get"], secrets: ["get", "list", "set", "delete"], certificates: ["get"] },
      };
      const mine: AccessPolicyEntry = {
        tenantId: fx.azure.tenantId,
        objectId: principalId,
        permissions: { keys: ["get"], secrets: ["get"] },
      };
      const { name } = newVault({ otherPolicies: [other, mine] });
      const r = await run(name, { grantTo: identity.id, secrets: "db-url=$(dbUrl)" });
      assertSucceeded(r);
      const policies = fx.azure.store.getKeyVault(RG, name)!.properties!["accessPolicies"] as AccessPolicyEntry[];
      assert.deepEqual(policies[0], other, "another principal's access policy is untouched");
      assert.deepEqual(
        policies.find((p) => p.objectId === principalId),
        { ...mine, permissions: { keys: ["get"], secrets: ["get", "list"] } },
      );
      const writes = fx.armWrites();
      assert.equal(writes.length, 1);
      assert.match(writes[0]!.path, /\/accessPolicies\/add$/);
      assert.match(r.summaries[0]!, /Permission model: vault access policy/);
      assert.match(r.summaries[0]!, /secret permissions \| `get` \| `get`, `list`/);

      fx.azure.clearRequests();
      const again = await run(name, { grantTo: identity.id, secrets: "db-url=$(dbUrl)" });
      assertSucceeded(again);
      assert.deepEqual(fx.armWrites(), [], "a re-run grants nothing again");
      assert.equal(again.outputs.changed, "false");
    });

    it("access-policy vault: an identity's client ID resolves to its object ID, found without a resource group", async () => {
      const identity = fx.azure.store.addUserAssignedIdentity("rg-ids", `id-client-${vaultCount}`);
      const { name } = newVault();
      const r = await run(name, { grantTo: String(identity.properties!["clientId"]), secretPermissions: "get, list, set" });
      assertSucceeded(r);
      const policies = fx.azure.store.getKeyVault(RG, name)!.properties!["accessPolicies"] as AccessPolicyEntry[];
      assert.deepEqual(policies.find((p) => p.objectId === identity.properties!["principalId"])?.permissions.secrets, [
        "get",
        "list",
        "set",
      ]);
    });

    it("RBAC vault: Key Vault Secrets User at vault scope, idempotent; the summary names the model", async () => {
      const identity = fx.azure.store.addUserAssignedIdentity("rg-ids", `id-rbac-${vaultCount}`);
      const { name, id } = newVault({ rbac: true });
      const r = await run(name, { resourceGroupName: RG, grantTo: identity.id, secrets: ARTICLE_LINES });
      assertSucceeded(r);
      const writes = fx.armWrites();
      assert.equal(writes.length, 1);
      assert.ok(writes[0]!.path.toLowerCase().startsWith(`${id.toLowerCase()}/providers/microsoft.authorization/roleassignments/`));
      assert.match(JSON.stringify(writes[0]!.body), new RegExp(SECRETS_USER));
      assert.equal(versions(name, "db-url").length, 1, "the secrets are written through the RBAC data plane");
      assert.match(r.summaries[0]!, /Permission model: Azure RBAC/);
      fx.azure.clearRequests();
      const again = await run(name, { resourceGroupName: RG, grantTo: identity.id, secrets: ARTICLE_LINES });
      assertSucceeded(again);
      assert.deepEqual(fx.armWrites(), []);
      assert.deepEqual(dataPlaneWrites(), []);
    });
  });

  describe("secret names", () => {
    it("strict refuses a dotted name, naming the line", async () => {
      const { name } = newVault();
      const r = await run(name, { secrets: "db-url=$(dbUrl)\nspring.datasource.password=$(dbPassword)" });
      assertFailedBeforeAnyWrite(r, /secrets: line 2: 'spring\.datasource\.password' is not a valid Key Vault secret name.*nameMapping/);
    });

    it("dashes maps dots and underscores and reports each mapping", async () => {
      const { name } = newVault();
      const r = await run(name, {
        nameMapping: "dashes",
        secrets: "spring.datasource.url=$(dbUrl)\nspring.datasource.username=$(dbUser)\nDB_PASSWORD=$(dbPassword)",
      });
      assertSucceeded(r);
      assert.deepEqual(versions(name, "spring-datasource-url"), [ARTICLE.dbUrl]);
      assert.deepEqual(versions(name, "DB-PASSWORD"), [ARTICLE.dbPassword]);
      assert.equal(r.outputs.secretNames, "spring-datasource-url,spring-datasource-username,DB-PASSWORD");
      assert.match(r.summaries[0]!, /Name mapped: `spring\.datasource\.url` → `spring-datasource-url`/);
      assert.match(r.summaries[0]!, /Name mapped: `DB_PASSWORD` → `DB-PASSWORD`/);
    });

    it("two lines that map to one name are refused", async () => {
      const { name } = newVault();
      const r = await run(name, { nameMapping: "dashes", secrets: "db.url=$(dbUrl)\ndb_url=$(dbUser)" });
      assertFailedBeforeAnyWrite(r, /secrets: line 1 'db\.url', line 2 'db_url' all become the secret 'db-url'/);
    });
  });

  it("a value over 25 KB is refused before anything is written, without printing it", async () => {
    const { name } = newVault();
    const big = `big-${"x".repeat(26 * 1024)}`;
    fx.secrets.push(big);
    const r = await run(name, { secrets: "db-url=$(dbUrl)\ncert=$(big)" }, { secrets: { ...ARTICLE, big } });
    assertFailedBeforeAnyWrite(r, /secrets: line 2 \('cert'\) has a value of \d+ bytes; Key Vault accepts at most 25 KB/);
    assert.deepEqual(fx.armRequests(), [], "not even a read");
  });

  it("run by hand with the secret variable as SECRET_DBPASSWORD and $(dbPassword) left in the input: told that the agent expands inputs and how it hands secret variables over, instead of 'not defined'; nothing written or printed", async () => {
    const { name } = newVault();
    // As a by-hand run starts the task: the macro as typed (no agent to expand it), the secret variable as the agent would hand it over.
    const r = await fx.run(TASK, {
      inputs: { keyVaultName: name, secrets: "db-password=$(dbPassword)" },
      secrets: { dbPassword: ARTICLE.dbPassword },
    });
    assertFailedBeforeAnyWrite(
      r,
      /^secrets: line 1 \('db-password'\): '\$\(dbPassword\)' was not expanded, although this process was given the secret variable 'dbPassword' \(SECRET_DBPASSWORD\)\. The agent expands \$\(…\) in a task's inputs before the task starts, secret variables included; the task never does\. The agent hands a secret variable to a task as SECRET_<NAME> .*VSTS_SECRET_VARIABLES.* "name=\$SECRET_DBPASSWORD"/,
    );
    assert.doesNotMatch(r.resultMessage ?? "", /is defined where this step runs/);
  });

  it("a soft-deleted name is recovered, then updated only when its value differs", async () => {
    const { name } = newVault();
    fx.azure.store.setVaultSecret(name, "db-user", ARTICLE.dbUser);
    fx.azure.store.deleteVaultSecret(name, "db-user");
    fx.azure.store.setVaultSecret(name, "db-password", "old-password");
    fx.azure.store.deleteVaultSecret(name, "db-password");
    fx.secrets.push("old-password");
    const r = await run(name, { secrets: "db-user=$(dbUser)\ndb-password=$(dbPassword)" });
    assertSucceeded(r);
    assert.equal(fx.azure.store.vaultSecret(name, "db-user")?.properties.deleted, undefined);
    assert.deepEqual(versions(name, "db-user"), [ARTICLE.dbUser], "recovered, equal value: no new version");
    assert.deepEqual(versions(name, "db-password"), ["old-password", ARTICLE.dbPassword]);
    assert.match(r.summaries[0]!, /Secret `db-user` \| _soft-deleted_ \| recovered \|/);
    assert.match(r.summaries[0]!, /Secret `db-password` \| _soft-deleted_ \| recovered and updated/);
  });

  it("a soft-deleted name the connection may not recover fails with a sentence saying so", async () => {
    const { name } = newVault({ connectionPermissions: ["get", "list", "set"] });
    fx.azure.store.setVaultSecret(name, "db-url", "old-url");
    fx.azure.store.deleteVaultSecret(name, "db-url");
    fx.secrets.push("old-url");
    const r = await run(name, { secrets: "db-url=$(dbUrl)" });
    assert.equal(r.result, "Failed");
    assert.match(
      r.resultMessage ?? "",
      /'db-url' .* is deleted but recoverable .* may not recover it: it needs the secret permission 'recover'/,
    );
    assert.ok(fx.azure.store.vaultSecret(name, "db-url")?.properties.deleted, "still deleted");
    fx.assertNoSecretsIn(r);
  });

  describe("a connection without data-plane permission (403) fails with a sentence naming what it needs", () => {
    it("access-policy vault", async () => {
      const { name } = newVault({ connectionPermissions: ["list"] });
      const r = await run(name, { secrets: "db-url=$(dbUrl)" });
      assertFailedBeforeAnyWrite(
        r,
        /may not read the secret 'db-url' in key vault 'kv-test-\d+'.*HTTP 403.*access policies.*'get'.*does not have secrets get permission/,
      );
    });
    it("RBAC vault", async () => {
      const { name } = newVault({ rbac: true, connectionPermissions: [] });
      const r = await run(name, { secrets: "db-url=$(dbUrl)" });
      assertFailedBeforeAnyWrite(
        r,
        /may not read the secret 'db-url'.*Azure RBAC: assign .*Key Vault Secrets Officer.*Caller is not authorized/,
      );
    });
  });

  it("RBAC vault, a role that may read secrets but not set them (Key Vault Secrets Officer on one secret only): the dry run warns, the real run is refused before any write, naming each secret it may not create", async () => {
    const { name, id } = newVault({ rbac: true, connectionPermissions: [], connection: "spnCertificate" });
    const principal = fx.principalObjectId("spnCertificate");
    fx.giveRole("spnCertificate", [
      {
        actions: ["*"],
        notActions: [],
        dataActions: ["Microsoft.KeyVault/vaults/secrets/*"],
        notDataActions: ["Microsoft.KeyVault/vaults/secrets/setSecret/action"],
      },
    ]);
    assignRole(`${id}/secrets/db-url`, principal, SECRETS_OFFICER);
    try {
      const missing = (secret: string) =>
        `'Microsoft\\.KeyVault/vaults/secrets/setSecret/action' on ${id}/secrets/${secret} \\(to create the secret '${secret}'; Key Vault Secrets Officer or Key Vault Administrator has it\\)`;
      const dry = await run(name, { resourceGroupName: RG, secrets: ARTICLE_LINES, dryRun: true }, { connection: "spnCertificate" });
      assertSucceeded(dry);
      assertSpeaksConditionally(dry);
      const warning = dry.warnings.find((w) => w.startsWith("A real run would be refused before its first write: ")) ?? "";
      assert.match(warning, new RegExp(`lacks 2 permissions this run needs: ${missing("db-user")}\\. ${missing("db-password")}`));
      assert.doesNotMatch(warning, /secrets\/db-url/, "Secrets Officer on db-url shows in that secret's own list");
      assert.deepEqual(
        fx
          .permissionReads()
          .map((r) => r.path.replace(id, "{vault}"))
          .sort(),
        [
          "{vault}/providers/Microsoft.Authorization/permissions",
          "{vault}/secrets/db-password/providers/Microsoft.Authorization/permissions",
          "{vault}/secrets/db-url/providers/Microsoft.Authorization/permissions",
          "{vault}/secrets/db-user/providers/Microsoft.Authorization/permissions",
        ],
        "the vault's list first; each secret's own only because the vault's lacks the action",
      );

      const refused = await run(name, { resourceGroupName: RG, secrets: ARTICLE_LINES }, { connection: "spnCertificate" });
      assertFailedBeforeAnyWrite(refused, new RegExp(`${missing("db-user")}.* Nothing was written\\.$`));
      assert.deepEqual(versions(name, "db-url"), [], "not even the secret it may write: no half-applied run");
    } finally {
      fx.giveRole("spnCertificate", OWNER_ROLE);
    }
  });

  it("dry run reads, plans and writes nothing", async () => {
    const identity = fx.azure.store.addUserAssignedIdentity("rg-ids", `id-dry-${vaultCount}`);
    const { name } = newVault();
    fx.azure.store.setVaultSecret(name, "db-url", ARTICLE.dbUrl);
    const r = await run(name, { grantTo: identity.id, secrets: ARTICLE_LINES, dryRun: true });
    assertSucceeded(r);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(dataPlaneWrites(), []);
    assert.equal(r.outputs.changed, "false");
    assertSpeaksConditionally(r);
    assert.match(r.summaries[0]!, /Secret `db-user` \| _absent_ \| create/);
    assert.match(r.summaries[0]!, /Secret `db-url` \| exists \| unchanged/);
    assert.match(r.summaries[0]!, /would add the missing permissions/);
  });

  it("429 with Retry-After on the data plane is waited out", async () => {
    const { name } = newVault();
    fx.azure.faults.add({
      method: "PUT",
      path: /^\/secrets\/db-user$/,
      kind: "status",
      status: 429,
      headers: { "retry-after": "1" },
      body: { error: { code: "Throttled", message: "Request was not processed because too many requests were received." } },
    });
    const r = await run(name, { secrets: ARTICLE_LINES });
    assertSucceeded(r);
    const puts = fx.azure.requests.filter((q) => q.method === "PUT" && q.path === "/secrets/db-user");
    assert.deepEqual(
      puts.map((q) => q.status),
      [429, 200],
    );
    assert.ok(puts[1]!.time.getTime() - puts[0]!.time.getTime() >= 950);
  });

  it("each service connection scheme reaches the data plane (challenge, vault audience)", async () => {
    for (const connection of ["spnCertificate", "managedIdentity", "workloadIdentity"] as ConnectionKind[]) {
      const { name } = newVault({ connection });
      const r = await run(name, { secrets: "db-user=$(dbUser)" }, { connection });
      assertSucceeded(r);
      assert.deepEqual(versions(name, "db-user"), [ARTICLE.dbUser], connection);
    }
  });

  const without = (action: string) => [{ actions: ["*"], notActions: [action], dataActions: [], notDataActions: [] }];

  describe("includeAgentIp: the vault's firewall opened to the agent for the job", () => {
    const SUBNET =
      "/subscriptions/00000000-0000-0000-0000-00000000beef/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-aks/subnets/nodes";
    /** Denies by default: admits an office range and the cluster's subnet, not the agent. */
    const CLOSED: VaultNetworkAcls = {
      bypass: "AzureServices",
      defaultAction: "Deny",
      ipRules: [{ value: "192.0.2.0/24" }],
      virtualNetworkRules: [{ id: SUBNET }],
    };
    const QUICK = { "AksHardening.KeyVaultProbeTimeoutSeconds": "0.2" };

    function closedVault() {
      const vault = newVault();
      const stored = fx.azure.store.getKeyVault(RG, vault.name)!;
      fx.azure.store.put({ ...stored, properties: { ...stored.properties, networkAcls: structuredClone(CLOSED) } });
      return vault;
    }
    const aclsOf = (name: string) => fx.azure.store.getKeyVault(RG, name)?.properties?.["networkAcls"] as VaultNetworkAcls;
    const holdsOn = (id: string) =>
      fx.azure.store.listByType(RESOURCE_LINK_TYPE).filter((l) => String(l.properties?.["sourceId"]).toLowerCase() === id.toLowerCase());
    const jobInputs = (name: string, extra: Record<string, string | boolean> = {}) => ({
      keyVaultName: name,
      resourceGroupName: RG,
      secrets: expand(ARTICLE_LINES, ARTICLE),
      includeAgentIp: true,
      agentIpServiceUrl: `${fx.azure.url}/ip`,
      ...extra,
    });
    /** The post-job step alone, as the agent runs it after the job. */
    async function postJob(
      main: StepRun,
      inputs: Record<string, string | boolean>,
      variables: Record<string, string> = {},
    ): Promise<StepRun> {
      const post = await runStep(path.join(fx.taskDir(TASK), "post.js"), {
        ...fx.stepOptions({ inputs, variables }),
        taskVariables: main.taskVariables,
      });
      fx.assertNoSecretsIn(post);
      return post;
    }

    it("first run: an agent outside a deny-by-default firewall, leaving from two addresses in turn, writes the secrets once the vault admits it consistently, and leaves the firewall as it was", async () => {
      const { name, id } = closedVault();
      fx.azure.egressAddresses = ["198.51.100.51", "198.51.100.52"];
      fx.azure.vaultFirewalls.propagationRequests = 2;
      try {
        const job = await fx.runJob(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK });
        assertSucceeded(job.main);
        assert.deepEqual(versions(name, "db-password"), [ARTICLE.dbPassword]);
        assert.equal(job.main.outputs.changed, "true");
        assert.match(
          job.main.summaries[0]!,
          /`198\.51\.100\.51\/32`, `198\.51\.100\.52\/32` \(this agent\) opened for this job, closed by the post-job step \(4 lookups .* saw 2 addresses/,
        );
        assert.match(job.main.stdout, /The data plane of key vault '.*' admitted this agent after .* \(\d+ probes; the last 3 in a row/);
        const patch = fx.armWrites().find((r) => r.method === "PATCH")!.body as { properties: { networkAcls: VaultNetworkAcls } };
        assert.deepEqual(
          patch.properties.networkAcls,
          { ...CLOSED, ipRules: [{ value: "192.0.2.0/24" }, { value: "198.51.100.51/32" }, { value: "198.51.100.52/32" }] },
          "the whole rule set as read, only the IP rules changed (an update replaces networkAcls as a whole)",
        );
        assertSucceeded(job.post);
        assert.match(job.post.summaries[0]!, /Closed job-scoped access: 198\.51\.100\.51\/32, 198\.51\.100\.52\/32/);
        assert.deepEqual(aclsOf(name), CLOSED, "closed again, every other rule as it was");
        assert.deepEqual(holdsOn(id), []);
      } finally {
        fx.azure.vaultFirewalls.propagationRequests = 0;
        fx.azure.publicIp = "203.0.113.10";
      }
    });

    it("a re-run after a failed job makes no lasting write: the secrets stay, the job's rule comes and goes", async () => {
      const { name, id } = closedVault();
      fx.azure.publicIp = "198.51.100.53";
      assertSucceeded((await fx.runJob(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK })).post);
      fx.azure.clearRequests();
      const again = await fx.runJob(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK, jobFails: true });
      assertSucceeded(again.main);
      assert.equal(again.main.outputs.changed, "false");
      assert.match(again.main.summaries[0]!, /Lasting configuration unchanged; job-scoped access only/);
      assert.deepEqual(dataPlaneWrites(), [], "no secret written again");
      assert.deepEqual(
        fx.armWrites().map((r) => `${r.method} ${r.path.includes("/links/") ? "hold" : "vault"}`),
        ["PUT hold", "PATCH vault", "PUT hold", "PATCH vault", "DELETE hold"],
        "the job's hold and rule, then the post-job step's release, close and delete",
      );
      assertSucceeded(again.post);
      assert.deepEqual(aclsOf(name), CLOSED);
      assert.deepEqual(holdsOn(id), []);
    });

    it("a post-job step that may not update the vault fails naming the address and the command that closes it; the next run closes it", async () => {
      const { name, id } = closedVault();
      fx.azure.publicIp = "198.51.100.54";
      const main = await fx.run(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK });
      assertSucceeded(main);
      fx.azure.faults.add({
        method: "PATCH",
        path: new RegExp(`/vaults/${name}$`),
        kind: "status",
        status: 403,
        body: {
          error: {
            code: "AuthorizationFailed",
            message: "The client does not have authorization to perform action 'Microsoft.KeyVault/vaults/write'.",
          },
        },
      });
      const post = await postJob(main, jobInputs(name));
      assert.equal(post.result, "Failed");
      assert.match(
        post.resultMessage ?? "",
        /198\.51\.100\.54\/32 stays in the IP rules of key vault '.*' .*Microsoft\.KeyVault\/vaults\/write/,
      );
      assert.match(
        post.resultMessage ?? "",
        new RegExp(`az keyvault network-rule remove --resource-group ${RG} --name ${name} --ip-address 198\\.51\\.100\\.54/32`),
      );
      assert.match(String(holdsOn(id)[0]?.properties?.["notes"]), / released$/, "released, so any later run closes it");

      const next = await fx.runJob(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK });
      assertSucceeded(next.main);
      assertSucceeded(next.post);
      assert.deepEqual(aclsOf(name), CLOSED);
      assert.deepEqual(holdsOn(id), []);
    });

    it("two concurrent jobs from one address (a shared NAT) share its rule: it goes when the last of them ends", async () => {
      const { name, id } = closedVault();
      fx.azure.publicIp = "198.51.100.55";
      const agentA = { ...QUICK, "Agent.Id": "21", "Agent.Name": "agent-a" };
      const agentB = { ...QUICK, "Agent.Id": "22", "Agent.Name": "agent-b" };
      const [mainA, mainB] = await Promise.all([
        fx.run(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: agentA }),
        fx.run(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: agentB }),
      ]);
      assertSucceeded(mainA);
      assertSucceeded(mainB);
      assert.deepEqual(aclsOf(name).ipRules, [{ value: "192.0.2.0/24" }, { value: "198.51.100.55/32" }], "listed once");
      assert.equal(holdsOn(id).length, 2, "one hold per job");
      assertSucceeded(await postJob(mainA, jobInputs(name), agentA));
      assert.deepEqual(aclsOf(name).ipRules, [{ value: "192.0.2.0/24" }, { value: "198.51.100.55/32" }], "job B still needs it");
      assertSucceeded(await postJob(mainB, jobInputs(name), agentB));
      assert.deepEqual(aclsOf(name), CLOSED);
      assert.deepEqual(holdsOn(id), []);
    });

    it("a vault update made at the same moment that drops this job's rule (a vault has no eTag) is repaired by a second look", async () => {
      const { name } = closedVault();
      fx.azure.publicIp = "198.51.100.56";
      fx.azure.faults.add({
        method: "PATCH",
        path: new RegExp(`/vaults/${name}$`),
        kind: "pass",
        // Right after this job's update, another writer's update lands, made from what it read before.
        onMatch: () =>
          fx.azure.faults.add({
            method: "GET",
            path: new RegExp(`/vaults/${name}$`),
            kind: "pass",
            onMatch: () => {
              const vault = fx.azure.store.getKeyVault(RG, name)!;
              fx.azure.store.put({ ...vault, properties: { ...vault.properties, networkAcls: structuredClone(CLOSED) } });
            },
          }),
      });
      const main = await fx.run(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK });
      assertSucceeded(main);
      assert.equal(fx.armWrites().filter((r) => r.method === "PATCH").length, 2, "written again after the second look");
      assert.deepEqual(aclsOf(name).ipRules, [{ value: "192.0.2.0/24" }, { value: "198.51.100.56/32" }]);
      assertSucceeded(await postJob(main, jobInputs(name)));
      assert.deepEqual(aclsOf(name), CLOSED);
    });

    it("a dry run says what it would open and writes nothing", async () => {
      const { name } = closedVault();
      fx.azure.publicIp = "198.51.100.57";
      const r = await fx.run(TASK, { inputs: jobInputs(name, { dryRun: true }), secrets: ARTICLE });
      assertSucceeded(r);
      assertSpeaksConditionally(r);
      assert.match(r.summaries[0]!, /`198\.51\.100\.57\/32` \(this agent\) would be opened for this job/);
      assert.match(r.summaries[0]!, /secrets were not compared/);
      assert.deepEqual(fx.armWrites(), []);
      assert.deepEqual(dataPlaneWrites(), []);
      assert.deepEqual(r.taskVariables, {});
    });

    it("a role without Microsoft.KeyVault/vaults/write: the dry run warns that a real run would be refused; the real run is refused before the hold or the firewall is written", async () => {
      const { name, id } = closedVault();
      fx.azure.publicIp = "198.51.100.58";
      fx.giveRole("spnKey", without("Microsoft.KeyVault/vaults/write"));
      try {
        const missing = `'Microsoft\\.KeyVault/vaults/write' on ${id} \\(to change the vault's firewall IP rules; Contributor or Owner has it\\)`;
        const dry = await fx.run(TASK, { inputs: jobInputs(name, { dryRun: true }), secrets: ARTICLE });
        assertSucceeded(dry);
        assertSpeaksConditionally(dry);
        assert.ok(
          dry.warnings.some((w) => new RegExp(`^A real run would be refused before its first write: .*${missing}`).test(w)),
          dry.warnings.join("\n"),
        );
        const refused = await fx.run(TASK, { inputs: jobInputs(name), secrets: ARTICLE });
        assertFailedBeforeAnyWrite(refused, new RegExp(`${missing}.* Nothing was written\\.$`));
        assert.deepEqual(refused.taskVariables, {}, "its post-job step has nothing to close");
        assert.deepEqual(aclsOf(name), CLOSED);
      } finally {
        fx.giveRole("spnKey", OWNER_ROLE);
      }
    });

    it("a post-job step that may not write resource links writes nothing, and fails naming the permission, the address, and the commands that close it and delete its hold; the next job on this agent closes it", async () => {
      const { name, id } = closedVault();
      fx.azure.publicIp = "198.51.100.59";
      const main = await fx.run(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK });
      assertSucceeded(main);
      fx.azure.clearRequests();
      fx.giveRole("spnKey", without("Microsoft.Resources/links/write"));
      let post: StepRun;
      try {
        post = await postJob(main, jobInputs(name));
      } finally {
        fx.giveRole("spnKey", OWNER_ROLE);
      }
      assert.equal(post.result, "Failed");
      const message = post.resultMessage ?? "";
      assert.match(
        message,
        new RegExp(
          `^The post-job step could not close the job-scoped access: 198\\.51\\.100\\.59/32 stays in the IP rules of key vault '${name}' .*lacks a permission this run needs: 'Microsoft\\.Resources/links/write' on ${id} \\(to let go of this job's hold on 198\\.51\\.100\\.59/32`,
        ),
      );
      const hold = holdsOn(id)[0]!;
      assert.match(String(hold.properties?.["notes"]), /198\.51\.100\.59\/32 .*[^d]$/, "not released");
      assert.match(message, /stays, not released: a run with includeAgentIp on this vault from this agent closes it at once/);
      assert.ok(message.includes(`az resource link delete --link ${hold.id}`), message);
      assert.ok(
        message.includes(`az keyvault network-rule remove --resource-group ${RG} --name ${name} --ip-address 198.51.100.59/32`),
        message,
      );
      assert.deepEqual(
        fx.armWrites(),
        [],
        "nothing written: closing while the hold looks alive would let another job's run put the address back",
      );

      const next = await fx.runJob(TASK, { inputs: jobInputs(name), secrets: ARTICLE, variables: QUICK });
      assertSucceeded(next.main);
      assertSucceeded(next.post);
      assert.deepEqual(aclsOf(name), CLOSED);
      assert.deepEqual(holdsOn(id), []);
    });

    it("a vault without public network access is refused before any write: no IP rule could admit the agent", async () => {
      const { name } = closedVault();
      const stored = fx.azure.store.getKeyVault(RG, name)!;
      fx.azure.store.put({ ...stored, properties: { ...stored.properties, publicNetworkAccess: "Disabled" } });
      const r = await fx.run(TASK, { inputs: jobInputs(name), secrets: ARTICLE });
      assertFailedBeforeAnyWrite(r, /^includeAgentIp: the key vault '.*' .* has public network access disabled/);
    });
  });

  // Input-only mistakes are in the bad-input matrix (test/reliability/bad-inputs.test.ts).
  describe("refused before any write", () => {
    it("a vault that is not in the subscription", async () => {
      newVault();
      const r = await run("kv-missing", { secrets: ARTICLE_LINES });
      assertFailedBeforeAnyWrite(r, /There is no key vault 'kv-missing' in the service connection's subscription/);
    });
  });
});
