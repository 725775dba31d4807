import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { startLocalAzure, type LocalAzure } from "../../local-azure/index";
import type { ServiceConnection } from "../../core/connection";
import { envName } from "../harness/agent";
import { QUICK_WAITS } from "../harness/fixture";

describe("test/integration/roles", () => {
  let azure: LocalAzure;
  let connection: ServiceConnection;

  before(async () => {
    azure = await startLocalAzure();
    const sp = { clientId: randomUUID(), clientSecret: randomUUID() };
    azure.addServicePrincipal(sp);
    connection = {
      id: randomUUID(),
      scheme: "ServicePrincipal",
      subscriptionId: azure.subscriptionId,
      tenantId: azure.tenantId,
      armUrl: azure.url,
      authorityHost: azure.url,
      armScope: `${azure.armAudience}/.default`,
      clientId: sp.clientId,
      clientSecret: sp.clientSecret,
      requestTimeoutMs: 30_000,
    };
  });
  after(() => azure?.close());

  const quickWaitsEnv = Object.fromEntries(Object.entries(QUICK_WAITS).map(([name, value]) => [envName(name), value]));

  function check(input: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        process.execPath,
        ["--import", "tsx", path.join(__dirname, "../support/roles-check.ts")],
        // The pipeline variables every packaged-task run gets from the harness: the replication delay is waited out at 10 ms.
        { env: { ...process.env, ...quickWaitsEnv, NODE_EXTRA_CA_CERTS: azure.caCertPath } },
        (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout.split("\nRESULT ").pop()!) as Record<string, unknown>)),
      );
      child.stdin!.end(JSON.stringify(input));
    });
  }

  it("identity lookup and an idempotent role assignment, through the real SDKs", async () => {
    const identity = azure.store.addUserAssignedIdentity("rg-ids", "id-app");
    const scope = azure.store.addResourceGroup("rg-target").id;
    const result = await check({ connection, identity: { resourceGroupName: "rg-ids", name: "id-app" }, scope });
    assert.equal(result.error, undefined, String(result.error));
    assert.equal((result.identity as { principalId: string }).principalId, identity.properties!["principalId"]);
    assert.equal(result.firstEmpty, false);
    assert.equal(result.created, "created");
    assert.equal(result.secondEmpty, true);
    assert.match(String(result.missing), /Could not read user-assigned managed identity 'id-missing'.*does not exist/);
    const puts = azure.requests.filter((r) => r.method === "PUT");
    assert.equal(puts.length, 1);
    assert.equal(puts[0]!.path, `${scope}/providers/Microsoft.Authorization/roleAssignments/${String(result.assignmentName)}`);
    assert.deepEqual((puts[0]!.body as { properties: { principalType: string } }).properties.principalType, "ServicePrincipal");
  });

  it("an equal assignment under another name (409 RoleAssignmentExists) and a replication delay (PrincipalNotFound) both end in success", async () => {
    const identity = azure.store.addUserAssignedIdentity("rg-ids", "id-other");
    const scope = azure.store.addResourceGroup("rg-target-2").id;
    // Someone assigned Reader already, under a random name; the list is made to miss it, as during ARM's read lag.
    azure.store.put({
      id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
      name: "other",
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        scope,
        principalId: identity.properties!["principalId"],
        roleDefinitionId: `/subscriptions/${azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`,
      },
    });
    azure.faults.add({ method: "GET", path: /roleAssignments$/, kind: "status", status: 200, body: { value: [] } });
    azure.faults.add({
      method: "PUT",
      path: /roleAssignments\//,
      kind: "status",
      status: 400,
      body: { error: { code: "PrincipalNotFound", message: "Principal does not exist in the directory." } },
    });
    azure.clearRequests();
    const result = await check({ connection, identity: { resourceGroupName: "rg-ids", name: "id-other" }, scope });
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.created, "existed");
    assert.deepEqual(
      azure.requests.filter((r) => r.method === "PUT").map((r) => r.status),
      [400, 409],
    );
  });
});
