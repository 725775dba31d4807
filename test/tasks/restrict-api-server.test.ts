import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import * as path from "node:path";
import { holdLinkName, holdNotes, type Hold } from "../../core/job-scoped-access/ledger";
import { resourceLink, RESOURCE_LINK_TYPE } from "../../local-azure/index";
import { Fixture, OWNER_ROLE, PRODUCT_WAITS, type ConnectionKind } from "../harness/fixture";
import { runStep, type StepRun } from "../harness/agent";
import { RecordingProxy } from "../harness/proxy";
import { assertSpeaksConditionally } from "../harness/wording";

describe("test/tasks/restrict-api-server", () => {
  const TASK = "RestrictApiServer";
  const RG = "rg-hardening";
  let fx: Fixture;
  let clusterCount = 0;

  before(async () => {
    // Operations finish on their first poll, one second after the write (Azure-AsyncOperation with Retry-After: 1).
    fx = await Fixture.start({ operationPolls: 0 });
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

  function tagsOf(name: string): Record<string, string> {
    return (fx.azure.store.getManagedCluster(RG, name)?.["tags"] as Record<string, string> | undefined) ?? {};
  }

  function setTags(name: string, tags: Record<string, string>): void {
    fx.azure.store.put({ ...fx.azure.store.getManagedCluster(RG, name)!, tags });
  }

  /** The cluster's job-scoped access holds: resource links on it. */
  function holdsOf(name: string): { name: string; notes: string }[] {
    const id = fx.azure.store.getManagedCluster(RG, name)!.id.toLowerCase();
    return fx.azure.store
      .listByType(RESOURCE_LINK_TYPE)
      .filter((link) => String(link.properties?.["sourceId"]).toLowerCase() === id)
      .map((link) => ({ name: link.name, notes: String(link.properties?.["notes"] ?? "") }));
  }

  /** A hold as a run of this extension records it (someone with Microsoft.Resources/links/write on the cluster). */
  function plantHold(name: string, hold: Hold): void {
    const id = fx.azure.store.getManagedCluster(RG, name)!.id;
    fx.azure.store.put(resourceLink({ sourceId: id, name: holdLinkName(hold), targetId: id, notes: holdNotes(hold) }));
  }

  function fqdnOf(name: string): string {
    return String(fx.azure.store.getManagedCluster(RG, name)?.properties?.["fqdn"]);
  }

  function agentInputs(name: string, extra: Record<string, string | boolean> = {}) {
    return inputs(name, { action: "add", includeAgentIp: true, agentIpScope: "job", agentIpServiceUrl: `${fx.azure.url}/ip`, ...extra });
  }

  /** A blocked probe gets no answer; a short per-probe limit keeps such tests quick (their outcome does not depend on it). */
  const QUICK_PROBES = { "AksHardening.ApiServerProbeTimeoutSeconds": "0.2" };

  /** The post-job step alone, as the agent runs it after the job: the main step's task variables and the job's status. */
  async function postJob(
    name: string,
    main: StepRun,
    options: { variables?: Record<string, string>; jobStatus?: string; env?: Record<string, string> } = {},
  ): Promise<StepRun> {
    const stepOptions = fx.stepOptions({
      inputs: agentInputs(name),
      ...(options.variables ? { variables: options.variables } : {}),
      env: { AGENT_JOBSTATUS: options.jobStatus ?? "Succeeded", ...options.env },
    });
    const run = await runStep(path.join(fx.taskDir(TASK), "post.js"), { ...stepOptions, taskVariables: main.taskVariables });
    fx.assertNoSecretsIn(run);
    fx.assertExitCodeAgrees(run);
    return run;
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

  it("set: the cluster and its holds read together, the permissions list, one conditional PUT, the operation awaited; outputs and summary say what changed, and a warning names the range it took off", async () => {
    const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
    const eTag = fx.azure.store.getManagedCluster(RG, name)?.["eTag"];
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "set", authorizedIpRanges: "203.0.113.0/24\n198.51.100.7" }) });
    assertSucceeded(run);
    assert.deepEqual(rangesOf(name), ["203.0.113.0/24", "198.51.100.7/32"]);

    const arm = fx
      .armRequests()
      .map(
        (r) =>
          `${r.method} ${r.path.endsWith("/providers/Microsoft.Resources/links") ? "holds" : r.path.endsWith("/providers/Microsoft.Authorization/permissions") ? "permissions" : r.path.toLowerCase().startsWith(id.toLowerCase()) ? "cluster" : "operation"} ${r.status}`,
      );
    assert.deepEqual(arm.slice(0, 2).sort(), ["GET cluster 200", "GET holds 200"], "the cluster and its holds read together");
    assert.deepEqual(
      arm.slice(2, 4),
      ["GET permissions 200", "PUT cluster 200"],
      "then the permissions list at the cluster, the one scope written (core/permissions.ts), then one PUT",
    );
    assert.ok(
      arm.slice(4).every((line) => line.startsWith("GET operation") || line.startsWith("GET cluster")),
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
    const taken =
      /Action 'set' keeps only the ranges in authorizedIpRanges, and takes every other range off .*: 10\.1\.0\.0\/16 is not listed\./;
    assert.ok(
      run.warnings.some((w) => taken.test(w)),
      run.warnings.join("\n"),
    );
    assert.match(run.summaries[0]!, taken);
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
      fx
        .armRequests()
        .map((r) => `${r.method} ${r.path.endsWith("/links") ? "holds" : "cluster"}`)
        .sort(),
      ["GET cluster", "GET holds"],
      "one round trip: the cluster and its holds, read together",
    );
    assert.equal(run.outputs.changed, "false");
    assert.match(run.summaries[0]!, /Already compliant/);
  });

  it("dry run prints the plan and writes nothing; without action ('set', the default) it names each range a run would take off", async () => {
    const { name } = newCluster(withRanges(["10.1.0.0/16", "192.0.2.0/24"]));
    const run = await fx.run(TASK, { inputs: inputs(name, { authorizedIpRanges: "203.0.113.0/24", dryRun: true }) });
    assertSucceeded(run);
    assert.deepEqual(fx.armWrites(), []);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "192.0.2.0/24"]);
    assert.equal(run.outputs.changed, "false");
    assertSpeaksConditionally(run);
    assert.match(run.summaries[0]!, /203\.0\.113\.0\/24/);
    const taken =
      /Action 'set' keeps only the ranges in authorizedIpRanges, .*: 10\.1\.0\.0\/16, 192\.0\.2\.0\/24 are not listed\. Use action 'add' to keep ranges you do not list/;
    assert.ok(
      run.warnings.some((w) => taken.test(w)),
      run.warnings.join("\n"),
    );
    assert.match(run.summaries[0]!, taken);
  });

  describe("the agent's IP", () => {
    it("with job scope, the post-job step removes it even when the job failed; its hold is a resource link and no tag is written", async () => {
      const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
      setTags(name, { owner: "team-a", costCenter: "4711" });
      fx.azure.publicIp = "198.51.100.23";
      const job = await fx.runJob(TASK, { inputs: agentInputs(name), jobFails: true });
      assertSucceeded(job.main);
      assert.equal(job.main.outputs.agentIp, "198.51.100.23");
      assert.equal(job.main.outputs.jobScopedAccess, "198.51.100.23/32");
      assert.equal(job.main.outputs.changed, "false", "job-scoped access is not a lasting change");
      assert.match(
        job.main.summaries[0]!,
        /`198\.51\.100\.23\/32` \(this agent\) opened for this job, closed by the post-job step \(4 lookups of .*, each over its own connection, saw one address: 198\.51\.100\.23 \(4×\)\)/,
      );
      assert.match(job.main.summaries[0]!, /Lasting configuration unchanged/);
      assertSucceeded(job.post);
      assert.match(job.post.summaries[0]!, /Closed job-scoped access: 198\.51\.100\.23\/32/);
      assert.match(job.post.summaries[0]!, /Closed: `198\.51\.100\.23\/32` \(opened for this job\)/);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
      assert.deepEqual(
        fx.armWrites().map((r) => `${r.method} ${r.path.startsWith(`${id}/providers/Microsoft.Resources/links/`) ? "hold" : "cluster"}`),
        ["PUT hold", "PUT cluster", "PUT hold", "PUT cluster", "DELETE hold"],
        "main: hold, then list; post-job: hold released, list, hold deleted",
      );
      const puts = fx
        .armWrites()
        .filter((r) => r.method === "PUT" && !r.path.includes("/links/"))
        .map((r) => r.body as { tags: Record<string, string>; properties: { apiServerAccessProfile: { authorizedIPRanges: string[] } } });
      assert.deepEqual(
        puts.map((body) => body.properties.apiServerAccessProfile.authorizedIPRanges),
        [["10.1.0.0/16", "198.51.100.23/32"], ["10.1.0.0/16"]],
      );
      for (const body of puts)
        assert.deepEqual(body.tags, { owner: "team-a", costCenter: "4711" }, "no tag to fan out to the node resource group");
      assert.deepEqual(holdsOf(name), [], "the hold is gone with the address");
      assert.deepEqual(tagsOf(name), { owner: "team-a", costCenter: "4711" });
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

  describe("the agent's public IP is untrusted input", () => {
    const refused: [string, RegExp][] = [
      ["0.0.0.0", /cluster's own outbound IP/],
      ["10.1.2.3", /private address \(RFC 1918\)/],
      ["172.31.255.254", /private address \(RFC 1918\)/],
      ["192.168.0.1", /private address \(RFC 1918\)/],
      ["127.0.0.1", /loopback/],
      ["169.254.169.254", /link-local/],
      ["100.64.0.1", /carrier-grade NAT/],
      ["224.0.0.251", /multicast/],
      ["255.255.255.255", /broadcast/],
      ["240.0.0.1", /reserved/],
    ];
    for (const [answer, what] of refused) {
      it(`an IP service answering '${answer}' is refused before any write, naming agentIpServiceUrl`, async () => {
        const { name } = newCluster(withRanges(["10.1.0.0/16"]));
        fx.azure.publicIp = answer;
        const run = await fx.run(TASK, { inputs: agentInputs(name) });
        assertFailedBeforeAnyWrite(run, new RegExp(`^agentIpServiceUrl: .* answered '${answer.replace(/\./g, "\\.")}', .*${what.source}`));
        assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
      });
    }

    it("an answer longer than a few hundred bytes is refused without being read to the end", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = `203.0.113.10\n${"x".repeat(100_000)}`;
      const run = await fx.run(TASK, { inputs: agentInputs(name) });
      assertFailedBeforeAnyWrite(run, /agentIpServiceUrl\): .* answered more than 256 bytes/);
      assert.ok(!run.stdout.includes("x".repeat(300)), "the answer is not echoed");
    });

    it("an http:// service URL is refused before any request", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      const run = await fx.run(TASK, { inputs: agentInputs(name, { agentIpServiceUrl: `${fx.azure.url.replace("https:", "http:")}/ip` }) });
      assertFailedBeforeAnyWrite(run, /^agentIpServiceUrl: .* must be an https URL/);
      assert.deepEqual(
        fx.azure.requests.filter((r) => r.path === "/ip"),
        [],
      );
    });
  });

  describe("the job-scoped IP always closes", () => {
    it("a post-job step that meets a cluster busy past its wait fails naming the CIDR, the cluster and the az command; the next run from this agent closes it", async () => {
      const { name, id } = newCluster(withRanges(["10.1.0.0/16", "192.0.2.0/24"]));
      fx.azure.publicIp = "198.51.100.31";
      const main = await fx.run(TASK, { inputs: agentInputs(name) });
      assertSucceeded(main);
      // Someone starts an upgrade that outlasts the post-job step's wait.
      const upgrade = fx.azure.store.startOperation(id);
      const post = await postJob(name, main, { variables: { "AksHardening.ClusterBusyTimeoutSeconds": "0.04" } });
      assert.equal(post.result, "Failed");
      const message = post.resultMessage ?? "";
      assert.match(
        message,
        /198\.51\.100\.31\/32 stays authorized on the API server of managed cluster 'aks-\d+' in resource group 'rg-hardening'/,
      );
      assert.match(message, /Another operation is still running/);
      assert.ok(
        message.includes(`az aks update --resource-group ${RG} --name ${name} --api-server-authorized-ip-ranges 10.1.0.0/16,192.0.2.0/24`),
        message,
      );
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "192.0.2.0/24", "198.51.100.31/32"]);
      assert.match(
        holdsOf(name)
          .map((hold) => hold.notes)
          .join("\n"),
        /198\.51\.100\.31\/32 agent=[0-9a-f]{8} job=[0-9a-f]{8} until=\S+ released$/,
        "the hold stays, released, so the next run knows the address is job-scoped and its job is over",
      );

      upgrade.pending.release();
      fx.azure.clearRequests();
      const next = await fx.runJob(TASK, { inputs: agentInputs(name) });
      assertSucceeded(next.main);
      assertSucceeded(next.post);
      assert.equal(next.main.outputs.jobScopedAccess, "198.51.100.31/32", "not mistaken for an address authorized on purpose");
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "192.0.2.0/24"]);
      assert.deepEqual(holdsOf(name), []);
    });

    it("a post-job step that cannot sign in (the credential expired) fails with an az command that reads the list and drops the CIDR", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.37";
      const main = await fx.run(TASK, { inputs: agentInputs(name) });
      assertSucceeded(main);
      const connection = fx.connection("spnKey");
      const revoked = "revoked-secret-of-the-job";
      fx.secrets.push(revoked);
      const post = await postJob(name, main, {
        env: {
          [`ENDPOINT_AUTH_PARAMETER_${connection.endpoint.id}_SERVICEPRINCIPALKEY`]: revoked,
          [`ENDPOINT_AUTH_${connection.endpoint.id}`]: JSON.stringify({
            scheme: "ServicePrincipal",
            parameters: { ...connection.endpoint.parameters, serviceprincipalkey: revoked },
          }),
        },
      });
      assert.equal(post.result, "Failed");
      const message = post.resultMessage ?? "";
      assert.match(message, /198\.51\.100\.37\/32 stays authorized on the API server of managed cluster/);
      assert.match(message, /Could not sign in with the service connection/);
      assert.ok(
        message.includes(
          `az aks update --resource-group ${RG} --name ${name} --api-server-authorized-ip-ranges "$(az aks show --resource-group ${RG} --name ${name} --query "join(',', apiServerAccessProfile.authorizedIpRanges[?@ != '198.51.100.37/32'])" --output tsv)"`,
        ),
        message,
      );
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "198.51.100.37/32"]);
    });

    it("a job-scoped IP another agent left behind (its job's timeout passed) is closed by the next run's own write", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16", "192.0.2.77/32"]));
      plantHold(name, {
        address: "192.0.2.77/32",
        agent: "cccc0003",
        job: "33330003",
        until: new Date("2020-01-01T00:00Z"),
        released: false,
      });
      const job = await fx.runJob(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }) });
      assertSucceeded(job.main);
      assert.equal(job.main.outputs.changed, "true");
      assert.match(
        job.main.summaries[0]!,
        /Closed: `192\.0\.2\.77\/32` \(left behind by an earlier job: its job's timeout passed at 2020-01-01T00:00Z\)/,
      );
      assert.equal(
        fx.armWrites().filter((r) => r.method === "PUT" && !r.path.includes("/links/")).length,
        1,
        "one cluster write adds the range and closes the address",
      );
      assertSucceeded(job.post);
      assert.match(job.post.stdout, /opened no job-scoped access; nothing to close/);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "203.0.113.0/24"]);
      assert.deepEqual(holdsOf(name), []);
    });

    it("a job cancelled while it waits for the API server still has its IP closed by the post-job step", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.32";
      fx.azure.apiServers.propagationProbes = Infinity;
      try {
        const fqdn = fqdnOf(name).toLowerCase();
        const blocked = waitFor(() => (fx.azure.apiServers.blocked.get(fqdn) ?? 0) > 0);
        const main = await runStep(path.join(fx.taskDir(TASK), "index.js"), {
          ...fx.stepOptions({ inputs: agentInputs(name), variables: QUICK_PROBES }),
          cancel: blocked,
        });
        fx.assertNoSecretsIn(main);
        assert.equal(main.result, undefined, "the main step was stopped before it finished");
        assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "198.51.100.32/32"]);
        const post = await postJob(name, main, { jobStatus: "Canceled" });
        assertSucceeded(post);
        assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
        assert.deepEqual(holdsOf(name), []);
      } finally {
        fx.azure.apiServers.propagationProbes = 0;
      }
    });

    it("two concurrent jobs from the same agent IP share it: it stays until the last of them ends", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.33";
      const agentA = { "Agent.Id": "11", "Agent.Name": "agent-a" };
      const agentB = { "Agent.Id": "12", "Agent.Name": "agent-b" };
      const [mainA, mainB] = await Promise.all([
        fx.run(TASK, { inputs: agentInputs(name), variables: agentA }),
        fx.run(TASK, { inputs: agentInputs(name), variables: agentB }),
      ]);
      assertSucceeded(mainA);
      assertSucceeded(mainB);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "198.51.100.33/32"], "listed once");
      assert.equal(holdsOf(name).length, 2, "one hold per job");
      assert.ok(
        [mainA, mainB].some((run) =>
          /another running job .* holds it too, so it stays until the last of these jobs ends/.test(run.summaries[0]!),
        ),
        "the job that joined says so",
      );

      const postA = await postJob(name, mainA, { variables: agentA });
      assertSucceeded(postA);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "198.51.100.33/32"], "job B still needs it");
      assert.match(postA.summaries[0]!, /Kept: `198\.51\.100\.33\/32`, another running job .* still holds it/);

      const postB = await postJob(name, mainB, { variables: agentB });
      assertSucceeded(postB);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
      assert.deepEqual(holdsOf(name), []);
    });
  });

  describe("hosted agents leave from more than one address", () => {
    it("an agent whose connections alternate between two addresses gets both opened; the API server answers it consistently; both close after the job", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.egressAddresses = ["198.51.100.41", "198.51.100.42"];
      try {
        const job = await fx.runJob(TASK, { inputs: agentInputs(name), variables: QUICK_PROBES });
        assertSucceeded(job.main);
        assert.equal(job.main.outputs.agentIp, "198.51.100.41,198.51.100.42");
        assert.equal(job.main.outputs.jobScopedAccess, "198.51.100.41/32,198.51.100.42/32");
        assert.match(
          job.main.summaries[0]!,
          /`198\.51\.100\.41\/32`, `198\.51\.100\.42\/32` \(this agent\) opened for this job, closed by the post-job step \(4 lookups of .*, each over its own connection, saw 2 addresses: 198\.51\.100\.41 \(2×\), 198\.51\.100\.42 \(2×\)\)/,
        );
        assert.match(job.main.stdout, /admits this agent: 3 probes in a row, each over a new connection/);
        assert.equal(fx.azure.apiServers.blocked.get(fqdnOf(name).toLowerCase()), undefined, "no connection was dropped");
        assertSucceeded(job.post);
        assert.match(job.post.summaries[0]!, /Closed job-scoped access: 198\.51\.100\.41\/32, 198\.51\.100\.42\/32/);
        assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
        assert.deepEqual(holdsOf(name), []);
      } finally {
        fx.azure.publicIp = "203.0.113.10";
      }
    });

    it("one lookup finds one of two addresses: the wait does not end on a lucky connection, and fails saying the agent leaves from another", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.egressAddresses = ["198.51.100.43", "198.51.100.44"];
      try {
        const job = await fx.runJob(TASK, {
          inputs: agentInputs(name, { waitForApiServerSeconds: "1" }),
          variables: { ...QUICK_PROBES, "AksHardening.AgentIpLookups": "1" },
        });
        assert.equal(job.main.result, "Failed");
        assert.match(
          job.main.resultMessage ?? "",
          /198\.51\.100\.43\/32 is authorized on managed cluster .*, but its API server .* answered only \d+ of \d+ connections .*also leaves from an address that was not found.*AksHardening\.AgentIpLookups/,
        );
        assertSucceeded(job.post);
        assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
      } finally {
        fx.azure.publicIp = "203.0.113.10";
      }
    });
  });

  describe("authorized ranges take effect late", () => {
    it("after opening the API server to the agent, the task waits until the API server answers it, and says how long", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.34";
      fx.azure.apiServers.propagationProbes = 2;
      try {
        const run = await fx.run(TASK, { inputs: agentInputs(name, { agentIpScope: "permanent" }), variables: QUICK_PROBES });
        assertSucceeded(run);
        assert.equal(fx.azure.apiServers.blocked.get(fqdnOf(name).toLowerCase()), 2);
        assert.match(run.stdout, new RegExp(`Waiting for the API server ${fqdnOf(name).replace(/\./g, "\\.")} to admit this agent`));
        assert.match(
          run.stdout,
          /admitted this agent after \d+(\.\d+)? (ms|s) \(5 probes; the last 3 in a row, each over a new connection; HTTP 401\)/,
        );
      } finally {
        fx.azure.apiServers.propagationProbes = 0;
      }
    });

    it("an API server that never admits the agent fails the step with a sentence saying the IP is authorized but not yet effective", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.35";
      fx.azure.apiServers.propagationProbes = Infinity;
      try {
        const job = await fx.runJob(TASK, { inputs: agentInputs(name, { waitForApiServerSeconds: "1" }), variables: QUICK_PROBES });
        assert.equal(job.main.result, "Failed");
        assert.match(
          job.main.resultMessage ?? "",
          /The agent's IP 198\.51\.100\.35\/32 is authorized on managed cluster 'aks-\d+' .*, but not yet effective: its API server .* did not answer this agent within 1 s/,
        );
        assertSucceeded(job.post);
        assert.deepEqual(rangesOf(name), ["10.1.0.0/16"], "the post-job step still closes it");
      } finally {
        fx.azure.apiServers.propagationProbes = 0;
      }
    });

    it("an FQDN from Azure that is not a host name is neither probed nor echoed", async () => {
      const { name } = newCluster({ ...withRanges(["10.1.0.0/16"]), fqdn: "##vso[task.setvariable variable=hijacked]yes" });
      fx.azure.publicIp = "198.51.100.38";
      const run = await fx.run(TASK, { inputs: agentInputs(name, { agentIpScope: "permanent" }) });
      assertSucceeded(run);
      assert.ok(
        run.warnings.some((w) => /reports no usable API server FQDN/.test(w)),
        run.warnings.join("\n"),
      );
      assert.ok(!run.commands.some((c) => c.properties.variable === "hijacked"));
      assert.ok(!run.stdout.includes("hijacked"));
    });

    it("waitForApiServerSeconds 0 goes on without probing", async () => {
      const { name } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.36";
      fx.azure.apiServers.propagationProbes = Infinity;
      try {
        const run = await fx.run(TASK, { inputs: agentInputs(name, { agentIpScope: "permanent", waitForApiServerSeconds: "0" }) });
        assertSucceeded(run);
        assert.equal(fx.azure.apiServers.blocked.get(fqdnOf(name).toLowerCase()), undefined);
      } finally {
        fx.azure.apiServers.propagationProbes = 0;
      }
    });
  });

  it("an outside change between read and write is not overwritten: 412, re-read, re-plan, both changes kept", async () => {
    const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
    // Between the task's read and its write, someone else adds a range.
    fx.azure.faults.add({
      method: "PUT",
      path: new RegExp(`${name}$`),
      kind: "pass",
      onMatch: () => {
        const current = fx.azure.store.getManagedCluster(RG, name)!;
        (current.properties!["apiServerAccessProfile"] as { authorizedIPRanges: string[] }).authorizedIPRanges.push("192.0.2.0/24");
        fx.azure.store.put(current);
        fx.azure.store.touch(id);
      },
    });
    const run = await fx.run(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }) });
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
    fx.azure.store.startOperation(id, { refusals: 2 });
    const run = await fx.run(TASK, {
      inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }),
      // The product's own pace, which this test is about: a tenth of the budget, at least 0.5 s.
      variables: { ...PRODUCT_WAITS, "AksHardening.ClusterBusyTimeoutSeconds": "5" },
    });
    assertSucceeded(run);
    // Two refusals, each followed by a 0.5 s wait (a tenth of the budget) and a fresh read.
    assert.deepEqual(
      fx.armWrites().map((r) => r.status),
      [409, 409, 200],
    );
    assert.equal(run.stdout.match(/Another operation is running on managed cluster .*; trying again in 500 ms\./g)?.length, 2);
    assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "203.0.113.0/24"]);
  });

  it("a cluster that stays busy fails with a sentence saying another operation is running", async () => {
    const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
    fx.azure.store.startOperation(id);
    const run = await fx.run(TASK, {
      inputs: inputs(name, { action: "add", authorizedIpRanges: "203.0.113.0/24" }),
      variables: { "AksHardening.ClusterBusyTimeoutSeconds": "0.04" },
    });
    assert.equal(run.result, "Failed");
    assert.match(
      run.resultMessage ?? "",
      /Another operation is still running on managed cluster 'aks-\d+' in resource group 'rg-hardening' after waiting 40 ms;.*re-run/,
    );
    assert.equal(
      fx.armWrites().length,
      5,
      "40 ms of waiting 10 ms apart (QUICK_WAITS): the first try and four more, however slow the machine",
    );
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

  describe("a service connection whose role lacks an action", () => {
    const without = (action: string) => [{ actions: ["*"], notActions: [action], dataActions: [], notDataActions: [] }];

    it("without Microsoft.Resources/links/write: the dry run says in the conditional what it would open and that a real run would be refused; the real run is refused before its hold or the list is written, and leaves its post-job step nothing to close", async () => {
      const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.61";
      fx.giveRole("spnKey", without("Microsoft.Resources/links/write"));
      try {
        const missing = `'Microsoft\\.Resources/links/write' on ${id} \\(to record this job's access for 198\\.51\\.100\\.61/32 \\(a resource link\\); Contributor or Owner has it\\)`;
        const dry = await fx.run(TASK, { inputs: agentInputs(name, { dryRun: true }) });
        assertSucceeded(dry);
        assertSpeaksConditionally(dry);
        assert.match(dry.summaries[0]!, /`198\.51\.100\.61\/32` \(this agent\) would be opened for this job/);
        assert.ok(
          dry.warnings.some((w) => new RegExp(`^A real run would be refused before its first write: .*${missing}`).test(w)),
          dry.warnings.join("\n"),
        );
        assert.deepEqual(dry.taskVariables, {});

        const refused = await fx.run(TASK, { inputs: agentInputs(name) });
        assertFailedBeforeAnyWrite(refused, new RegExp(`lacks a permission this run needs: ${missing}\\. .* Nothing was written\\.$`));
        assert.deepEqual(refused.taskVariables, {}, "its post-job step has nothing to close");
        assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
        assert.deepEqual(
          fx.permissionReads().map((r) => r.path),
          [`${id}/providers/Microsoft.Authorization/permissions`, `${id}/providers/Microsoft.Authorization/permissions`],
          "one list a run, at the cluster: the hold, the list and the holds deleted are all written there",
        );
      } finally {
        fx.giveRole("spnKey", OWNER_ROLE);
      }
    });

    it("a post-job step whose role lost managedClusters/write lets go of its hold, does not try the write Azure would refuse, and fails naming the permission, the address that stays open and the az command; the next run closes it", async () => {
      const { name, id } = newCluster(withRanges(["10.1.0.0/16"]));
      fx.azure.publicIp = "198.51.100.62";
      const main = await fx.run(TASK, { inputs: agentInputs(name) });
      assertSucceeded(main);
      fx.azure.clearRequests();
      fx.giveRole("spnKey", without("Microsoft.ContainerService/managedClusters/write"));
      let post: StepRun;
      try {
        post = await postJob(name, main);
      } finally {
        fx.giveRole("spnKey", OWNER_ROLE);
      }
      assert.equal(post.result, "Failed");
      const message = post.resultMessage ?? "";
      assert.match(
        message,
        /^The post-job step could not close the job-scoped access: 198\.51\.100\.62\/32 stays authorized on the API server of managed cluster/,
      );
      assert.match(
        message,
        new RegExp(
          `lacks a permission this run needs: 'Microsoft\\.ContainerService/managedClusters/write' on ${id} \\(to take 198\\.51\\.100\\.62/32 off the API server's authorized IP ranges; Contributor or Owner has it\\)`,
        ),
      );
      assert.match(
        message,
        /Its hold \(a resource link on the cluster\) is released, so the next run of this task on this cluster closes it/,
      );
      assert.ok(
        message.includes(`az aks update --resource-group ${RG} --name ${name} --api-server-authorized-ip-ranges 10.1.0.0/16`),
        message,
      );
      assert.deepEqual(
        fx.armWrites().map((r) => `${r.method} ${r.path.includes("/links/") ? "hold" : "cluster"}`),
        ["PUT hold"],
        "the hold released; no cluster write",
      );
      assert.match(holdsOf(name)[0]!.notes, / released$/);
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16", "198.51.100.62/32"]);

      const next = await fx.run(TASK, { inputs: inputs(name, { action: "add", authorizedIpRanges: "10.1.0.0/16" }) });
      assertSucceeded(next);
      assert.match(
        next.summaries[0]!,
        /Closed: `198\.51\.100\.62\/32` \(left behind by an earlier job: its post-job step let go of it but did not close it\)/,
      );
      assert.deepEqual(rangesOf(name), ["10.1.0.0/16"]);
      assert.deepEqual(holdsOf(name), []);
    });
  });

  describe("the agent's proxy", () => {
    it("token, ARM, public-IP and API server probe requests go through Agent.ProxyUrl", async () => {
      // The proxy finds the API server where DNS would put it: the local Azure.
      const proxy = await RecordingProxy.start({
        route: (host) => (/\.azmk8s\.io$/.test(host) ? { host: "127.0.0.1", port: fx.azure.httpsPort } : undefined),
      });
      try {
        const { name } = newCluster(withRanges(["10.1.0.0/16"]));
        fx.azure.publicIp = "198.51.100.26";
        const run = await fx.run(TASK, {
          inputs: inputs(name, { action: "add", includeAgentIp: true, agentIpScope: "permanent", agentIpServiceUrl: `${fx.azure.url}/ip` }),
          variables: { "Agent.ProxyUrl": proxy.url },
        });
        assertSucceeded(run);
        const azureHost = new URL(fx.azure.url).host;
        assert.ok(proxy.tunnels.filter((t) => t === azureHost).length >= 3, `tunnels: ${proxy.tunnels.join(", ")}`);
        assert.ok(proxy.tunnels.includes(`${fqdnOf(name)}:443`), "the API server probe goes through the proxy too");
        assert.ok(proxy.tunnels.every((t) => t === azureHost || t === `${fqdnOf(name)}:443`));
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
      assert.deepEqual(hosts.slice(1, 3).sort(), [
        "GET management.azure.com {cluster}",
        "GET management.azure.com {cluster}/providers/Microsoft.Resources/links",
      ]);
      assert.deepEqual(
        [hosts[0], ...hosts.slice(3)],
        [
          `POST login.microsoftonline.com /${cloud.azure.tenantId}/oauth2/v2.0/token`,
          "GET management.azure.com {cluster}/providers/Microsoft.Authorization/permissions",
          "PUT management.azure.com {cluster}",
          `GET management.azure.com /subscriptions/${cloud.azure.subscriptionId}/providers/Microsoft.ContainerService/locations/westeurope/operations/{id}`,
          "GET management.azure.com {cluster}",
        ],
      );
    });
  });

  /** Resolves once `condition` holds, checked every 10 ms; mocha's timeout is the only bound. */
  async function waitFor(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
  }
});
