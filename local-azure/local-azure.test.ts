import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "mocha";
import { promisify } from "node:util";
import { generate } from "selfsigned";
import { addCustomRole, assignRole, OWNER_ROLE, Pending, REQUEST_LOG_PATH, startLocalAzure } from "./index";
import type { LocalAzure } from "./index";
import { rawCall, type RawAnswer } from "./test-support/raw-call";
import type { SdkCheckInput, SdkCheckOutput } from "./test-support/sdk-checks";

describe("local-azure/local-azure", () => {
  const execFileAsync = promisify(execFile);

  type Response = RawAnswer;

  /** In-process raw HTTP(S) calls that trust the local Azure's certificate explicitly. */
  function call(
    az: LocalAzure,
    method: string,
    url: string,
    p: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<Response> {
    return rawCall(url, { method, ...p, ca: readFileSync(az.caCertPath) });
  }

  /** An ARM call with a bearer token and a JSON body. */
  function armCall(
    az: LocalAzure,
    token: string,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return call(az, method, url, {
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function armToken(az: LocalAzure, clientId: string, clientSecret: string, scope = `${az.armAudience}/.default`): Promise<string> {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
      scope,
    }).toString();
    const res = await call(az, "POST", `${az.url}/${az.tenantId}/oauth2/v2.0/token`, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    assert.equal(res.status, 200, res.text);
    return res.json.access_token as string;
  }

  describe("local Azure", () => {
    let az: LocalAzure;
    let token: string;
    const sp = { clientId: "11111111-2222-3333-4444-555555555555", clientSecret: "local-secret-value" };
    const clusterUrl = (rg: string, name: string) =>
      `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${name}?api-version=2026-06-01`;
    const arm = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
      armCall(az, token, method, url, body, headers);

    before(async () => {
      az = await startLocalAzure();
      az.addServicePrincipal(sp);
      token = await armToken(az, sp.clientId, sp.clientSecret);
    });
    after(() => az.close());

    it("a policy assignment that modifies resources needs an identity (ResourceIdentityRequired), alone or through an initiative, and gets a principal with one", async () => {
      const cluster = az.store.addManagedCluster("rg-pol", "aks-pol");
      const modify = az.store.addPolicyDefinition("tag-clusters", {
        parameters: { effect: { type: "String", allowedValues: ["Modify", "Disabled"], defaultValue: "Modify" } },
        policyRule: {
          if: { field: "type", equals: "Microsoft.ContainerService/managedClusters" },
          then: { effect: "[parameters('effect')]" },
        },
      });
      const initiative = az.store.addPolicyDefinition("tags", {
        parameters: { mode: { type: "String", defaultValue: "DeployIfNotExists" } },
        policyDefinitions: [{ policyDefinitionId: modify.id, parameters: { effect: { value: "[parameters('mode')]" } } }],
      });
      const assign = (name: string, body: unknown) =>
        arm("PUT", `${az.url}${cluster.id}/providers/Microsoft.Authorization/policyAssignments/${name}?api-version=2025-03-01`, body);
      const refused = await assign("no-identity", { properties: { policyDefinitionId: modify.id } });
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json.error.code, "ResourceIdentityRequired");
      assert.match(
        refused.json.error.message,
        /Policy assignments must include a resource identity when assigning 'Modify' policy definitions\./,
      );
      const throughInitiative = await assign("set-no-identity", { properties: { policyDefinitionId: initiative.id } });
      assert.match(throughInitiative.json.error.message, /'DeployIfNotExists' policy definitions/);
      // Disabled modifies nothing: no identity needed.
      assert.equal(
        (await assign("disabled", { properties: { policyDefinitionId: modify.id, parameters: { effect: { value: "Disabled" } } } })).status,
        201,
      );
      const created = await assign("with-identity", {
        location: "westeurope",
        identity: { type: "SystemAssigned" },
        properties: { policyDefinitionId: modify.id },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.identity.type, "SystemAssigned");
      assert.match(created.json.identity.principalId, /^[0-9a-f-]{36}$/);
      assert.equal(created.json.identity.tenantId, az.tenantId);
      const updated = await assign("with-identity", {
        location: "westeurope",
        identity: { type: "SystemAssigned" },
        properties: { policyDefinitionId: modify.id },
      });
      assert.equal(updated.json.identity.principalId, created.json.identity.principalId, "the identity is kept on update");
    });

    it("the real credentials get ARM tokens and the container service SDK GETs, PUTs with If-Match, waits for the LRO and sees 412, 409 and a retried 429", async () => {
      const pems = await generate([{ name: "commonName", value: "aks-hardening-sp" }], { keySize: 2048, algorithm: "sha256" });
      const certificateClient = { clientId: "c0c0c0c0-0000-4000-8000-000000000001", certificatePem: `${pems.private}\n${pems.cert}` };
      az.addServicePrincipal({ clientId: certificateClient.clientId, certificatePem: pems.cert });
      const federatedClient = {
        clientId: "fed0fed0-0000-4000-8000-000000000002",
        serviceConnectionId: "0f0e0d0c-0b0a-4908-8706-050403020100",
        systemAccessToken: az.adoOidc.systemAccessToken,
      };
      az.addServicePrincipal({ clientId: federatedClient.clientId });
      az.addFederatedCredential({
        clientId: federatedClient.clientId,
        issuer: az.adoOidc.issuer,
        subject: az.adoOidc.subjectFor(federatedClient.serviceConnectionId),
      });

      az.store.addManagedCluster("rg-sdk", "aks1");
      const busy = az.store.addManagedCluster("rg-sdk", "aks-busy");
      az.store.startOperation(busy.id);
      az.store.addManagedCluster("rg-sdk", "aks-throttled");
      az.faults.throttle({ method: "GET", path: /managedClusters\/aks-throttled$/i, retryAfterSeconds: 1 });
      az.clearRequests();

      const input: SdkCheckInput = {
        url: az.url,
        tenantId: az.tenantId,
        subscriptionId: az.subscriptionId,
        armAudience: az.armAudience,
        secretClient: sp,
        certificateClient,
        federatedClient,
        resourceGroup: "rg-sdk",
        cluster: "aks1",
        busyCluster: "aks-busy",
        throttledCluster: "aks-throttled",
      };
      const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", join(__dirname, "test-support", "sdk-checks.ts")], {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: az.caCertPath,
          AZURE_POD_IDENTITY_AUTHORITY_HOST: az.imdsUrl,
          SYSTEM_OIDCREQUESTURI: az.adoOidc.requestUri,
          LOCAL_AZURE_CHECK: JSON.stringify(input),
        },
        timeout: 60_000,
      });
      const out = JSON.parse(stdout) as SdkCheckOutput;

      for (const name of ["clientSecret", "clientCertificate", "managedIdentity", "azurePipelines"]) {
        assert.deepEqual(out.tokens[name], { ok: true, audience: az.armAudience }, `${name}: ${JSON.stringify(out.tokens[name])}`);
      }
      assert.match(out.wrongSecret ?? "", /AADSTS7000215/);
      assert.ok(out.getETag);
      assert.equal(out.putProvisioningState, "Succeeded");
      assert.deepEqual(out.putAuthorizedIpRanges, ["198.51.100.0/24"]);
      assert.notEqual(out.afterPutETag, out.getETag);
      assert.deepEqual(out.staleIfMatch && { status: out.staleIfMatch.status, code: out.staleIfMatch.code }, {
        status: 412,
        code: "PreconditionFailed",
      });
      assert.equal(out.busy?.status, 409);
      assert.equal(out.busy?.code, "OperationNotAllowed");
      assert.match(out.busy?.message ?? "", /in progress update managed cluster operation/);
      assert.equal(out.throttledName, "aks-throttled");
      assert.deepEqual(az.store.getManagedCluster("rg-sdk", "aks1")?.properties?.["apiServerAccessProfile"], {
        authorizedIPRanges: ["198.51.100.0/24"],
      });

      const log = az.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
      const cluster = `/subscriptions/${az.subscriptionId}/resourceGroups/rg-sdk/providers/Microsoft.ContainerService/managedClusters`;
      const opPath = /^GET \/subscriptions\/[^/]+\/providers\/Microsoft\.ContainerService\/locations\/westeurope\/operations\/[^/ ]+ 200$/;
      const armCalls = log.filter((l) => l.includes("/subscriptions/"));
      assert.equal(armCalls[0], `GET ${cluster}/aks1 200`);
      assert.equal(armCalls[1], `PUT ${cluster}/aks1 200`);
      assert.match(armCalls[2] ?? "", opPath);
      assert.match(armCalls[3] ?? "", opPath);
      assert.equal(armCalls[4], `GET ${cluster}/aks1 200`);
      assert.equal(armCalls[5], `PUT ${cluster}/aks1 412`);
      assert.equal(armCalls[6], `GET ${cluster}/aks-busy 200`);
      assert.equal(armCalls[7], `PUT ${cluster}/aks-busy 409`);
      assert.deepEqual(armCalls.slice(8), [`GET ${cluster}/aks-throttled 429`, `GET ${cluster}/aks-throttled 200`]);
      const put = az.requests.find((r) => r.method === "PUT");
      assert.equal(put?.apiVersion, "2026-04-01");
      assert.equal(put?.ifMatch, out.getETag);
      assert.ok(log.includes(`GET /${az.tenantId}/v2.0/.well-known/openid-configuration 200`));
      assert.ok(log.some((l) => /^POST \/local-org\/.+\/oidctoken 200$/.test(l)));
      // MSAL normalizes the IMDS URL with a trailing slash.
      assert.ok(log.includes("GET /metadata/identity/oauth2/token/ 200"), log.join("\n"));
      const tokenBodies = az.requests.filter((r) => r.path.endsWith("/oauth2/v2.0/token")).map((r) => r.body);
      for (const body of tokenBodies) assert.deepEqual(Object.keys(body as object).sort(), ["client_id", "grant_type", "scope"]);
      assert.ok(!JSON.stringify(az.requests).includes(sp.clientSecret), "the request log never holds a secret");
    });

    it("ARM refuses a request without a bearer token with 401 and a challenge naming the authority", async () => {
      az.store.addResourceGroup("rg-auth");
      const res = await call(az, "GET", `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/rg-auth?api-version=2021-04-01`);
      assert.equal(res.status, 401);
      assert.equal(res.json.error.code, "AuthenticationFailed");
      assert.match(String(res.headers["www-authenticate"]), new RegExp(`^Bearer authorization_uri="${az.url}/${az.tenantId}"`));
      assert.ok(res.headers["x-ms-request-id"]);
      const ok = await arm("GET", `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/rg-auth?api-version=2021-04-01`);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json, {
        id: `/subscriptions/${az.subscriptionId}/resourceGroups/rg-auth`,
        name: "rg-auth",
        type: "Microsoft.Resources/resourceGroups",
        location: "westeurope",
        properties: { provisioningState: "Succeeded" },
      });
    });

    it("a missing cluster is 404 ResourceNotFound in ARM wording; ids are case-insensitive", async () => {
      az.store.addManagedCluster("rg-case", "AksCase");
      const missing = await arm("GET", clusterUrl("rg-case", "nope"));
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error.code, "ResourceNotFound");
      assert.match(
        missing.json.error.message,
        /The Resource 'Microsoft\.ContainerService\/managedClusters\/nope' under resource group 'rg-case' was not found/,
      );
      const found = await arm(
        "GET",
        clusterUrl("RG-CASE", "akscase").replace("/providers/Microsoft.ContainerService/", "/providers/microsoft.containerservice/"),
      );
      assert.equal(found.status, 200);
      assert.equal(found.json.name, "AksCase");
    });

    it("an outside change between GET and PUT makes the old If-Match fail with 412", async () => {
      const cluster = az.store.addManagedCluster("rg-etag", "aks");
      az.store.touch(cluster.id);
      const res = await arm("PUT", clusterUrl("rg-etag", "aks"), cluster, { "if-match": String(cluster["eTag"]) });
      assert.equal(res.status, 412);
      assert.equal(res.json.error.code, "PreconditionFailed");
    });

    it("a PUT is long-running: InProgress for the configured polls, then the new state is visible", async () => {
      const cluster = az.store.addManagedCluster("rg-lro", "aks");
      const desired = {
        ...cluster,
        properties: { ...cluster.properties, apiServerAccessProfile: { authorizedIPRanges: ["203.0.113.0/24"] } },
      };
      const put = await arm("PUT", clusterUrl("rg-lro", "aks"), desired);
      assert.equal(put.status, 200);
      assert.equal(put.json.properties.provisioningState, "Updating");
      assert.equal(put.headers["retry-after"], "1");
      const operation = String(put.headers["azure-asyncoperation"]);
      assert.match(
        operation,
        new RegExp(
          `^${az.url}/subscriptions/${az.subscriptionId}/providers/Microsoft.ContainerService/locations/westeurope/operations/[0-9a-f-]+\\?api-version=2026-06-01$`,
        ),
      );
      const during = await arm("GET", clusterUrl("rg-lro", "aks"));
      assert.equal(during.json.properties.provisioningState, "Updating");
      assert.equal(during.json.properties.apiServerAccessProfile, undefined);
      const first = await arm("GET", operation);
      assert.equal(first.json.status, "InProgress");
      const second = await arm("GET", operation);
      assert.equal(second.json.status, "Succeeded");
      assert.ok(second.json.startTime && second.json.endTime);
      const afterwards = await arm("GET", clusterUrl("rg-lro", "aks"));
      assert.equal(afterwards.json.properties.provisioningState, "Succeeded");
      assert.deepEqual(afterwards.json.properties.apiServerAccessProfile, { authorizedIPRanges: ["203.0.113.0/24"] });
      assert.equal(afterwards.json.properties.fqdn, cluster.properties?.["fqdn"], "read-only fields survive the PUT");
    });

    it("an injected LRO failure ends the operation Failed with its error and leaves the previous spec", async () => {
      const cluster = az.store.addManagedCluster("rg-fail", "aks");
      az.faults.failNextOperation(/rg-fail\/providers\/Microsoft.ContainerService\/managedClusters\/aks$/i, {
        status: "Failed",
        error: { code: "ReconcileError", message: "Reconciling the API server failed." },
      });
      const put = await arm("PUT", clusterUrl("rg-fail", "aks"), {
        ...cluster,
        properties: { ...cluster.properties, apiServerAccessProfile: { authorizedIPRanges: ["192.0.2.0/24"] } },
      });
      const operation = String(put.headers["azure-asyncoperation"]);
      await arm("GET", operation);
      const final = await arm("GET", operation);
      assert.deepEqual(
        { status: final.json.status, error: final.json.error },
        { status: "Failed", error: { code: "ReconcileError", message: "Reconciling the API server failed." } },
      );
      const state = az.store.getManagedCluster("rg-fail", "aks");
      assert.equal(state?.properties?.["provisioningState"], "Failed");
      assert.equal(state?.properties?.["apiServerAccessProfile"], undefined);
    });

    it("authorized IP ranges AKS would refuse are 400: bad CIDR, host bits, more than 200, 0.0.0.0/32 with another range", async () => {
      const cluster = az.store.addManagedCluster("rg-ranges", "aks");
      const withRanges = (ranges: string[]) => ({
        ...cluster,
        properties: { ...cluster.properties, apiServerAccessProfile: { authorizedIPRanges: ranges } },
      });
      for (const ranges of [
        ["10.0.0.0/33"],
        ["not-an-ip"],
        ["192.0.2.1/24"],
        Array.from({ length: 201 }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`),
        ["0.0.0.0/32", "203.0.113.0/24"],
      ]) {
        const res = await arm("PUT", clusterUrl("rg-ranges", "aks"), withRanges(ranges));
        assert.equal(res.status, 400, ranges.slice(0, 1).join());
        assert.equal(res.json.error.code, "InvalidParameter");
      }
      const outboundOnly = await arm("PUT", clusterUrl("rg-ranges", "aks"), withRanges(["203.0.113.0/24", "0.0.0.0/32"]));
      assert.equal(
        outboundOnly.json.error.message,
        "Setting apiServerAuthorizedIPRange to 0.0.0.0/32 is not allowed with other IP ranges. Refer to https://aka.ms/aks/auth-ip-ranges for more details",
      );
      assert.equal(az.store.activeOperation(cluster.id), undefined, "a refused PUT starts no operation");
    });

    it("a busy cluster refuses writes with 409 OperationNotAllowed as often as the test says, then its operation is over", async () => {
      const cluster = az.store.addManagedCluster("rg-busy", "aks");
      const other = az.store.startOperation(cluster.id, { refusals: 2 });
      const read = await arm("GET", clusterUrl("rg-busy", "aks"));
      assert.equal(read.json.properties.provisioningState, "Updating");
      for (const _ of [1, 2]) {
        const refused = await arm("PUT", clusterUrl("rg-busy", "aks"), read.json);
        assert.equal(refused.status, 409);
        assert.equal(refused.json.error.code, "OperationNotAllowed");
        assert.match(
          refused.json.error.message,
          new RegExp(`in progress update managed cluster operation \\(operation ID: ${other.id}\\)`),
        );
      }
      assert.equal(az.store.activeOperation(cluster.id), undefined);
      const done = await arm("GET", clusterUrl("rg-busy", "aks"));
      assert.equal(done.json.properties.provisioningState, "Succeeded");
      assert.notEqual(done.json.eTag, read.json.eTag, "the other operation changed the cluster");
      assert.equal((await arm("PUT", clusterUrl("rg-busy", "aks"), done.json, { "if-match": done.json.eTag })).status, 200);
    });

    it("a busy spell without a count lasts until the test releases it", async () => {
      const cluster = az.store.addManagedCluster("rg-busy-release", "aks");
      const other = az.store.startOperation(cluster.id);
      for (const _ of [1, 2, 3]) assert.equal((await arm("PUT", clusterUrl("rg-busy-release", "aks"), cluster)).status, 409);
      other.pending.release();
      assert.equal(az.store.get(cluster.id)?.properties?.["provisioningState"], "Succeeded");
      assert.equal((await arm("PUT", clusterUrl("rg-busy-release", "aks"), az.store.get(cluster.id))).status, 200);
    });

    it("an operation nobody polls (its answer was lost) still ends: a write refused because of it counts like a poll", async () => {
      const cluster = az.store.addManagedCluster("rg-unpolled", "aks");
      assert.equal((await arm("PUT", clusterUrl("rg-unpolled", "aks"), cluster)).status, 200);
      const retry = await arm("PUT", clusterUrl("rg-unpolled", "aks"), cluster);
      assert.equal(retry.status, 409, "the operation the first PUT started is still running");
      assert.equal(az.store.activeOperation(cluster.id), undefined, "and that refusal was its one InProgress observation");
      assert.equal((await arm("PUT", clusterUrl("rg-unpolled", "aks"), az.store.get(cluster.id))).status, 200);
    });

    it("faults: a held request is answered once its Pending ends; afterRequests ends one when enough requests came in", async () => {
      az.store.addResourceGroup("rg-hold");
      const url = `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/rg-hold?api-version=2021-04-01`;
      const route = { method: "GET", path: /resourceGroups\/rg-hold$/ };
      az.faults.add({ ...route, kind: "hold", until: az.faults.afterRequests(route, 1) });
      let firstAnswered = false;
      const first = arm("GET", url).then((res) => ((firstAnswered = true), res));
      await waitForRequests(1);
      assert.equal(firstAnswered, false, "held until another GET arrives");
      const second = await arm("GET", url);
      assert.deepEqual([second.status, (await first).status], [200, 200]);

      const release = new Pending();
      az.faults.add({ ...route, kind: "hold", until: release });
      const third = arm("GET", url);
      await waitForRequests(3);
      release.release();
      assert.equal((await third).status, 200);
      assert.deepEqual(
        az.requests.filter((r) => r.path.endsWith("/rg-hold")).map((r) => r.status),
        [200, 200, 200],
      );

      async function waitForRequests(count: number): Promise<void> {
        // The server logs a request as soon as it has read it; waiting on that is an event, not a delay.
        while (az.requests.filter((r) => r.path.endsWith("/rg-hold")).length < count) await new Promise((resolve) => setImmediate(resolve));
      }
    });

    it("faults: a request held with nothing to release it is never handled; the client that gives up sees the connection end", async () => {
      const cluster = az.store.addManagedCluster("rg-hold-drop", "aks");
      az.faults.add({ method: "PUT", path: /rg-hold-drop\/.*managedClusters\/aks$/, kind: "hold" });
      const error = await new Promise<Error>((resolve) => {
        const req = httpsRequest(new URL(clusterUrl("rg-hold-drop", "aks")), {
          method: "PUT",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ca: readFileSync(az.caCertPath),
        });
        req.on("error", resolve);
        req.on("response", () => resolve(new Error("answered")));
        // Gives up once the server has the request (it logs a request as soon as it has read it).
        const giveUp = () => (az.requests.some((r) => r.path.includes("rg-hold-drop")) ? req.destroy() : setImmediate(giveUp));
        req.end(JSON.stringify({ ...cluster, tags: { changed: "yes" } }), giveUp);
      });
      assert.match(error.message, /socket hang up|aborted/);
      assert.deepEqual(az.store.get(cluster.id)?.["tags"], {}, "the held write was never made");
      assert.equal(az.store.activeOperation(cluster.id), undefined);
    });

    it("faults: status and reset apply per route and are consumed", async () => {
      az.store.addResourceGroup("rg-faults");
      const url = `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/rg-faults?api-version=2021-04-01`;
      az.faults.add({
        method: "GET",
        path: /resourceGroups\/rg-faults$/,
        kind: "status",
        status: 503,
        headers: { "retry-after": "2" },
        body: { error: { code: "ServiceUnavailable", message: "Try later." } },
      });
      const unavailable = await arm("GET", url);
      assert.deepEqual(
        [unavailable.status, unavailable.headers["retry-after"], unavailable.json.error.code],
        [503, "2", "ServiceUnavailable"],
      );
      assert.equal((await arm("GET", url)).status, 200);
      az.faults.add({ path: /resourceGroups\/rg-faults$/, kind: "reset" });
      await assert.rejects(arm("GET", url), /socket hang up|ECONNRESET/);
      assert.equal((await arm("GET", url)).status, 200);
    });

    it("faults: onMatch runs an outside change before the request is handled", async () => {
      const cluster = az.store.addManagedCluster("rg-onmatch", "aks");
      const read = await arm("GET", clusterUrl("rg-onmatch", "aks"));
      az.faults.add({
        method: "PUT",
        path: /rg-onmatch\/.*managedClusters\/aks$/,
        kind: "pass",
        onMatch: () => az.store.touch(cluster.id),
      });
      const stale = await arm("PUT", clusterUrl("rg-onmatch", "aks"), read.json, { "if-match": read.json.eTag });
      assert.equal(stale.status, 412);
    });

    it("every issued access token is recorded, so output scans can look for it", async () => {
      const before = az.issuedTokens.length;
      const issued = await armToken(az, sp.clientId, sp.clientSecret);
      assert.equal(az.issuedTokens.length, before + 1);
      assert.equal(az.issuedTokens.at(-1), issued);
    });

    it("IMDS answers the probe without Metadata with 400 and issues tokens per client_id", async () => {
      const probe = await call(az, "GET", `${az.imdsUrl}/metadata/identity/oauth2/token`);
      assert.equal(probe.status, 400);
      assert.equal(probe.json.error, "invalid_request");
      const res = await call(
        az,
        "GET",
        `${az.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(az.armAudience)}&client_id=${az.managedIdentityClientId}`,
        { headers: { metadata: "true" } },
      );
      assert.equal(res.status, 200);
      assert.equal(res.json.client_id, az.managedIdentityClientId);
      assert.equal(typeof res.json.expires_on, "string");
      const unknown = await call(
        az,
        "GET",
        `${az.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x&client_id=00000000-0000-0000-0000-000000000000`,
        { headers: { metadata: "true" } },
      );
      assert.equal(unknown.status, 400);
    });

    it("Entra answers an unknown client with 400 unauthorized_client AADSTS700016", async () => {
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: "deadbeef-0000-0000-0000-000000000000",
        client_secret: "x",
        scope: `${az.armAudience}/.default`,
      }).toString();
      const res = await call(az, "POST", `${az.url}/${az.tenantId}/oauth2/v2.0/token`, {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      assert.equal(res.status, 400);
      assert.equal(res.json.error, "unauthorized_client");
      assert.match(res.json.error_description, /^AADSTS700016: /);
    });

    it("the ADO OIDC endpoint refuses a wrong system access token with 401", async () => {
      const res = await call(az, "POST", `${az.adoOidc.requestUri}?api-version=7.1&serviceConnectionId=abc`, {
        headers: { authorization: "Bearer wrong", "content-type": "application/json" },
      });
      assert.equal(res.status, 401);
    });

    it("GET /ip answers the settable public IP as text/plain", async () => {
      az.publicIp = "198.51.100.77";
      const res = await call(az, "GET", `${az.url}/ip`);
      assert.equal(res.text, "198.51.100.77");
      assert.match(String(res.headers["content-type"]), /^text\/plain/);
    });

    it("a cluster PUT from an older client keeps what AKS keeps: servicePrincipalProfile msi, workload identity, support plan, pool security profile", async () => {
      const cluster = az.store.addManagedCluster("rg-keep", "aks", {
        properties: {
          oidcIssuerProfile: { enabled: true },
          securityProfile: { workloadIdentity: { enabled: true } },
          supportPlan: "KubernetesOfficial",
        },
      });
      const properties = structuredClone(cluster.properties!);
      // What az 2.45 sends after `aks enable-addons`: no servicePrincipalProfile, and none of the fields api-version 2022-11-01 lacks.
      delete properties["servicePrincipalProfile"];
      delete properties["supportPlan"];
      properties["securityProfile"] = {};
      properties["storageProfile"] = {};
      properties["kubernetesVersion"] = "";
      const pools = properties["agentPoolProfiles"] as Record<string, unknown>[];
      for (const pool of pools) {
        delete pool["securityProfile"];
        delete pool["maxPods"];
      }
      // What spec example ManagedClustersCreate_Update leaves for AKS to fill.
      const network = properties["networkProfile"] as Record<string, unknown>;
      for (const field of ["networkPlugin", "podCidr", "serviceCidr", "dnsServiceIP"]) delete network[field];
      const put = await arm("PUT", clusterUrl("rg-keep", "aks"), {
        location: cluster.location,
        identity: { type: "SystemAssigned" },
        properties,
      });
      assert.equal(put.status, 200, put.text);
      await arm("GET", String(put.headers["azure-asyncoperation"]));
      const kept = (await arm("GET", clusterUrl("rg-keep", "aks"))).json.properties;
      assert.deepEqual(kept.servicePrincipalProfile, { clientId: "msi" });
      assert.deepEqual(kept.securityProfile.workloadIdentity, { enabled: true });
      assert.equal(kept.supportPlan, "KubernetesOfficial");
      const networkBefore = cluster.properties!["networkProfile"] as Record<string, unknown>;
      for (const field of ["networkPlugin", "podCidr", "serviceCidr", "dnsServiceIP"])
        assert.equal(kept.networkProfile[field], networkBefore[field], field);
      assert.equal(
        kept.agentPoolProfiles[0].maxPods,
        (cluster.properties!["agentPoolProfiles"] as Record<string, unknown>[])[0]!["maxPods"],
      );
      assert.equal(kept.kubernetesVersion, cluster.properties!["kubernetesVersion"]);
      assert.deepEqual(kept.storageProfile, cluster.properties!["storageProfile"]);
      assert.deepEqual(
        kept.agentPoolProfiles[0].securityProfile,
        (cluster.properties!["agentPoolProfiles"] as Record<string, unknown>[])[0]!["securityProfile"],
      );
    });

    it("a managed-identity cluster answers servicePrincipalProfile msi whatever the PUT carries, and never a secret", async () => {
      const cluster = az.store.addManagedCluster("rg-keep", "aks-sp");
      const put = await arm("PUT", clusterUrl("rg-keep", "aks-sp"), {
        ...cluster,
        properties: {
          ...cluster.properties,
          servicePrincipalProfile: { clientId: "00000000-1111-2222-3333-444444444444", secret: "s3cret-value" },
        },
      });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json.properties.servicePrincipalProfile, { clientId: "msi" });
      assert.ok(!put.text.includes("s3cret-value"));
    });

    it("vault PUT creates (201) and updates (200) with the spec's shape; soft delete cannot be turned off", async () => {
      az.store.addResourceGroup("rg-vault");
      const vaultUrl = (name: string) =>
        `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/rg-vault/providers/Microsoft.KeyVault/vaults/${name}?api-version=2026-02-01`;
      const body = {
        location: "westeurope",
        properties: {
          tenantId: az.tenantId,
          sku: { family: "A", name: "standard" },
          accessPolicies: [{ tenantId: az.tenantId, objectId: "0b0b0b0b-0000-4000-8000-000000000001", permissions: { secrets: ["get"] } }],
        },
      };
      const created = await arm("PUT", vaultUrl("kv-put"), body);
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.properties.vaultUri, "https://kv-put.vault.azure.net/");
      assert.equal(created.json.properties.provisioningState, "Succeeded");
      assert.equal(created.json.properties.enableSoftDelete, true);

      const policies = [
        ...body.properties.accessPolicies,
        { tenantId: az.tenantId, objectId: "0b0b0b0b-0000-4000-8000-000000000002", permissions: { secrets: ["get", "list"] } },
      ];
      const updated = await arm("PUT", vaultUrl("kv-put"), { ...body, properties: { ...body.properties, accessPolicies: policies } });
      assert.equal(updated.status, 200, updated.text);
      assert.deepEqual(az.store.getKeyVault("rg-vault", "kv-put")?.properties?.["accessPolicies"], policies);
      assert.equal(updated.json.systemData.createdAt, created.json.systemData.createdAt);

      const softDeleteOff = await arm("PUT", vaultUrl("kv-put"), { ...body, properties: { ...body.properties, enableSoftDelete: false } });
      assert.equal(softDeleteOff.status, 400);
      const noSku = await arm("PUT", vaultUrl("kv-nosku"), { ...body, properties: { ...body.properties, sku: undefined } });
      assert.equal(noSku.status, 400);
      assert.equal(az.store.getKeyVault("rg-vault", "kv-nosku"), undefined);
    });

    it("resource links: created (201) and updated (200) on their source, answered without a type, listed at its scope, deleted (200, then 204)", async () => {
      const cluster = az.store.addManagedCluster("rg-links", "aks-links");
      const linkUrl = (name: string) => `${az.url}${cluster.id}/providers/Microsoft.Resources/links/${name}?api-version=2016-09-01`;
      const body = { properties: { targetId: cluster.id, notes: "first" } };
      assert.equal((await arm("PUT", linkUrl("hold-1"), body)).status, 201);
      const updated = await arm("PUT", linkUrl("hold-1"), { properties: { ...body.properties, notes: "second" } });
      assert.equal(updated.status, 200);
      assert.deepEqual(updated.json, {
        id: `${cluster.id}/providers/Microsoft.Resources/links/hold-1`,
        name: "hold-1",
        properties: { sourceId: cluster.id, targetId: cluster.id, notes: "second" },
      });
      const listed = await arm(
        "GET",
        `${az.url}${cluster.id}/providers/Microsoft.Resources/links?api-version=2016-09-01&$filter=atScope()`,
      );
      assert.deepEqual(
        listed.json.value.map((l: { name: string }) => l.name),
        ["hold-1"],
      );
      assert.equal((await arm("PUT", linkUrl("x".repeat(65)), body)).status, 400, "a name of more than 64 characters");
      assert.equal((await arm("PUT", linkUrl("hold-2"), { properties: {} })).status, 400, "no targetId");
      assert.equal((await arm("DELETE", linkUrl("hold-1"))).status, 200);
      assert.equal((await arm("DELETE", linkUrl("hold-1"))).status, 204);
    });

    it("a vault update (PATCH) replaces networkAcls as a whole; one address comes back with /32; private ranges are refused as Key Vault words it", async () => {
      az.store.addKeyVault("rg-net", "kv-net", {
        networkAcls: {
          bypass: "None",
          defaultAction: "Deny",
          ipRules: [{ value: "192.0.2.0/24" }],
          virtualNetworkRules: [
            { id: `/subscriptions/${az.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/v/subnets/s` },
          ],
        },
      });
      const url = `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.KeyVault/vaults/kv-net?api-version=2026-02-01`;
      const patched = await arm("PATCH", url, {
        properties: { networkAcls: { defaultAction: "Deny", ipRules: [{ value: "198.51.100.7" }] } },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual(patched.json.properties.networkAcls, {
        bypass: "AzureServices",
        defaultAction: "Deny",
        ipRules: [{ value: "198.51.100.7/32" }],
        virtualNetworkRules: [],
      });
      const tagsOnly = await arm("PATCH", url, { tags: { owner: "team-a" } });
      assert.deepEqual(tagsOnly.json.properties.networkAcls.ipRules, [{ value: "198.51.100.7/32" }], "what a PATCH leaves out stays");
      const privateRange = await arm("PATCH", url, {
        properties: { networkAcls: { defaultAction: "Deny", ipRules: [{ value: "10.0.0.0/8" }] } },
      });
      assert.equal(privateRange.status, 400);
      assert.equal(
        privateRange.json.error.message,
        "Invalid value found at properties.networkAcls.ipRules[0].value: 10.0.0.0/8 belongs to forbidden range 10.0.0.0–10.255.255.255 (private IP addresses)",
      );
    });

    it("a vault's data plane refuses an address its firewall does not admit with 403 ForbiddenByFirewall naming it, until a written rule takes effect", async () => {
      az.store.addKeyVault("rg-net", "kv-fw", {
        accessPolicies: [{ tenantId: az.tenantId, objectId: az.objectIdOf(sp.clientId)!, permissions: { secrets: ["list"] } }],
        networkAcls: { bypass: "AzureServices", defaultAction: "Deny", ipRules: [], virtualNetworkRules: [] },
      });
      const body = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: sp.clientId,
        client_secret: sp.clientSecret,
        scope: "https://vault.azure.net/.default",
      }).toString();
      const vaultToken = (
        await call(az, "POST", `${az.url}/${az.tenantId}/oauth2/v2.0/token`, {
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body,
        })
      ).json.access_token as string;
      const list = () =>
        call(az, "GET", `${az.url}/secrets?api-version=2025-07-01`, {
          headers: { host: "kv-fw.vault.azure.net", authorization: `Bearer ${vaultToken}` },
        });
      az.publicIp = "198.51.100.8";
      const refused = await list();
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.innererror.code, "ForbiddenByFirewall");
      assert.match(
        refused.json.error.message,
        /^Client address is not authorized and caller is not a trusted service\.\r\nClient address: 198\.51\.100\.8\r\n/,
      );

      az.vaultFirewalls.propagationRequests = 1;
      try {
        const url = `${az.url}/subscriptions/${az.subscriptionId}/resourceGroups/rg-net/providers/Microsoft.KeyVault/vaults/kv-fw?api-version=2026-02-01`;
        const opened = await arm("PATCH", url, {
          properties: { networkAcls: { defaultAction: "Deny", ipRules: [{ value: "198.51.100.8" }] } },
        });
        assert.equal(opened.status, 200);
        assert.equal((await list()).status, 403, "written, not yet in force");
        assert.equal((await list()).status, 200, "in force after one more refusal");
      } finally {
        az.vaultFirewalls.propagationRequests = 0;
      }
    });

    it("maintenance configurations: windows AKS would refuse are 400, a valid one is stored with AKS's startDate and offset defaults, GET of a missing one is 404", async () => {
      const cluster = az.store.addManagedCluster("rg-windows", "aks-windows");
      const config = (name: string) => `${az.url}${cluster.id}/maintenanceConfigurations/${name}?api-version=2026-04-01`;
      const window = (overrides: Record<string, unknown>) => ({
        properties: {
          maintenanceWindow: {
            schedule: { weekly: { intervalWeeks: 1, dayOfWeek: "Sunday" } },
            durationHours: 4,
            startTime: "01:00",
            ...overrides,
          },
        },
      });
      for (const [overrides, field] of [
        [{ durationHours: 3 }, "durationHours"],
        [{ schedule: { weekly: { intervalWeeks: 5, dayOfWeek: "Sunday" } } }, "schedule.weekly.intervalWeeks"],
        [{ schedule: { daily: { intervalDays: 8 } } }, "schedule.daily.intervalDays"],
        [{ schedule: { absoluteMonthly: { intervalMonths: 7, dayOfMonth: 1 } } }, "schedule.absoluteMonthly.intervalMonths"],
        [{ schedule: { daily: { intervalDays: 1 }, weekly: { intervalWeeks: 1, dayOfWeek: "Sunday" } } }, "schedule"],
        [{ startTime: "24:00" }, "startTime"],
        [{ utcOffset: "+5:30" }, "utcOffset"],
        [{ notAllowedDates: [{ start: "2027-01-03", end: "2026-12-20" }] }, "notAllowedDates[0]"],
      ] as const) {
        const res = await arm("PUT", config("aksManagedAutoUpgradeSchedule"), window(overrides));
        assert.equal(res.status, 400, JSON.stringify(overrides));
        assert.equal(res.json.error.code, "InvalidParameter");
        assert.match(res.json.error.message, new RegExp(`'maintenanceWindow\\.${field.replace(/[.[\]]/g, "\\$&")}'`));
      }
      assert.equal(
        (await arm("PUT", config("default"), window({ schedule: { daily: { intervalDays: 1 } } }))).status,
        400,
        "default is weekly only",
      );
      assert.equal((await arm("GET", config("aksManagedAutoUpgradeSchedule"))).status, 404);
      const stored = await arm("PUT", config("aksManagedAutoUpgradeSchedule"), window({}));
      assert.equal(stored.status, 200);
      assert.equal(stored.json.properties.maintenanceWindow.utcOffset, "+00:00");
      assert.match(stored.json.properties.maintenanceWindow.startDate, /^\d{4}-\d{2}-\d{2}$/);
      assert.deepEqual((await arm("GET", config("aksManagedAutoUpgradeSchedule"))).json, stored.json);
    });

    it("auto-upgrade and Defender settings AKS would refuse are 400; a Defender plan never set reads Free and a PUT stores the tier", async () => {
      const cluster = az.store.addManagedCluster("rg-defender", "aks-defender");
      const current = (await arm("GET", clusterUrl("rg-defender", "aks-defender"))).json;
      const put = (properties: Record<string, unknown>) =>
        arm("PUT", clusterUrl("rg-defender", "aks-defender"), { ...current, properties: { ...current.properties, ...properties } });
      for (const properties of [
        { autoUpgradeProfile: { upgradeChannel: "Weekly", nodeOSUpgradeChannel: "NodeImage" } },
        { autoUpgradeProfile: { upgradeChannel: "patch", nodeOSUpgradeChannel: "nodeimage" } },
        { autoUpgradeProfile: { upgradeChannel: "node-image", nodeOSUpgradeChannel: "SecurityPatch" } },
        { securityProfile: { defender: { securityMonitoring: { enabled: true } } } },
      ]) {
        const res = await put(properties);
        assert.equal(res.status, 400, JSON.stringify(properties));
        assert.equal(res.json.error.code, "InvalidParameter");
      }
      assert.equal(az.store.get(cluster.id)!["eTag"], cluster["eTag"], "nothing was written");
      const pricing = `${az.url}/subscriptions/${az.subscriptionId}/providers/Microsoft.Security/pricings/Containers?api-version=2024-01-01`;
      assert.equal((await arm("GET", pricing)).json.properties.pricingTier, "Free");
      assert.equal((await arm("PUT", pricing, { properties: { pricingTier: "Premium" } })).status, 400);
      const on = await arm("PUT", pricing, { properties: { pricingTier: "Standard" } });
      assert.equal(on.status, 200);
      assert.equal((await arm("GET", pricing)).json.properties.pricingTier, "Standard");
      assert.ok(on.json.properties.enablementTime);
    });

    it("the subscriptions and tenants lists name the local subscription and tenant", async () => {
      const subscriptions = await arm("GET", `${az.url}/subscriptions?api-version=2022-12-01`);
      assert.equal(subscriptions.status, 200);
      assert.deepEqual(
        subscriptions.json.value.map((s: { subscriptionId: string; tenantId: string; state: string }) => [
          s.subscriptionId,
          s.tenantId,
          s.state,
        ]),
        [[az.subscriptionId, az.tenantId, "Enabled"]],
      );
      const tenants = await arm("GET", `${az.url}/tenants?api-version=2022-12-01`);
      assert.deepEqual(
        tenants.json.value.map((t: { tenantId: string; tenantCategory: string }) => [t.tenantId, t.tenantCategory]),
        [[az.tenantId, "Home"]],
      );
      const anonymous = await call(az, "GET", `${az.url}/subscriptions?api-version=2022-12-01`);
      assert.equal(anonymous.status, 401);
    });
  });
  describe("what AksHardeningReport reads", () => {
    let az: LocalAzure;
    let token: string;
    const sp = { clientId: "22222222-3333-4444-5555-666666666666", clientSecret: "local-secret-report" };
    const get = (path: string) => call(az, "GET", `${az.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

    before(async () => {
      az = await startLocalAzure();
      az.addServicePrincipal(sp);
      token = await armToken(az, sp.clientId, sp.clientSecret);
    });
    after(() => az.close());

    it("a cluster's upgrade profile (ManagedClustersGetUpgradeProfile's shape): its version and the next minor's patches, never two minors ahead", async () => {
      const cluster = az.store.addManagedCluster("rg-up", "aks-up", {
        properties: { kubernetesVersion: "1.32.7", currentKubernetesVersion: "1.32.7" },
      });
      const res = await get(`${cluster.id}/upgradeProfiles/default?api-version=2026-06-01`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.name, "default");
      assert.equal(res.json.type, "Microsoft.ContainerService/managedClusters/upgradeprofiles");
      assert.equal(res.json.properties.controlPlaneProfile.kubernetesVersion, "1.32.7");
      assert.deepEqual(
        res.json.properties.controlPlaneProfile.upgrades.map((u: { kubernetesVersion: string }) => u.kubernetesVersion),
        ["1.32.9", "1.33.3", "1.33.5"],
      );
      assert.equal(res.json.properties.agentPoolProfiles[0].name, "nodepool1");
      assert.equal((await get(`${cluster.id.replace("aks-up", "aks-none")}/upgradeProfiles/default?api-version=2026-06-01`)).status, 404);
    });

    it("the region's Kubernetes versions (KubernetesVersions_List's shape): an LTS-only minor, the newest in preview", async () => {
      const res = await get(
        `/subscriptions/${az.subscriptionId}/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions?api-version=2026-06-01`,
      );
      assert.equal(res.status, 200, res.text);
      const versions = res.json.values as {
        version: string;
        isPreview?: boolean;
        capabilities: { supportPlan: string[] };
        patchVersions: Record<string, { upgrades: string[] }>;
      }[];
      assert.deepEqual(
        versions.map((v) => `${v.version}${v.isPreview ? " (preview)" : ""}`),
        ["1.31", "1.32", "1.33", "1.34", "1.35 (preview)"],
      );
      assert.deepEqual(versions[0]!.capabilities.supportPlan, ["AKSLongTermSupport"]);
      assert.deepEqual(versions[1]!.capabilities.supportPlan, ["KubernetesOfficial", "AKSLongTermSupport"]);
      assert.deepEqual(versions[2]!.patchVersions["1.33.3"]!.upgrades, ["1.33.5", "1.34.1", "1.34.2"]);
    });

    it("the caller's permissions list: one entry per role held at the scope or above it (not below); 403 without permissions/read; the request log says what was written", async () => {
      const cluster = az.store.addManagedCluster("rg-perm", "aks-perm");
      const me = az.objectIdOf(sp.clientId)!;
      const list = (scope: string) => get(`${scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`);
      const group = az.store.resourceGroupId("rg-perm");
      const narrow = addCustomRole(az.store, {
        roleName: "cluster writer",
        permissions: [{ actions: ["Microsoft.ContainerService/managedClusters/*"], notActions: [], dataActions: [], notDataActions: [] }],
      });
      assert.equal((await list(group)).status, 403, "no role yet, so not even Microsoft.Authorization/permissions/read");
      assert.equal((await list(group)).json.error.code, "AuthorizationFailed");
      assignRole(az.store, { principalId: me, roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7", scope: group });
      assignRole(az.store, { principalId: me, roleDefinitionId: narrow.id, scope: cluster.id });
      const atCluster = await list(cluster.id);
      assert.equal(atCluster.status, 200, atCluster.text);
      assert.deepEqual(
        (atCluster.json.value as { actions: string[] }[]).map((p) => p.actions).sort(),
        [["*/read"], ["Microsoft.ContainerService/managedClusters/*"]],
        "Reader from the resource group, the custom role at the cluster",
      );
      assert.deepEqual(
        ((await list(group)).json.value as { actions: string[] }[]).map((p) => p.actions),
        [["*/read"]],
        "a role at the cluster does not apply to its resource group",
      );
      assignRole(az.store, { principalId: me, roleDefinitionId: OWNER_ROLE, scope: `/subscriptions/${az.subscriptionId}` });
      assert.equal(((await list(group)).json.value as unknown[]).length, 2, "Owner from the subscription too");

      await call(az, "DELETE", `${az.url}${REQUEST_LOG_PATH}`);
      await get(`${cluster.id}?api-version=2026-04-01`);
      assert.match(
        (await call(az, "GET", `${az.url}${REQUEST_LOG_PATH}`)).text,
        /^read  GET    200 \/subscriptions\/.*\n1 requests, nothing written\.\n$/,
      );
    });

    it("a refused permission answers ARM's 403 AuthorizationFailed for every matching request", async () => {
      const cluster = az.store.addManagedCluster("rg-deny", "aks-deny");
      az.faults.denyAuthorization({
        method: "GET",
        path: /\/upgradeProfiles\/default$/i,
        action: "Microsoft.ContainerService/managedClusters/upgradeProfiles/read",
        scope: cluster.id,
        objectId: "0a0b0c0d-0000-4000-8000-000000000001",
      });
      try {
        for (let i = 0; i < 2; i++) {
          const res = await get(`${cluster.id}/upgradeProfiles/default?api-version=2026-06-01`);
          assert.equal(res.status, 403);
          assert.equal(res.json.error.code, "AuthorizationFailed");
          assert.match(
            res.json.error.message,
            /does not have authorization to perform action 'Microsoft\.ContainerService\/managedClusters\/upgradeProfiles\/read' over scope '\/subscriptions\//,
          );
        }
        assert.equal((await get(`${cluster.id}?api-version=2026-06-01`)).status, 200, "other reads are allowed");
      } finally {
        az.faults.clear();
      }
    });
  });
  describe("cluster sign-in: aadProfile, credentials and the API server's access review", () => {
    let az: LocalAzure;
    let token: string;
    const sp = { clientId: "33333333-4444-5555-6666-777777777777", clientSecret: "local-secret-access" };
    const arm = (method: string, url: string, body?: unknown) => armCall(az, token, method, url, body);

    before(async () => {
      // As the test harness starts it: operations without Retry-After.
      az = await startLocalAzure({ retryAfterSeconds: 0 });
      az.addServicePrincipal(sp);
      token = await armToken(az, sp.clientId, sp.clientSecret);
    });
    after(() => az.close());

    const AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630";
    const WRITER = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb";
    const put = (cluster: { id: string; location?: string }, properties: Record<string, unknown>) =>
      arm("PUT", `${az.url}${cluster.id}?api-version=2026-04-01`, { location: cluster.location, properties });
    const post = (cluster: { id: string }, action: string) => arm("POST", `${az.url}${cluster.id}/${action}?api-version=2026-04-01`);
    const review = async (fqdn: string, bearer: string, attributes: Record<string, string>) =>
      call(az, "POST", `${az.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
        headers: { host: fqdn, authorization: `Bearer ${bearer}`, "content-type": "application/json" },
        body: JSON.stringify({
          kind: "SelfSubjectAccessReview",
          apiVersion: "authorization.k8s.io/v1",
          spec: { resourceAttributes: attributes },
        }),
      });

    it("retryAfterSeconds 0: neither the long-running PUT nor its status poll carries a Retry-After", async () => {
      const cluster = az.store.addManagedCluster("rg-aad", "aks-no-retry-after");
      const accepted = await put(cluster, { ...cluster.properties, disableLocalAccounts: true });
      assert.equal(accepted.status, 200);
      assert.equal(accepted.headers["retry-after"], undefined);
      const status = await arm("GET", String(accepted.headers["azure-asyncoperation"]));
      assert.equal(status.json.status, "InProgress");
      assert.equal(status.headers["retry-after"], undefined);
    });

    it("AKS refuses turning AKS-managed Entra ID off, Azure RBAC without it and changing enableRBAC; a PUT without aadProfile keeps it", async () => {
      const cluster = az.store.addManagedCluster("rg-aad", "aks-aad", { properties: { aadProfile: { managed: true } } });
      const props = cluster.properties!;
      const off = await put(cluster, { ...props, aadProfile: { managed: false } });
      assert.equal(off.status, 400);
      assert.equal(off.json.error.code, "PropertyChangeNotAllowed");
      assert.equal((await put(cluster, { ...props, enableRBAC: false })).json.error.code, "PropertyChangeNotAllowed");
      const plain = az.store.addManagedCluster("rg-aad", "aks-plain");
      const rbac = await put(plain, { ...plain.properties, aadProfile: { enableAzureRBAC: true } });
      assert.equal(rbac.status, 400);
      assert.match(rbac.json.error.message, /requires AKS-managed Microsoft Entra integration/);
      const { aadProfile: _omitted, ...without } = props;
      assert.equal((await put(cluster, without)).status, 200);
      assert.equal(az.store.getManagedCluster("rg-aad", "aks-aad")!.properties!["aadProfile"]!["managed" as never], true);
    });

    it("local accounts off: both static credentials are refused without Entra ID, the user credential is an exec kubeconfig with it", async () => {
      const bare = az.store.addManagedCluster("rg-aad", "aks-none", { properties: { disableLocalAccounts: true } });
      for (const action of ["listClusterAdminCredential", "listClusterUserCredential"]) {
        const res = await post(bare, action);
        assert.equal(res.status, 400);
        assert.equal(
          res.json.error.message,
          "Getting static credential isn't allowed because this cluster is set to disable local accounts.",
        );
      }
      const entra = az.store.addManagedCluster("rg-aad", "aks-entra", {
        properties: { disableLocalAccounts: true, aadProfile: { managed: true } },
      });
      assert.equal((await post(entra, "listClusterAdminCredential")).status, 400);
      const user = await post(entra, "listClusterUserCredential");
      assert.equal(user.status, 200);
      const kubeconfig = Buffer.from(user.json.kubeconfigs[0].value, "base64").toString();
      assert.match(kubeconfig, new RegExp(`--server-id\\n\\s+- ${AKS_SERVER_APP}`));
      assert.equal(
        Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)![1]!, "base64").toString(),
        readFileSync(az.caCertPath, "utf8"),
      );
    });

    it("the API server reviews an Entra token for the AKS server app by the role assignments in force at the namespace or the cluster, after their propagation", async () => {
      const cluster = az.store.addManagedCluster("rg-aad", "aks-review", {
        properties: { aadProfile: { managed: true, enableAzureRBAC: true } },
      });
      const fqdn = String(cluster.properties!["fqdn"]);
      const objectId = az.objectIdOf(sp.clientId)!;
      const deploy = { namespace: "todo", verb: "create", group: "apps", resource: "deployments" };
      assert.equal((await review(fqdn, token, deploy)).status, 401, "an ARM token is not for the API server");
      const bearer = await armToken(az, sp.clientId, sp.clientSecret, `${AKS_SERVER_APP}/.default`);
      const denied = await review(fqdn, bearer, deploy);
      assert.equal(denied.status, 201);
      assert.deepEqual(denied.json.status, {
        allowed: false,
        denied: true,
        reason: "User does not have access to the resource in Azure. Update role assignment to allow access.",
      });
      az.store.roleAssignmentPropagationChecks = Infinity;
      try {
        const scope = `${cluster.id}/namespaces/todo`;
        const created = await arm(
          "PUT",
          `${az.url}${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`,
          {
            properties: {
              roleDefinitionId: `/subscriptions/${az.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${WRITER}`,
              principalId: objectId,
            },
          },
        );
        assert.equal(created.status, 201);
        assert.equal((await review(fqdn, bearer, deploy)).json.status.allowed, false, "not propagated yet");
        az.store.roleAssignmentPropagation(created.json.id)!.release();
        assert.equal((await review(fqdn, bearer, deploy)).json.status.allowed, true);
        assert.equal(
          (await review(fqdn, bearer, { ...deploy, namespace: "other" })).json.status.allowed,
          false,
          "the grant is the namespace's",
        );
        assert.equal(
          (await review(fqdn, bearer, { ...deploy, resource: "roles", group: "rbac.authorization.k8s.io" })).json.status.allowed,
          false,
          "Writer has no roles",
        );
      } finally {
        az.store.roleAssignmentPropagationChecks = 0;
      }
    });
  });
});
