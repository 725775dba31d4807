import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { generate } from "selfsigned";
import { startLocalAzure, type LocalAzure, type LocalAzureOptions, type RequestLogEntry } from "../../local-azure/index";
import { extractPackagedExtension } from "../../scripts/vsix.mjs";
import { runJob, runStep, type Endpoint, type JobRun, type StepOptions, type StepRun } from "./agent";

/** ARM actions sent as POST that only read (queries), by path. */
const READ_ACTIONS = [/\/providers\/Microsoft\.PolicyInsights\/(policyStates|policyEvents)\/[^/]+\/(queryResults|summarize)$/i];
const AZURE_HOSTS_PRELOAD = path.join(__dirname, "azure-hosts.cjs");
/** Shorter values (e.g. `true`) would match by chance; every secret the tests make is longer. */
const MIN_SECRET_LENGTH = 8;
const JWT = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}/;

export type ConnectionKind = "spnKey" | "spnCertificate" | "managedIdentity" | "workloadIdentity";

export interface TaskInvocation extends Partial<Omit<StepOptions, "endpoints">> {
  connection?: ConnectionKind;
  inputs: StepOptions["inputs"];
}

/**
 * One local Azure, the extension unpacked from its VSIX, and a service connection of each
 * scheme, for a test file. Tasks run as the agent runs them, trusting the local Azure's certificate.
 */
export class Fixture {
  /**
   * Every secret a task could leak: scanned for in every line of output and every job summary of
   * every run, with the tokens the local Azure issued and the values runs registered as secrets.
   */
  readonly secrets: string[] = [];
  /** Every packaged-task run (main and post-job steps), each scanned for secrets as it finished. */
  readonly runs: StepRun[] = [];
  private readonly connections = new Map<ConnectionKind, { endpoint: Endpoint; env: Record<string, string>; systemAccessToken?: string }>();

  private constructor(
    readonly azure: LocalAzure,
    readonly extensionDir: string,
  ) {}

  static async start(options?: LocalAzureOptions): Promise<Fixture> {
    const azure = await startLocalAzure(options);
    const fixture = new Fixture(azure, extractPackagedExtension());
    await fixture.createConnections();
    return fixture;
  }

  taskDir(task: string): string {
    return path.join(this.extensionDir, "tasks", task);
  }

  connection(kind: ConnectionKind) {
    const connection = this.connections.get(kind);
    if (!connection) throw new Error(`no ${kind} connection`);
    return connection;
  }

  /** The object ID of the principal a service connection signs in as (for access policies and role assignments). */
  principalObjectId(kind: ConnectionKind = "spnKey"): string {
    const connection = this.connection(kind);
    const clientId =
      kind === "managedIdentity" ? connection.endpoint.data["msiclientId"] : connection.endpoint.parameters["serviceprincipalid"];
    const objectId = clientId ? this.azure.objectIdOf(clientId) : undefined;
    if (!objectId) throw new Error(`no principal for the ${kind} connection`);
    return objectId;
  }

  /** What the agent gives a step of this task: inputs with the connection, endpoints, certificates (for runners other than run/runJob). */
  stepOptions(invocation: TaskInvocation): StepOptions {
    const connection = this.connection(invocation.connection ?? "spnKey");
    return {
      ...invocation,
      inputs: { azureSubscription: connection.endpoint.id, ...invocation.inputs },
      endpoints: [connection.endpoint],
      ...(connection.systemAccessToken ? { systemAccessToken: connection.systemAccessToken } : {}),
      env: {
        NODE_EXTRA_CA_CERTS: this.azure.caCertPath,
        ...localAzureHosts(this.azure),
        ...connection.env,
        ...invocation.env,
      },
    };
  }

  /** The task's main step alone; fails the test if its output holds any secret. */
  async run(task: string, invocation: TaskInvocation): Promise<StepRun> {
    this.learnSecrets(invocation);
    const run = await runStep(path.join(this.taskDir(task), "index.js"), this.stepOptions(invocation));
    this.scanned(run);
    return run;
  }

  /** Main step, then the post-job step with the task variables the main step set; both scanned for secrets. */
  async runJob(task: string, invocation: TaskInvocation & { jobFails?: boolean }): Promise<JobRun> {
    this.learnSecrets(invocation);
    const job = await runJob(this.taskDir(task), { ...this.stepOptions(invocation), ...(invocation.jobFails ? { jobFails: true } : {}) });
    this.scanned(job.main);
    this.scanned(job.post);
    return job;
  }

  /** Secret variables a run is given are secrets, whatever the test calls them. */
  private learnSecrets(invocation: TaskInvocation): void {
    for (const value of Object.values(invocation.secrets ?? {})) {
      if (value.length >= MIN_SECRET_LENGTH && !this.secrets.includes(value)) this.secrets.push(value);
    }
  }

  private scanned(run: StepRun): void {
    this.runs.push(run);
    this.assertNoSecretsIn(run);
  }

  /** ARM requests that change something (not token requests, not reads, not POST actions that only read). */
  armWrites(): RequestLogEntry[] {
    return this.azure.requests.filter(
      (r) =>
        r.path.toLowerCase().startsWith("/subscriptions/") &&
        ["PUT", "PATCH", "DELETE", "POST"].includes(r.method) &&
        !(r.method === "POST" && READ_ACTIONS.some((action) => action.test(r.path))),
    );
  }

  /** The run succeeded (its output was already scanned for secrets when it ended). */
  assertSucceeded(run: StepRun): void {
    assert.equal(run.result, "Succeeded", `task failed: ${run.resultMessage}\n${run.stdout}\n${run.stderr}`);
  }

  /** The run failed with a line matching `message`, and no ARM write happened before it. */
  assertFailedBeforeAnyWrite(run: StepRun, message: RegExp): void {
    assert.equal(run.result, "Failed", `expected a failure\n${run.stdout}`);
    assert.match(run.resultMessage ?? "", message);
    assert.deepEqual(this.armWrites(), [], "no write may happen before validation passes");
  }

  armRequests(): RequestLogEntry[] {
    return this.azure.requests.filter((r) => r.path.toLowerCase().startsWith("/subscriptions/"));
  }

  /**
   * Fails when any line of output or any job summary holds a secret the fixture knows, a token the
   * local Azure issued, a value the run itself registered as secret, or anything shaped like a JWT.
   * `task.setsecret` lines are the registration itself: the agent consumes them and masks the value
   * everywhere else. A failure names which secret leaked, never the secret.
   */
  assertNoSecretsIn(run: StepRun): void {
    const known: [string, string][] = [
      ...this.secrets.map((secret, i): [string, string] => [`fixture secret #${i + 1}`, secret]),
      ...this.azure.issuedTokens.map((token, i): [string, string] => [`issued token #${i + 1}`, token]),
      ...run.registeredSecrets
        .filter((value) => value.length >= MIN_SECRET_LENGTH)
        .map((value, i): [string, string] => [`value the run registered as secret #${i + 1}`, value]),
    ];
    const texts = [
      ...run.lines
        .filter((line) => !line.startsWith("##vso[task.setsecret]"))
        .map((line, i) => ({ where: `output line ${i + 1}`, text: line })),
      ...run.summaries.map((summary, i) => ({ where: `job summary ${i + 1}`, text: summary })),
    ];
    for (const { where, text } of texts) {
      for (const [what, secret] of known) {
        assert.ok(!text.includes(secret), `${what} appeared in ${where}: ${text.replaceAll(secret, "<LEAKED>").slice(0, 160)}`);
      }
      assert.ok(!JWT.test(text), `a JWT appeared in ${where}: ${text.replace(new RegExp(JWT.source, "g"), "<JWT>").slice(0, 160)}`);
    }
  }

  async close(): Promise<void> {
    await this.azure.close();
  }

  private async createConnections(): Promise<void> {
    const azure = this.azure;
    const data = {
      subscriptionId: azure.subscriptionId,
      subscriptionName: "Local subscription",
      environment: "AzureCloud",
      scopeLevel: "Subscription",
      environmentAuthorityUrl: `${azure.authorityUrl}/`,
      activeDirectoryServiceEndpointResourceId: azure.armAudience,
      AzureKeyVaultServiceEndpointResourceId: "https://vault.azure.net",
    };
    const armUrl = `${azure.armUrl}/`;

    const secretSp = { clientId: randomUUID(), clientSecret: `secret-${randomUUID()}` };
    azure.addServicePrincipal(secretSp);
    this.secrets.push(secretSp.clientSecret);
    this.connections.set("spnKey", {
      endpoint: {
        id: randomUUID(),
        url: armUrl,
        scheme: "ServicePrincipal",
        parameters: {
          serviceprincipalid: secretSp.clientId,
          serviceprincipalkey: secretSp.clientSecret,
          tenantid: azure.tenantId,
          authenticationType: "spnKey",
        },
        data,
      },
      env: {},
    });

    const pems = await generate([{ name: "commonName", value: "pipeline-sp" }], { keySize: 2048, algorithm: "sha256" });
    const certSp = { clientId: randomUUID(), certificatePem: pems.cert };
    azure.addServicePrincipal(certSp);
    const keyBody = pems.private.split(/\r?\n/).filter((line) => line && !line.startsWith("-----"));
    this.secrets.push(...keyBody.filter((line) => line.length >= 40));
    this.connections.set("spnCertificate", {
      endpoint: {
        id: randomUUID(),
        url: armUrl,
        scheme: "ServicePrincipal",
        // Azure DevOps stores the certificate and its private key together, as one PEM.
        parameters: {
          serviceprincipalid: certSp.clientId,
          servicePrincipalCertificate: `${pems.cert}\n${pems.private}`,
          tenantid: azure.tenantId,
          authenticationType: "spnCertificate",
        },
        data,
      },
      env: {},
    });

    this.connections.set("managedIdentity", {
      endpoint: {
        id: randomUUID(),
        url: armUrl,
        scheme: "ManagedServiceIdentity",
        parameters: { tenantid: azure.tenantId },
        data: { ...data, msiclientId: azure.managedIdentityClientId },
      },
      env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: azure.imdsUrl },
    });

    const wifSp = { clientId: randomUUID() };
    azure.addServicePrincipal(wifSp);
    const wifId = randomUUID();
    azure.addFederatedCredential({ clientId: wifSp.clientId, issuer: azure.adoOidc.issuer, subject: azure.adoOidc.subjectFor(wifId) });
    this.secrets.push(azure.adoOidc.systemAccessToken);
    this.connections.set("workloadIdentity", {
      endpoint: {
        id: wifId,
        url: armUrl,
        scheme: "WorkloadIdentityFederation",
        parameters: {
          serviceprincipalid: wifSp.clientId,
          tenantid: azure.tenantId,
          workloadIdentityFederationIssuer: azure.adoOidc.issuer,
          workloadIdentityFederationSubject: azure.adoOidc.subjectFor(wifId),
        },
        data,
      },
      systemAccessToken: azure.adoOidc.systemAccessToken,
      env: { SYSTEM_OIDCREQUESTURI: azure.adoOidc.requestUri },
    });
  }
}

/**
 * What a task process needs to reach the local Azure under Azure's host names: `<vault>.vault.azure.net`
 * always, and management.azure.com and login.microsoftonline.com when the local Azure poses as the
 * public cloud (see azure-hosts.cjs). Shared by the fixture and the benchmark.
 */
export function localAzureHosts(azure: LocalAzure): Record<string, string> {
  return {
    NODE_OPTIONS: `--require ${AZURE_HOSTS_PRELOAD}`,
    LOCAL_AZURE_HTTPS_PORT: String(azure.httpsPort),
    ...(azure.armUrl !== azure.url ? { LOCAL_AZURE_PUBLIC_HOSTS: "1" } : {}),
  };
}

export { AZURE_HOSTS_PRELOAD };
