import assert from "node:assert/strict";
import { after, before, describe, it } from "mocha";
import { Fixture, type ConnectionKind } from "../harness/fixture";
import type { StepRun } from "../harness/agent";
import { logAnalyticsWorkspace } from "../../local-azure/index";
import { RecordingProxy } from "../harness/proxy";

/**
 * With `system.debug`, task-lib's getters echo what they read (core/task-lib.ts lists where); with
 * the pipeline variable `DEBUG`, the `debug` package inside the bundles (the proxy agent's) and the
 * Azure SDK's copy of it would print the proxy URL with the password URL-encoded. Every task runs
 * here with both, with each connection scheme, behind a proxy that takes a user name and a password
 * full of URL-special characters, with a secret pipeline variable: the fixture scans every line and
 * every summary of every run for the connection's secrets, the proxy password, the secret value,
 * the tokens the local Azure issued and anything shaped like a JWT, and this file for every form
 * the password takes on the way to a log (URL-encoded either way, in JSON, in base64).
 */
describe("test/tasks/debug-secrets", () => {
  const RG = "rg-debug";
  const CONNECTIONS: ConnectionKind[] = ["spnKey", "spnCertificate", "managedIdentity", "workloadIdentity"];
  const PROXY_USER = "build-agent";
  /** Every character URL encoders treat differently, '%' included (sdkProxyOptions encodes it for the SDK's proxy URL). */
  const PROXY_PASSWORD = "Winter2025!@corp:/?#[]'()*+,;= x~$&%40%zz7c1e9b";
  const SECRET_VALUE = "db-password-value-5f2a";
  let fx: Fixture;
  let proxy: RecordingProxy;
  let count = 0;
  /** An Entra group, for SecureClusterAccess's admins. */
  let adminGroup: string;

  before(async () => {
    fx = await Fixture.start({ operationPolls: 0 });
    fx.azure.store.addResourceGroup(RG, "westeurope");
    adminGroup = fx.azure.store.directory.addUserOrGroup("Group");
    // The proxy finds the API servers where DNS would put them: the local Azure.
    proxy = await RecordingProxy.start({
      route: (host) => (/\.azmk8s\.io$/i.test(host) ? { host: "127.0.0.1", port: fx.azure.httpsPort } : undefined),
    });
  });
  after(async () => {
    await proxy?.close();
    await fx?.close();
  });

  /** The forms the proxy password takes on its way to a log, computed here independently of core/output.ts. */
  function passwordForms(): string[] {
    const component = encodeURIComponent(PROXY_PASSWORD);
    const strict = component.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const userInfo = new URL("http://proxy.example");
    userInfo.username = PROXY_USER;
    userInfo.password = PROXY_PASSWORD;
    const basic = Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString("base64");
    return [
      PROXY_PASSWORD,
      component,
      strict,
      component.toLowerCase(),
      strict.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      userInfo.password,
      JSON.stringify(PROXY_PASSWORD).slice(1, -1),
      basic,
      // The password's own base64 inside `user:password`, without the characters it shares with the user name.
      basic.slice(Math.ceil(((PROXY_USER.length + 1) * 8) / 6), Math.floor(((PROXY_USER.length + 1 + PROXY_PASSWORD.length) * 8) / 6)),
    ];
  }

  /** No form of the proxy password in any line or summary, and nothing of the `debug` package's output. */
  function assertNoFormOfPassword(run: StepRun): void {
    const texts = [...run.lines.filter((line) => !line.startsWith("##vso[task.setsecret]")), ...run.summaries];
    for (const [i, form] of passwordForms().entries()) {
      const at = texts.find((text) => text.includes(form));
      assert.equal(at, undefined, `form #${i + 1} of the proxy password appeared: ${at?.replaceAll(form, "<LEAKED>").slice(0, 200)}`);
    }
    assert.ok(!run.stderr.includes("https-proxy-agent"), "the debug package stays silent");
  }

  /** As the agent passes them: the proxy password is a secret variable (agent.proxypassword, secret); DEBUG is a pipeline variable. */
  const agent = (systemDebug = true) => ({
    variables: {
      ...(systemDebug ? { "System.Debug": "true" } : {}),
      DEBUG: "*",
      "Agent.ProxyUrl": proxy.url,
      "Agent.ProxyUsername": PROXY_USER,
      // Direct: the vault's data plane (the test proxy only tunnels to loopback addresses) and the
      // managed-identity endpoint, which is plain HTTP on a link-local address on a real agent and
      // which no proxy reaches (the agent's bypass list must name it).
      "Agent.ProxyBypassList": JSON.stringify(["\\.vault\\.azure\\.net", new URL(fx.azure.imdsUrl).host.replace(/\./g, "\\.")]),
    },
    secrets: { "Agent.ProxyPassword": PROXY_PASSWORD, dbPassword: SECRET_VALUE },
  });

  /** Each task's run (RestrictApiServer's main and post-job step, opening and closing the agent's IP through the proxy), all succeeded. */
  const TASKS: Record<string, (connection: ConnectionKind, systemDebug: boolean) => Promise<StepRun[]>> = {
    "RestrictApiServer (main and post-job step)": async (connection, systemDebug) => {
      const name = `aks-debug-${++count}`;
      fx.azure.store.addManagedCluster(RG, name, { properties: { apiServerAccessProfile: { authorizedIPRanges: ["10.1.0.0/16"] } } });
      const job = await fx.runJob("RestrictApiServer", {
        connection,
        inputs: {
          resourceGroupName: RG,
          clusterName: name,
          action: "add",
          authorizedIpRanges: "192.0.2.0/24",
          includeAgentIp: true,
          agentIpServiceUrl: `${fx.azure.url}/ip`,
        },
        ...agent(systemDebug),
      });
      assert.ok(
        job.post.summaries.some((summary) => /Closed job-scoped access/.test(summary)),
        "the post-job step closed the agent's IP",
      );
      return [job.main, job.post];
    },
    EnablePodIdentity: async (connection, systemDebug) => {
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
        ...agent(systemDebug),
      });
      return [run];
    },
    KeyVaultSecrets: async (connection, systemDebug) => {
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
        ...agent(systemDebug),
      });
      assert.deepEqual(
        fx.azure.store.vaultSecret(name, "db-password")?.properties.versions.map((v) => v.value),
        [SECRET_VALUE],
      );
      return [run];
    },
    AssignAksPolicies: async (connection, systemDebug) => {
      const name = `aks-debug-${++count}`;
      fx.azure.store.addManagedCluster(RG, name, {});
      const run = await fx.run("AssignAksPolicies", {
        connection,
        inputs: { resourceGroupName: RG, clusterName: name, policies: "noPrivilegedContainers", reportCompliance: true },
        ...agent(systemDebug),
      });
      return [run];
    },
    "SecureClusterAccess (proving its own grant at the API server through the proxy)": async (connection, systemDebug) => {
      const name = `aks-debug-${++count}`;
      fx.azure.store.addManagedCluster(RG, name, {});
      const run = await fx.run("SecureClusterAccess", {
        connection,
        inputs: {
          resourceGroupName: RG,
          clusterName: name,
          adminGroupObjectIds: adminGroup,
          clusterRoleGrants: "serviceConnection writer todo",
        },
        ...agent(systemDebug),
        variables: { ...agent(systemDebug).variables, "AksHardening.RoleAssignmentWaitSeconds": "5" },
      });
      assert.match(run.summaries[0] ?? "", /Proved: the API server allows the service connection/);
      return [run];
    },
    ConfigureAutoUpgrade: async (connection, systemDebug) => {
      const name = `aks-debug-${++count}`;
      fx.azure.store.addManagedCluster(RG, name, {});
      const run = await fx.run("ConfigureAutoUpgrade", {
        connection,
        inputs: { resourceGroupName: RG, clusterName: name, maintenanceWindow: "weekly Sunday 01:00 4h +00:00" },
        ...agent(systemDebug),
      });
      return [run];
    },
    EnableDefender: async (connection, systemDebug) => {
      const name = `aks-debug-${++count}`;
      fx.azure.store.addManagedCluster(RG, name, {});
      const workspace = fx.azure.store.put(
        logAnalyticsWorkspace({
          subscriptionId: fx.azure.subscriptionId,
          resourceGroup: RG,
          name: `log-debug-${count}`,
          location: "westeurope",
        }),
      );
      const run = await fx.run("EnableDefender", {
        connection,
        inputs: { resourceGroupName: RG, clusterName: name, logAnalyticsWorkspaceId: workspace.id },
        ...agent(systemDebug),
      });
      return [run];
    },
    AksHardeningReport: async (connection, systemDebug) => {
      const name = `aks-debug-${++count}`;
      fx.azure.store.addManagedCluster(RG, name, {});
      const run = await fx.run("AksHardeningReport", {
        connection,
        inputs: { resourceGroupName: RG, clusterName: name },
        ...agent(systemDebug),
      });
      return [run];
    },
  };

  for (const connection of CONNECTIONS) {
    describe(`with a ${connection} connection`, () => {
      for (const [task, runTask] of Object.entries(TASKS)) {
        it(`${task}: system.debug and DEBUG=*, each connection scheme, a proxy password full of URL-special characters, a secret variable → no secret, token, JWT or form of the password (raw, URL-encoded either way, JSON, base64) in any output line or summary`, async () => {
          for (const run of await runTask(connection, true)) {
            fx.assertSucceeded(run);
            assertNoFormOfPassword(run);
            assert.ok(
              run.lines.some((line) => line.startsWith("##vso[task.debug]")),
              "with system.debug, task-lib's debug lines are there",
            );
          }
        });
      }
    });
  }

  describe("without system.debug", () => {
    for (const [task, runTask] of Object.entries(TASKS)) {
      it(`${task}: DEBUG=* alone, a proxy password full of URL-special characters → no form of the password in any output line or summary; the debug package silent; no debug line, as the agent shows none without system.debug`, async () => {
        for (const run of await runTask("spnKey", false)) {
          fx.assertSucceeded(run);
          assertNoFormOfPassword(run);
          assert.deepEqual(
            run.lines.filter((line) => line.startsWith("##vso[task.debug]")),
            [],
          );
        }
      });
    }
  });

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
