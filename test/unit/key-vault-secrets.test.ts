import { describe, it } from "mocha";
import assert from "node:assert/strict";
import fc from "fast-check";
import { mapSecretNames, parseSecretLines, valuesToRegister, SECRET_NAME, type SecretEntry } from "../../tasks/KeyVaultSecrets/secrets";
import { planAccessPolicy, planSecret, type VaultState } from "../../tasks/KeyVaultSecrets/plan";

describe("test/unit/key-vault-secrets", () => {
  it("lines split at the first '='; blank lines and comments are skipped; names and values trimmed", () => {
    const lines = parseSecretLines("# comment\n\n db-url = jdbc:postgresql://h/db?a=b&c=d \r\ndb-user=admin");
    assert.deepEqual(lines, [
      { line: 3, typedName: "db-url", value: "jdbc:postgresql://h/db?a=b&c=d" },
      { line: 4, typedName: "db-user", value: "admin" },
    ]);
  });

  it("every bad line is reported at once, by line number and name, never by value", () => {
    const secret = "s3cr3t-value-that-must-not-leak";
    assert.throws(
      () => parseSecretLines(`${secret}\n=${secret}\nempty=\nbig=${"x".repeat(25 * 1024 + 1)}`),
      (error: Error) => {
        assert.match(
          error.message,
          /^secrets: 4 problems: line 1 has no '='.* line 2 has no name.* line 3 \('empty'\).* line 4 \('big'\) has a value of 25601 bytes/,
        );
        assert.ok(!error.message.includes(secret));
        return true;
      },
    );
    assert.doesNotThrow(() => parseSecretLines(`max=${"x".repeat(25 * 1024)}`));
  });

  it("every value of the input is found for masking, also lines without '='", () => {
    assert.deepEqual(valuesToRegister("# c\na=1=2=3=4\nloose-line\n\nb= xyzxyz "), ["1=2=3=4", "loose-line", "xyzxyz"]);
  });

  it("a plain value (under 6 characters: true, a letter, a number) is not registered: the agent would mask it all over the log", () => {
    assert.deepEqual(valuesToRegister("flag=true\nletter=x\nport=8080\nfive=abcde\nsix=abcdef\nno=false"), ["abcdef"]);
  });

  it("an unexpanded macro is not registered as a secret: the error naming the missing variable stays readable", () => {
    assert.deepEqual(valuesToRegister("a=$(dbPassword)\nb=$(db.user)\nc=pre-$(x)"), ["pre-$(x)"]);
  });

  const entry = (typedName: string, line = 1): SecretEntry => ({ line, typedName, name: typedName, value: "v" });

  it("strict keeps valid names and refuses dotted ones with a hint; dashes maps and reports", () => {
    assert.deepEqual(mapSecretNames([entry("db-url")], "strict").changes, []);
    assert.throws(
      () => mapSecretNames([entry("spring.datasource.url", 7)], "strict"),
      /secrets: line 7: 'spring\.datasource\.url' .*nameMapping to 'dashes'/,
    );
    const mapped = mapSecretNames([entry("spring.datasource.url"), entry("DB_USER", 2)], "dashes");
    assert.deepEqual(
      mapped.secrets.map((s) => s.name),
      ["spring-datasource-url", "DB-USER"],
    );
    assert.deepEqual(mapped.changes, [
      { from: "spring.datasource.url", to: "spring-datasource-url" },
      { from: "DB_USER", to: "DB-USER" },
    ]);
    assert.throws(() => mapSecretNames([entry("a b")], "dashes"), /'a b' is not a valid Key Vault secret name/);
  });

  it("two lines with one resulting name (case-insensitively) are refused", () => {
    assert.throws(
      () => mapSecretNames([entry("db.url"), entry("db_url", 2)], "dashes"),
      /line 1 'db\.url', line 2 'db_url' all become the secret 'db-url'/,
    );
    assert.throws(() => mapSecretNames([entry("Db-Url"), entry("db-url", 2)], "strict"), /all become the secret/);
  });

  it("property: dashes yields valid, distinct names or refuses, for any names", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/), { minLength: 1, maxLength: 6 }), (names) => {
        try {
          const { secrets } = mapSecretNames(
            names.map((n, i) => entry(n, i + 1)),
            "dashes",
          );
          assert.ok(secrets.every((s) => SECRET_NAME.test(s.name)));
          assert.equal(new Set(secrets.map((s) => s.name.toLowerCase())).size, secrets.length);
        } catch (error) {
          assert.match((error as Error).message, /^secrets: /);
        }
      }),
    );
  });

  const vault: VaultState = {
    id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
    name: "kv",
    resourceGroupName: "rg",
    vaultUri: "https://kv.vault.azure.net/",
    tenantId: "t",
    model: "accessPolicies",
    resource: { properties: { tenantId: "t", sku: { family: "A", name: "standard" } } } as VaultState["resource"],
    accessPolicies: [
      { tenantId: "t", objectId: "other", permissions: { secrets: ["all"] } },
      { tenantId: "t", objectId: "me", permissions: { keys: ["get"], secrets: ["Get"] } },
      { tenantId: "t", objectId: "me", applicationId: "app", permissions: { secrets: ["list"] } },
    ],
  };

  it("access policy: missing permissions are merged into the principal's own entry; other permissions kept", () => {
    const plan = planAccessPolicy(vault, "ME", "the identity", ["get", "list"]);
    assert.equal(plan.empty, false);
    assert.deepEqual(plan.before, ["Get"]);
    assert.deepEqual(plan.after, ["Get", "list"]);
    assert.deepEqual(plan.entry, { tenantId: "t", objectId: "me", permissions: { keys: ["get"], secrets: ["Get", "list"] } });
  });

  it("access policy: nothing to do when the principal has the permissions (or 'all'); a new principal gets a new entry", () => {
    assert.equal(planAccessPolicy(vault, "me", "x", ["get"]).empty, true);
    assert.equal(planAccessPolicy(vault, "other", "x", ["get", "list", "set"]).empty, true);
    const fresh = planAccessPolicy(vault, "new", "x", ["get", "list"]);
    assert.deepEqual(fresh.entry, { tenantId: "t", objectId: "new", permissions: { secrets: ["get", "list"] } });
  });

  it("secrets: an equal value is never written; a different one is; absent creates; soft-deleted recovers", () => {
    const secret = { ...entry("db-url"), value: "new" };
    assert.equal(planSecret(secret, { state: "present", value: "new" }).action, "unchanged");
    assert.equal(planSecret(secret, { state: "present", value: "old" }).action, "update");
    assert.equal(planSecret(secret, { state: "absent" }).action, "create");
    assert.equal(planSecret(secret, { state: "deleted" }).action, "recover");
  });
});
