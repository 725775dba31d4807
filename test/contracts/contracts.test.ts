import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture } from "../harness/fixture";
import { checkTraffic, sentByTheTasks, type ContractFinding } from "../harness/contracts";
import type { RecordedExchange } from "../../local-azure/index";

/**
 * The contract check itself: one packaged KeyVaultSecrets run (ARM and the Key Vault data plane, a
 * request body and answers) is recorded, found on spec, and then copies of its exchanges with one
 * error injected each must be caught, naming the operation, the side and where.
 */
describe("test/contracts: the REST spec check catches what is off spec", () => {
  const RG = "rg-contracts";
  const VAULT = "kv-contracts";
  const SECRET = `s3cret-${randomUUID()}`;
  let fx: Fixture;
  let recorded: RecordedExchange[];

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.secrets.push(SECRET);
    fx.azure.store.addKeyVault(RG, VAULT, {
      enableRbacAuthorization: false,
      accessPolicies: [
        { tenantId: fx.azure.tenantId, objectId: fx.principalObjectId(), permissions: { secrets: ["get", "list", "set", "recover"] } },
      ],
    });
    const identity = fx.azure.store.addUserAssignedIdentity(RG, "id-contracts");
    const run = await fx.run("KeyVaultSecrets", {
      inputs: { keyVaultName: VAULT, grantTo: String(identity.properties?.["principalId"]), secrets: `db-password=${SECRET}` },
      secrets: { dbPassword: SECRET },
    });
    fx.assertSucceeded(run);
    recorded = structuredClone([...fx.azure.traffic]);
  });
  after(async () => {
    await fx?.close();
  });

  /** The recorded exchange of an operation, as the task sent it (its first, when it sent several). */
  function exchangeOf(method: string, path: RegExp): RecordedExchange {
    const found = recorded.find((e) => sentByTheTasks(e) && e.method === method && path.test(new URL(e.url).pathname));
    assert.ok(found, `no recorded ${method} ${path}`);
    return found;
  }

  /** A copy of the exchange with its request or response body changed, checked alone. */
  async function findingsAfter(
    exchange: RecordedExchange,
    side: "request" | "response",
    change: (body: Record<string, unknown>) => void,
  ): Promise<ContractFinding[]> {
    const copy = structuredClone(exchange);
    const holder = side === "request" ? copy.request : copy.response;
    assert.ok(holder?.body, `the recorded ${side} has a body`);
    const body = JSON.parse(holder.body) as Record<string, unknown>;
    change(body);
    holder.body = JSON.stringify(body);
    return (await checkTraffic([copy])).findings;
  }

  const accessPolicyPut = () => exchangeOf("PUT", /\/accessPolicies\/add$/);
  const vaultGet = () => exchangeOf("GET", /\/providers\/Microsoft\.KeyVault\/vaults\/kv-contracts$/);
  const secretSet = () => exchangeOf("PUT", /^\/secrets\/db-password$/);

  it("the recorded run is on spec: every exchange the task's clients sent matches an operation, the Key Vault data plane included", async () => {
    const check = await checkTraffic(recorded);
    assert.deepEqual(check.findings, []);
    const operations = new Set(check.checked.map((c) => c.operationId));
    for (const operation of ["Vaults_ListBySubscription", "Vaults_UpdateAccessPolicy", "GetSecret", "SetSecret"]) {
      assert.ok(operations.has(operation), `${operation} was checked (checked: ${[...operations].join(", ")})`);
    }
    assert.ok(
      check.checked.every((c) => sentByTheTasks(c.exchange)),
      "only the tasks' own requests are checked (sign-in is Entra's, not a REST spec's)",
    );
  });

  it("a required property missing from a request is caught", async () => {
    const findings = await findingsAfter(accessPolicyPut(), "request", (body) => {
      delete ((body["properties"] as { accessPolicies: Record<string, unknown>[] }).accessPolicies[0] as Record<string, unknown>)[
        "objectId"
      ];
    });
    assert.deepEqual(
      findings.map((f) => [f.operationId, f.side, f.code, f.where]),
      [["Vaults_UpdateAccessPolicy", "request", "OBJECT_MISSING_REQUIRED_PROPERTY", "/properties/accessPolicies/0/objectId"]],
    );
  });

  it("a value outside a closed enum is caught", async () => {
    const findings = await findingsAfter(vaultGet(), "response", (body) => {
      ((body["properties"] as Record<string, unknown>)["sku"] as Record<string, unknown>)["name"] = "gold";
    });
    assert.deepEqual(
      findings.map((f) => [f.operationId, f.side, f.code, f.where]),
      [["Vaults_Get", "response", "ENUM_MISMATCH", "/properties/sku/name"]],
    );
  });

  it("an enum value in the wrong case is caught, even in an open (modelAsString) enum", async () => {
    const findings = await findingsAfter(vaultGet(), "response", (body) => {
      ((body["properties"] as Record<string, unknown>)["networkAcls"] as Record<string, unknown> | undefined) ??= {};
      ((body["properties"] as Record<string, unknown>)["networkAcls"] as Record<string, unknown>)["defaultAction"] = "deny";
    });
    assert.deepEqual(
      findings.map((f) => [f.operationId, f.code, f.where]),
      [["Vaults_Get", "ENUM_CASE_MISMATCH", "/properties/networkAcls/defaultAction"]],
    );
  });

  it("a value of the wrong type is caught on the Key Vault data plane (which oav leaves out by default)", async () => {
    const findings = await findingsAfter(secretSet(), "response", (body) => {
      (body["attributes"] as Record<string, unknown>)["enabled"] = "yes";
    });
    assert.deepEqual(
      findings.map((f) => [f.operationId, f.side, f.code, f.where]),
      [["SetSecret", "response", "INVALID_TYPE", "/attributes/enabled"]],
    );
  });

  it("a property the spec does not have is caught", async () => {
    const findings = await findingsAfter(vaultGet(), "response", (body) => {
      (body["properties"] as Record<string, unknown>)["legacyFirewall"] = true;
    });
    assert.deepEqual(
      findings.map((f) => [f.operationId, f.code, f.where]),
      [["Vaults_Get", "OBJECT_ADDITIONAL_PROPERTIES", "/properties/legacyFirewall"]],
    );
  });

  it("a read-only property sent in a request is caught", async () => {
    const findings = await findingsAfter(accessPolicyPut(), "request", (body) => {
      body["id"] =
        `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/${VAULT}/accessPolicies/add`;
    });
    assert.deepEqual(
      findings.map((f) => [f.operationId, f.side, f.code, f.where]),
      [["Vaults_UpdateAccessPolicy", "request", "READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST", "/id"]],
    );
  });

  it("a request that matches no operation of its api-version fails instead of passing unchecked", async () => {
    const copy = structuredClone(vaultGet());
    copy.url = copy.url.replace("api-version=2026-02-01", "api-version=2019-09-01");
    const elsewhere = structuredClone(secretSet());
    elsewhere.url = elsewhere.url.replace("/secrets/db-password", "/storage/db-password");
    const findings = (await checkTraffic([copy, elsewhere])).findings;
    assert.deepEqual(
      findings.map((f) => [f.side, f.code.startsWith("OPERATION_NOT_FOUND")]),
      [
        ["match", true],
        ["match", true],
      ],
    );
  });

  it("a path that names no provider (a resource group, ResourceGroups_Get) is matched to its operation and its answer checked", async () => {
    const group = structuredClone(vaultGet());
    const url = new URL(group.url);
    url.pathname = url.pathname.replace(/\/providers\/.*$/, "");
    url.searchParams.set("api-version", "2021-04-01");
    group.url = url.toString();
    group.response!.body = JSON.stringify(fx.azure.store.getResourceGroup(RG));
    const withKind = structuredClone(group);
    withKind.response!.body = JSON.stringify({ ...fx.azure.store.getResourceGroup(RG), kind: "a" });
    const check = await checkTraffic([group, withKind]);
    assert.deepEqual(
      check.checked.map((c) => c.operationId),
      ["ResourceGroups_Get", "ResourceGroups_Get"],
    );
    assert.deepEqual(
      check.findings.map((f) => [f.side, f.code, f.where]),
      [["response", "OBJECT_ADDITIONAL_PROPERTIES", "/kind"]],
    );
  });

  it("a request to a cluster's API server is out of scope by its host, whatever its path; the same request at an Azure host still fails", async () => {
    const SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    const atApiServer = structuredClone(secretSet());
    const apiServer = "aks-contracts-1a2b3c4d.hcp.westeurope.azmk8s.io";
    atApiServer.url = `https://${apiServer}${SSAR}`;
    atApiServer.host = apiServer;
    delete atApiServer.route;
    const atVault = structuredClone(secretSet());
    atVault.url = `https://${atVault.host}${SSAR}`;
    delete atVault.route;
    const check = await checkTraffic([atApiServer, atVault]);
    assert.deepEqual(
      check.checked.map((c) => c.exchange.host),
      [atVault.host],
    );
    assert.deepEqual(
      check.findings.map((f) => [f.label, f.side, f.code.startsWith("OPERATION_NOT_FOUND")]),
      [[`PUT ${SSAR}`, "match", true]],
    );
  });

  it("the fixture fails a file whose traffic is off spec, and the failure never shows a secret", async () => {
    const copy = structuredClone(vaultGet());
    const body = JSON.parse(copy.response!.body!) as { properties: { sku: { name: string } } };
    body.properties.sku.name = SECRET;
    copy.response!.body = JSON.stringify(body);
    const traffic = fx.azure.traffic as RecordedExchange[];
    traffic.push(copy);
    try {
      await assert.rejects(fx.assertTrafficOnSpec(), (err: Error) => {
        assert.match(err.message, /\(Vaults_Get\) response 200: ENUM_MISMATCH at \/properties\/sku\/name/);
        assert.ok(!err.message.includes(SECRET), "the secret is masked in the failure");
        return true;
      });
    } finally {
      traffic.splice(traffic.indexOf(copy), 1);
    }
  });

  it("a known difference covers only its own departure: the same change elsewhere is still caught", async () => {
    // backendPoolType in lower camel case is tolerated on a managed cluster (known-differences.ts), not on a vault.
    const findings = await findingsAfter(vaultGet(), "response", (body) => {
      ((body["properties"] as Record<string, unknown>)["sku"] as Record<string, unknown>)["family"] = "a";
    });
    assert.deepEqual(
      findings.map((f) => [f.code, f.where]),
      [["ENUM_CASE_MISMATCH", "/properties/sku/family"]],
    );
  });
});
