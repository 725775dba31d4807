import assert from "node:assert/strict";
import { after, before, describe, it } from "mocha";
import { Fixture, type ConnectionKind } from "../harness/fixture";
import { RecordingProxy } from "../harness/proxy";

/**
 * With `system.debug`, task-lib's getters echo what they read (core/task-lib.ts lists where). Every
 * task runs here in debug mode with each connection scheme, behind a proxy that takes a user name
 * and password, with a secret pipeline variable: the fixture scans every line and every summary of
 * every run for the connection's secrets, the proxy password, the secret value, the tokens the
 * local Azure issued and anything shaped like a JWT.
 */
describe("test/tasks/debug-secrets", () => {
  const RG = "rg-debug";
  const CONNECTIONS: ConnectionKind[] = ["spnKey", "spnCertificate", "managedIdentity", "workloadIdentity"];
  const PROXY_USER = "build-agent";
  const PROXY_PASSWORD = "proxy-password-7c1e9b";
  const SECRET_VALUE = "db-password-value-5f2a";
  let fx: Fixture;
  let proxy: RecordingProxy;
  let count = 0;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0, retryAfterSeconds: 1 });
    proxy = await RecordingProxy.start();
  });
  after(async () => {
    await proxy?.close();
    await fx?.close();
  });

  /** As the agent passes them: the proxy password is a secret variable (agent.proxypassword, secret). */
  const agent = () => ({
    variables: {
      "System.Debug": "true",
      "Agent.ProxyUrl": proxy.url,
      "Agent.ProxyUsername": PROXY_USER,
      // Direct: the vault's data plane (the test proxy only tunnels to loopback addresses) and the
      // managed-identity endpoint, which is plain HTTP on a link-local address on a real agent and
      // which no proxy reaches (the agent's bypass list must name it).
      "Agent.ProxyBypassList": JSON.stringify(["\\.vault\\.azure\\.net", new URL(fx.azure.imdsUrl).host.replace(/\./g, "\\.")]),
    },
    secrets: { "Agent.ProxyPassword": PROXY_PASSWORD, dbPassword: SECRET_VALUE },
  });

  for (const connection of CONNECTIONS) {
    describe(`with a ${connection} connection`, () => {
      it("RestrictApiServer (main and post-job step): system.debug, each connection scheme, a proxy with a password, a secret variable → no secret, token or JWT in any output line or summary", async () => {
        const name = `aks-debug-${++count}`;
        fx.azure.store.addManagedCluster(RG, name, {});
        const job = await fx.runJob("RestrictApiServer", {
          connection,
          inputs: { resourceGroupName: RG, clusterName: name, action: "set", authorizedIpRanges: "203.0.113.0/24" },
          ...agent(),
        });
        fx.assertSucceeded(job.main);
        fx.assertSucceeded(job.post);
      });

      it("EnablePodIdentity: system.debug, each connection scheme, a proxy with a password, a secret variable → no secret, token or JWT in any output line or summary", async () => {
        const name = `aks-debug-${++count}`;
        fx.azure.store.addManagedCluster(RG, name, {});
        const identity = fx.azure.store.addUserAssignedIdentity(RG, `id-debug-${count}`);
        const run = await fx.run("EnablePodIdentity", {
          connection,
          inputs: {
            resourceGroupName: RG,
            clusterName: name,
            identityMode: "workloadIdentity",
            identity: identity.id,
            namespace: "app",
            serviceAccountName: "app",
          },
          ...agent(),
        });
        fx.assertSucceeded(run);
      });

      it("KeyVaultSecrets: system.debug, each connection scheme, a proxy with a password, a secret variable → no secret, token or JWT in any output line or summary", async () => {
        const name = `kv-debug-${++count}`;
        fx.azure.store.addKeyVault(RG, name, {
          accessPolicies: [
            {
              tenantId: fx.azure.tenantId,
              objectId: fx.principalObjectId(connection),
              permissions: { secrets: ["get", "list", "set", "recover"] },
            },
          ],
        });
        const run = await fx.run("KeyVaultSecrets", {
          connection,
          inputs: { resourceGroupName: RG, keyVaultName: name, secrets: `db-password=${SECRET_VALUE}` },
          ...agent(),
        });
        fx.assertSucceeded(run);
        assert.deepEqual(
          fx.azure.store.vaultSecret(name, "db-password")?.properties.versions.map((v) => v.value),
          [SECRET_VALUE],
        );
      });

      it("AssignAksPolicies: system.debug, each connection scheme, a proxy with a password, a secret variable → no secret, token or JWT in any output line or summary", async () => {
        const name = `aks-debug-${++count}`;
        fx.azure.store.addManagedCluster(RG, name, {});
        const run = await fx.run("AssignAksPolicies", {
          connection,
          inputs: { resourceGroupName: RG, clusterName: name, policies: "noPrivilegedContainers", reportCompliance: true },
          ...agent(),
        });
        fx.assertSucceeded(run);
      });
    });
  }

  // Mocha runs a suite's own tests before its nested suites: this one goes in a suite after them.
  describe("afterwards", () => {
    it("all tasks: the agent's proxy password, read without task-lib's echo → sent to the proxy on every tunnel", () => {
      assert.ok(proxy.authorizations.length > 0, "the runs went through the proxy");
      const expected = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString("base64")}`;
      assert.deepEqual(new Set(proxy.authorizations), new Set([expected]));
      assert.ok(fx.secrets.includes(PROXY_PASSWORD) && fx.secrets.includes(SECRET_VALUE), "both were scanned for");
    });
  });
});
