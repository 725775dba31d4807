import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { Fixture, type ConnectionKind } from "../harness/fixture";
import type { StepRun } from "../harness/agent";
import { RecordingProxy } from "../harness/proxy";

describe("test/tasks/restrict-api-server", () => {
  const TASK = "RestrictApiServer";
  const RG = "rg-hardening";
  let fx: Fixture;
  let clusterCount = 0;

  before(async () => {
    // Operations finish on their first poll, one second after the write (Azure-AsyncOperation with Retry-After: 1).
    fx = await Fixture.start({ operationPolls: 0, retryAfterSeconds: 1 });
  });
  after(async () => {
    await fx?.close();
  });

  /** A fresh cluster per test, so tests never see each other's state. */
  function newCluster(properties: Record<string, unknown> = {}): { name: string; id: string } {
    const name = `aks-${++clusterCount}`;
    const cluster = fx.azure.store.addManagedCluster(RG, name, { properties });
    fx.azure.faults.clear();
    fx.azure.clearRequests();
    return { name, id: cluster.id };
  }

  function rangesOf(name: string): string[] {
    const cluster = fx.azure.store.getManagedCluster(RG, name);
    const profile = cluster?.properties?.["apiServerAccessProfile"] as { authorizedIPRanges?: string[] } | undefined;
    return profile?.authorizedIPRanges ?? [];
  }

  function withRanges(ranges: string[]): Record<string, unknown> {
    return { apiServerAccessProfile: { authorizedIPRanges: ranges } };
  }

  function inputs(name: string, extra: Record<string, string | boolean>) {
    return { resourceGroupName: RG, clusterName: name, ...extra };
  }

  const assertSucceeded = (run: StepRun) => fx.assertSucceeded(run);
  const assertFailedBeforeAnyWrite = (run: StepRun, message: RegExp) => fx.assertFailedBeforeAnyWrite(run, message);

  describe("each service connection scheme signs in and sets the ranges", () => {
    for (const connection of ["spnKey", "spnCertificate", "managedIdentity", "workloadIdentity"] as ConnectionKind[]) {
      it(connection, async () => {
        const { name } = newCluster();
        const run = await fx.run(TASK, { connection, inputs: inputs(name, { action: "set", authorizedIpRanges: "203.0.113.0/24" }) });
        assertSucceeded(run);
        assert.deepEqual(rangesOf(name), ["203.0.113.0/24"]);
      });
    }
  });

  it("set: one GET, one conditional PUT, the operation awaited; outputs and summary say what changed", async () => {
    const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
    const eTag = fx.azure.store.getManagedCluster(RG, name)?.["eTag"];
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "set", authorizedIpRanges: "203.0.113.0/24\n198.51.100.7" }) });
    assertSucceeded(run);
    assert.deepEqual(rangesOf(name), ["203.0.113.0/24", "198.51.100.7/32"]);

    const arm = fx
      .armRequests()
      .map((r) => `${r.method} ${r.path.toLowerCase().startsWith(id.toLowerCase()) ? "cluster" : "operation"} ${r.status}`);
    assert.deepEqual(arm.slice(0, 2), ["GET cluster 200", "PUT cluster 200"]);
    assert.ok(
      arm.slice(2).every((line) => line.startsWith("GET operation") || line.startsWith("GET cluster")),
      arm.join("\n"),
    );
    const put = fx.armWrites();
    assert.equal(put.length, 1);
    assert.equal(put[0]!.ifMatch, eTag, "the PUT carries the eTag that was read");
    const body = put[0]!.body as { properties: Record<string, unknown> };
    assert.ok(body.properties["agentPoolProfiles"], "the PUT carries the rest of the cluster unchanged");

    assert.equal(run.outputs.changed, "true");
    assert.equal(run.outputs.authorizedIpRanges, "203.0.113.0/24,198.51.100.7/32");
    assert.equal(run.summaries.length, 1);
    assert.match(run.summaries[0]!, /10\.1\.0\.0\/16/);
    assert.match(run.summaries[0]!, /Added: `203\.0\.113\.0\/24`, `198\.51\.100\.7\/32`/);
    assert.match(run.summaries[0]!, /Removed: `10\.1\.0\.0\/16`/);
  });

  it("add keeps every range it does not own, and every other setting of the cluster", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16", "192.0.2.0/24"]));
    const beforeCluster = fx.azure.store.getManagedCluster(RG, name)!;
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.9, 192.0.2.10" }) });
    assertSucceeded(run);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "192.0.2.0/24", "203.0.113.9/32"]);
    const afterCluster = fx.azure.store.getManagedCluster(RG, name)!;
    for (const key of ["agentPoolProfiles", "networkProfile", "identityProfile", "addonProfiles", "kubernetesVersion", "dnsPrefix"]) {
      assert.deepEqual(afterCluster.properties?.[key], beforeCluster.properties?.[key], `${key} must not change`);
    }
    assert.deepEqual(afterCluster["tags"], beforeCluster["tags"]);
  });

  it("remove takes out only the named ranges", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16", "192.0.2.0/24", "203.0.113.9/32"]));
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "remove", authorizedIpRanges: "192.0.2.0/24" }) });
    assertSucceeded(run);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "203.0.113.9/32"]);
  });

  it("disable clears the list and warns that the API server is open", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16"]));
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "disable" }) });
    assertSucceeded(run);
    assert.deepEqual(rangesOf(name), []);
    assert.ok(
      run.warnings.some((w) => /every address on the internet/.test(w)),
      run.warnings.join("\n"),
    );
    assert.equal(run.outputs.authorizedIpRanges, "");
  });

  it("re-run on a compliant cluster makes no write and reports changed=false", async () => {
    const { name } = newCluster(withRanges(["203.0.113.0/24", "198.51.100.7/32"]));
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "set", authorizedIpRanges: "198.51.100.7, 203.0.113.0/24" }) });
    assertSucceeded(run);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(
      fx.armRequests().map((r) => r.method),
      ["GET"],
    );
    assert.equal(run.outputs.changed, "false");
    assert.match(run.summaries[0]!, /Already compliant/);
  });

  it("dry run prints the plan and writes nothing", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16"]));
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "set", authorizedIpRanges: "203.0.113.0/24", dryRun: true }) });
    assertSucceeded(run);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
    assert.equal(run.outputs.changed, "false");
    assert.match(run.summaries[0]!, /Dry run: nothing written/);
    assert.match(run.summaries[0]!, /203\.0\.113\.0\/24/);
  });

  describe("the agent's IP", () => {
    it("with job scope, the post-job step removes it even when the job failed", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.23";
      const job = await fx.runJob(TASK, {
        inputs: inputs(name, { action: "add", includeAgentIp: true, agentIpScope: "job", agentIpServiceUrl: `${fx.azure.url}/ip` }),
        jobFails: true,
      });
      assertSucceeded(job.main);
      assert.equal(job.main.outputs.agentIp, "198.51.100.23");
      assert.ok(job.main.summaries[0]!.includes("the post-job step removes it"));
      assert.ok(Object.values(job.main.taskVariables).includes("198.51.100.23/32"));
      assertSucceeded(job.post);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
      const puts = fx
        .armWrites()
        .map(
          (r) =>
            (r.body as { properties: { apiServerAccessProfile: { authorizedIPRanges: string[] } } }).properties.apiServerAccessProfile
              .authorizedIPRanges,
        );
      assert.deepEqual(puts, [["10.1.0.0/16", "198.51.100.23/32"], ["10.1.0.0/16"]]);
    });

    it("an IP that was listed before the task ran stays after the job", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16", "198.51.100.24/32"]));
      fx.azure.publicIp = "198.51.100.24";
      const job = await fx.runJob(TASK, {
        inputs: inputs(name, {
          action: "set",
          authorizedIpRanges: "10.1.0.0/16",
          includeAgentIp: true,
          agentIpServiceUrl: `${fx.azure.url}/ip`,
        }),
      });
      assertSucceeded(job.main);
      assertSucceeded(job.post);
      assert.deepEqual(job.main.taskVariables, {});
      assert.deepEqual(fx.armWrites(), []);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "198.51.100.24/32"]);
    });

    it("permanent scope keeps it after the job", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.25";
      const job = await fx.runJob(TASK, {
        inputs: inputs(name, { action: "add", includeAgentIp: true, agentIpScope: "permanent", agentIpServiceUrl: `${fx.azure.url}/ip` }),
      });
      assertSucceeded(job.main);
      assertSucceeded(job.post);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "198.51.100.25/32"]);
    });

    it("a public-IP service that answers something else fails before any write", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "2001:db8::7";
      const run = await fx.run(TASK, {
        inputs: inputs(name, { action: "add", includeAgentIp: true, agentIpServiceUrl: `${fx.azure.url}/ip` }),
      });
      assertFailedBeforeAnyWrite(run, /agentIpServiceUrl: .* answered '2001:db8::7', which is not a public IPv4 address/);
    });
  });

  it("an outside change between read and write is not overwritten: 412, re-read, re-plan, both changes kept", async () => {
    const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.faults.add({ method: "PUT", path: new RegExp(`${name}$`), kind: "delay", delayMs: 400 });
    const running = fx.run(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }) });
    // While the task's PUT is in flight, someone else adds a range.
    await waitFor(() => fx.armWrites().length > 0);
    const current = fx.azure.store.getManagedCluster(RG, name)!;
    (current.properties!["apiServerAccessProfile"] as { authorizedIPRanges: string[] }).authorizedIPRanges.push("192.0.2.0/24");
    fx.azure.store.put(current);
    fx.azure.store.touch(id);
    const run = await running;
    assertSucceeded(run);
    const puts = fx.armWrites();
    assert.deepEqual(
      puts.map((r) => r.status),
      [412, 200],
    );
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "192.0.2.0/24", "203.0.113.0/24"]);
  });

  it("a write that lands but whose answer is lost is reported as a change, and not made twice", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.faults.add({ method: "PUT", path: new RegExp(`${name}$`), kind: "lostResponse" });
    const run = await fx.run(TASK, {
      inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }),
      variables: { "AksHardening.ClusterBusyTimeoutSeconds": "30" },
    });
    assertSucceeded(run);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "203.0.113.0/24"]);
    assert.equal(fx.armWrites().filter((r) => r.status === 200).length, 0, "the change is not written again once it is there");
    assert.equal(run.outputs.changed, "true");
    assert.match(run.summaries[0]!, /Added: `203\.0\.113\.0\/24`/);
  });

  it("a busy cluster (409 OperationNotAllowed) is waited for, then updated", async () => {
    const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.store.startOperation(id, { durationMs: 1500 });
    const run = await fx.run(TASK, {
      inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }),
      variables: { "AksHardening.ClusterBusyTimeoutSeconds": "10" },
    });
    assertSucceeded(run);
    assert.ok(fx.armWrites().some((r) => r.status === 409));
    assert.equal(fx.armWrites().at(-1)!.status, 200);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "203.0.113.0/24"]);
  });

  it("a cluster that stays busy fails with a sentence saying another operation is running", async () => {
    const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.store.startOperation(id, { durationMs: 30_000 });
    const run = await fx.run(TASK, {
      inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }),
      variables: { "AksHardening.ClusterBusyTimeoutSeconds": "2" },
    });
    assert.equal(run.result, "Failed");
    assert.match(run.resultMessage ?? "", /Another operation is still running on managed cluster 'aks-\d+'.*re-run/);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
  });

  it("429 with Retry-After is retried after the time Azure asked for", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.faults.throttle({ method: "GET", path: new RegExp(`${name}$`), retryAfterSeconds: 1 });
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }) });
    assertSucceeded(run);
    const gets = fx.armRequests().filter((r) => r.method === "GET" && r.path.endsWith(name));
    assert.deepEqual(
      gets.slice(0, 2).map((r) => r.status),
      [429, 200],
    );
    assert.ok(gets[1]!.time.getTime() - gets[0]!.time.getTime() >= 950, "the retry waited for Retry-After");
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "203.0.113.0/24"]);
  });

  it("500 and a dropped connection are retried", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.faults.add({
      method: "GET",
      path: new RegExp(`${name}$`),
      kind: "status",
      status: 500,
      body: { error: { code: "InternalServerError", message: "boom" } },
    });
    fx.azure.faults.add({ method: "GET", path: new RegExp(`${name}$`), kind: "reset" });
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }) });
    assertSucceeded(run);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "203.0.113.0/24"]);
  });

  it("a failed long-running operation fails the task with Azure's message", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.faults.failNextOperation(new RegExp(`${name}$`), {
      status: "Failed",
      error: { code: "InvalidAuthorizedIPRanges", message: "The API server could not be reconfigured." },
    });
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }) });
    assert.equal(run.result, "Failed");
    assert.match(
      run.resultMessage ?? "",
      /Azure could not complete the update of managed cluster 'aks-\d+'.*InvalidAuthorizedIPRanges.*could not be reconfigured/,
    );
    fx.assertNoSecretsIn(run);
  });

  it("a missing cluster fails with a sentence naming it", async () => {
    newCluster();
    const run = await fx.run(TASK, { inputs: inputs("aks-missing", { action: "set", authorizedIpRanges: "203.0.113.0/24" }) });
    assertFailedBeforeAnyWrite(run, /Could not read managed cluster 'aks-missing' in resource group 'rg-hardening'.*does not exist/);
  });

  // Input-only mistakes are in the bad-input matrix (test/reliability/bad-inputs.test.ts).
  describe("refused before any write", () => {
    it("a private cluster is refused", async () => {
      const { name } = newCluster({ apiServerAccessProfile: { enablePrivateCluster: true } });
      const run = await fx.run(TASK, { inputs: inputs(name, { action: "set", authorizedIpRanges: "203.0.113.0/24" }) });
      assertFailedBeforeAnyWrite(run, /private cluster/);
    });

    it("a Basic load balancer is refused", async () => {
      const { name } = newCluster({ networkProfile: { loadBalancerSku: "basic" } });
      const run = await fx.run(TASK, { inputs: inputs(name, { action: "set", authorizedIpRanges: "203.0.113.0/24" }) });
      assertFailedBeforeAnyWrite(run, /Basic load balancer/);
    });

    it("a wrong client secret fails sign-in with a sentence, without printing the secret", async () => {
      const { name } = newCluster();
      const connection = fx.connection("spnKey");
      const wrong = "definitely-wrong-secret-value";
      fx.secrets.push(wrong);
      const run = await fx.run(TASK, {
        inputs: inputs(name, { action: "set", authorizedIpRanges: "203.0.113.0/24" }),
        env: {
          [`ENDPOINT_AUTH_PARAMETER_${connection.endpoint.id}_SERVICEPRINCIPALKEY`]: wrong,
          [`ENDPOINT_AUTH_${connection.endpoint.id}`]: JSON.stringify({
            scheme: "ServicePrincipal",
            parameters: { ...connection.endpoint.parameters, serviceprincipalkey: wrong },
          }),
        },
      });
      assertFailedBeforeAnyWrite(run, /Could not sign in with the service connection/);
    });
  });

  async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  describe("the agent's proxy", () => {
    it("token, ARM and public-IP requests go through Agent.ProxyUrl", async () => {
      const proxy = await RecordingProxy.start();
      try {
        const { name } = newCluster(withRanges(["10.1.0.0/16"]));
        fx.azure.publicIp = "198.51.100.26";
        const run = await fx.run(TASK, {
          inputs: inputs(name, { action: "add", includeAgentIp: true, agentIpScope: "permanent", agentIpServiceUrl: `${fx.azure.url}/ip` }),
          variables: { "Agent.ProxyUrl": proxy.url },
        });
        assertSucceeded(run);
        const azureHost = new URL(fx.azure.url).host;
        assert.ok(proxy.tunnels.length >= 3, `tunnels: ${proxy.tunnels.join(", ")}`);
        assert.ok(proxy.tunnels.every((t) => t === azureHost));
      } finally {
        await proxy.close();
      }
    });

    it("hosts on the agent's proxy bypass list are called directly", async () => {
      const proxy = await RecordingProxy.start();
      try {
        const { name } = newCluster(withRanges(["10.1.0.0/16"]));
        const run = await fx.run(TASK, {
          inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }),
          variables: { "Agent.ProxyUrl": proxy.url, "Agent.ProxyBypassList": JSON.stringify(["127\\.0\\.0\\.1"]) },
        });
        assertSucceeded(run);
        assert.deepEqual(proxy.tunnels, []);
      } finally {
        await proxy.close();
      }
    });
  });
  describe("against the public cloud's host names", () => {
    let cloud: Fixture;
    before(async () => {
      cloud = await Fixture.start({ operationPolls: 0, publicCloudHosts: true });
    });
    after(async () => {
      await cloud?.close();
    });

    it("signs in with one token request and no authority metadata, and calls ARM at management.azure.com", async () => {
      const cluster = cloud.azure.store.addManagedCluster(RG, "aks-public", {});
      cloud.azure.clearRequests();
      const run = await cloud.run(TASK, { inputs: inputs("aks-public", { action: "set", authorizedIpRanges: "203.0.113.0/24" }) });
      cloud.assertSucceeded(run);
      const hosts = cloud.azure.requests.map(
        (r) => `${r.method} ${r.host} ${r.path.replace(cluster.id, "{cluster}").replace(/\/operations\/.*/, "/operations/{id}")}`,
      );
      assert.deepEqual(hosts, [
        `POST login.microsoftonline.com /${cloud.azure.tenantId}/oauth2/v2.0/token`,
        "GET management.azure.com {cluster}",
        "PUT management.azure.com {cluster}",
        `GET management.azure.com /subscriptions/${cloud.azure.subscriptionId}/providers/Microsoft.ContainerService/locations/westeurope/operations/{id}`,
        "GET management.azure.com {cluster}",
      ]);
    });
  });
});
