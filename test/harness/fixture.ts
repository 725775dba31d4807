import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import * as path from "node:path";
import { clientEnvironment, createServiceConnections, type ConnectionKind, type ServiceConnection } from "../../local-azure/clients";
import {
  addCustomRole,
  assignRole,
  OWNER_ROLE,
  removeRoles,
  startLocalAzure,
  type LocalAzure,
  type LocalAzureOptions,
  type RequestLogEntry,
  type RolePermission,
} from "../../local-azure/index";
import { isWrite } from "../../local-azure/request-log";
import { extractPackagedExtension } from "../../scripts/vsix.mjs";
import { runJob, runStep, type JobRun, type StepOptions, type StepRun } from "./agent";
import { checkTraffic, describeFindings } from "./contracts";

/**
 * The pipeline variables every run gets unless the test sets them: the first pause of every wait for
 * Azure (core/wait-budget.ts) is 10 ms instead of 0.5-5 s. The local Azure ends what a task waits for by
 * events the test controls (local-azure/pending.ts), never by time, so a short pause changes how long a
 * run takes, not what it does; a test about a wait sets the variables it is about.
 */
export const QUICK_WAITS: Readonly<Record<string, string>> = { "AksHardening.RetryDelaySeconds": "0.01" };
/** For a run whose test is about the product's own pace: the variable empty, as a pipeline that does not set it. */
export const PRODUCT_WAITS: Readonly<Record<string, string>> = { "AksHardening.RetryDelaySeconds": "" };
/** Shorter values (e.g. `true`) would match by chance; every secret the tests make is longer. */
const MIN_SECRET_LENGTH = 8;
const JWT = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}/;

export type { ConnectionKind };
export { OWNER_ROLE };

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

  private constructor(
    readonly azure: LocalAzure,
    readonly extensionDir: string,
    private readonly connections: Map<ConnectionKind, ServiceConnection>,
    private readonly waitVariables: Readonly<Record<string, string>>,
  ) {
    for (const connection of connections.values()) this.secrets.push(...connection.secrets);
  }

  /**
   * Unless a test says otherwise, long-running operations answer without Retry-After, so the tasks poll
   * at their own (QUICK_WAITS) pace. `productWaits`: runs wait as the product does, and operations
   * answer with the local Azure's default Retry-After (the demo and the benchmark show real runs).
   */
  static async start(options: LocalAzureOptions & { productWaits?: boolean } = {}): Promise<Fixture> {
    const { productWaits, ...azureOptions } = options;
    const azure = await startLocalAzure({ ...(productWaits ? {} : { retryAfterSeconds: 0 }), ...azureOptions, recordTraffic: true });
    return new Fixture(azure, extractPackagedExtension(), await createServiceConnections(azure), productWaits ? {} : QUICK_WAITS);
  }

  taskDir(task: string): string {
    return path.join(this.extensionDir, "tasks", task);
  }

  connection(kind: ConnectionKind): ServiceConnection {
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

  /**
   * Gives a connection's principal exactly one role on the subscription in place of the Owner it
   * starts with: a built-in role by its GUID, or a custom role with these permissions. `giveRole(kind,
   * OWNER_ROLE)` puts it back.
   */
  giveRole(kind: ConnectionKind, role: string | RolePermission[]): void {
    const principalId = this.principalObjectId(kind);
    removeRoles(this.azure.store, principalId);
    const roleDefinitionId =
      typeof role === "string" ? role : addCustomRole(this.azure.store, { roleName: `test role of ${kind}`, permissions: role }).id;
    assignRole(this.azure.store, { principalId, roleDefinitionId, scope: `/subscriptions/${this.azure.subscriptionId}` });
  }

  /** The permissions lists the runs asked for since the log was cleared (core/permissions.ts). */
  permissionReads(): RequestLogEntry[] {
    return this.armRequests().filter((r) => r.method === "GET" && /\/providers\/Microsoft\.Authorization\/permissions$/i.test(r.path));
  }

  /** What the agent gives a step of this task: inputs with the connection, endpoints, certificates (for runners other than run/runJob). */
  stepOptions(invocation: TaskInvocation): StepOptions {
    const connection = this.connection(invocation.connection ?? "spnKey");
    return {
      ...invocation,
      inputs: { azureSubscription: connection.endpoint.id, ...invocation.inputs },
      variables: { ...this.waitVariables, ...invocation.variables },
      endpoints: [connection.endpoint],
      ...(connection.systemAccessToken ? { systemAccessToken: connection.systemAccessToken } : {}),
      env: {
        ...clientEnvironment(this.azure),
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
    this.assertExitCodeAgrees(run);
  }

  /**
   * The exit code says what `task.complete` says: 0 for a success, non-zero for a failure, and
   * non-zero when the agent could read no result (it would take exit 0 as success). A step the
   * test stopped (a signal) has no exit code.
   */
  assertExitCodeAgrees(run: StepRun): void {
    if (run.exitCode === null) return;
    const where = `result ${run.result ?? "(none readable)"}, exit code ${run.exitCode}\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`;
    if (run.result === "Succeeded" || run.result === "SucceededWithIssues") assert.equal(run.exitCode, 0, where);
    else assert.notEqual(run.exitCode, 0, where);
  }

  /** ARM requests that change something (not token requests, not reads, not POST actions that only read). */
  armWrites(): RequestLogEntry[] {
    return this.azure.requests.filter((r) => r.path.toLowerCase().startsWith("/subscriptions/") && isWrite(r));
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

  /**
   * Fails when a request the tasks' Azure clients sent, or the answer the local Azure gave it, departs
   * from the REST spec contracts (test/contracts) in a way no known difference covers, or matches no
   * operation at all. Every run of the file is checked, first runs, re-runs, dry runs and post-job steps.
   */
  async assertTrafficOnSpec(): Promise<void> {
    const { findings } = await checkTraffic(this.azure.traffic);
    // The message alone: a diff of the findings would print payload values unmasked.
    assert.ok(findings.length === 0, `traffic off the REST specs (test/contracts):\n${describeFindings(findings, this.secrets)}`);
  }

  /** Checks the traffic against the REST spec contracts, then stops the local Azure and removes the unpacked extension. */
  async close(): Promise<void> {
    try {
      await this.assertTrafficOnSpec();
    } finally {
      await this.azure.close();
      rmSync(this.extensionDir, { recursive: true, force: true });
    }
  }
}
