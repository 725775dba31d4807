/**
 * `npm run local-azure [-- --port 8443]`: the local Azure as a tool. Packages the extension first
 * only when the VSIX in dist/ was not made from the sources as they are (their content hash,
 * scripts/vsix.mjs `currentVsix`). Starts the local Azure on a fixed port (the managed-identity
 * endpoint on the next one) with the demo's resources, unpacks the packaged extension into
 * dist/extension/, writes the environment that runs any packaged task by hand (the agent's
 * `ENDPOINT_*` variables of a service-principal connection, `INPUT_AZURESUBSCRIPTION`, the CA file
 * and the Azure host preload) and, when `az` is installed, signs it in to the local Azure; then
 * prints how to use both — the inputs a by-hand run needs that the agent would otherwise provide, and
 * where the request log shows what was read and written — and keeps running until Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { clientEnvironment, createServiceConnections } from "../local-azure/clients";
import { REQUEST_LOG_PATH, startLocalAzure } from "../local-azure/index";
import { buildEnvironment } from "../test/harness/agent";
import { startAzSession, type AzSession } from "../bench/az-cli";
import { hardeningPipeline, seedLocalAzure } from "./demo-pipeline";
import { JOB_SCOPED_ACCESS_TASK_VARIABLE } from "../core/job-scoped-access/task-variable";
import { currentVsix, distDir, extractVsix, findVsix, repoRoot } from "./vsix.mjs";

const DEFAULT_PORT = 8443;
const WORK_DIR = path.join(repoRoot, ".tmp", "local-azure");
const EXTENSION_DIR = path.join(distDir, "extension");
/** What the agent puts in every step's environment that is about this machine, not the task: left to the caller's shell. */
const MACHINE_VARIABLES = new Set(["PATH", "HOME", "LANG"]);

function portFromArgs(): number {
  const at = process.argv.indexOf("--port");
  if (at < 0) return DEFAULT_PORT;
  const port = Number(process.argv[at + 1]);
  if (!Number.isInteger(port) || port < 1 || port > 65534) {
    console.error(
      `--port: '${process.argv[at + 1] ?? ""}' is not a port number (1-65534; the next port is the managed-identity endpoint).`,
    );
    process.exit(2);
  }
  return port;
}

/** One `KEY='value'` line per variable, as `node --env-file` reads them. */
function envFile(env: NodeJS.ProcessEnv): string {
  return Object.entries(env)
    .filter(([name, value]) => value !== undefined && !MACHINE_VARIABLES.has(name))
    .map(([name, value]) => {
      if (/[\r\n']/.test(value!)) throw new Error(`${name} cannot be written to an env file`);
      return `${name}='${value}'\n`;
    })
    .join("");
}

function shellExports(env: NodeJS.ProcessEnv, names: string[]): string {
  return names.map((name) => `export ${name}='${env[name] ?? ""}'\n`).join("");
}

/** The VSIX made from the sources as they are: the one in dist/ when its sources' hash matches, else a new one. */
function packagedExtension(): string {
  const current = currentVsix();
  if (current) {
    console.log(`${path.relative(process.cwd(), current)} was made from the sources as they are (same content hash): not packaged again.`);
    return current;
  }
  console.log("The VSIX in dist/ is missing or older than the sources: npm run package");
  // npm sets npm_execpath when this runs as `npm run local-azure`; otherwise call npm from PATH.
  const npm = process.env["npm_execpath"]
    ? spawnSync(process.execPath, [process.env["npm_execpath"], "run", "package"], { cwd: repoRoot, stdio: "inherit" })
    : spawnSync("npm", ["run", "package"], { cwd: repoRoot, stdio: "inherit", shell: process.platform === "win32" });
  if (npm.status !== 0) throw new Error(`npm run package failed (exit ${npm.status ?? npm.signal})`);
  return findVsix();
}

/** The environment name the agent gives a task variable (task-lib's key: upper case, '.' and spaces as '_'). */
const taskVariableEnv = (name: string) => `VSTS_TASKVARIABLE_${name.replace(/[. ]/g, "_").toUpperCase()}`;

async function main(): Promise<void> {
  const port = portFromArgs();
  const vsix = packagedExtension();
  rmSync(EXTENSION_DIR, { recursive: true, force: true });
  extractVsix(vsix, EXTENSION_DIR);
  rmSync(WORK_DIR, { recursive: true, force: true });
  // task.env holds the service principal's secret: the directory and the file are the owner's alone.
  mkdirSync(WORK_DIR, { recursive: true, mode: 0o700 });
  mkdirSync(path.join(WORK_DIR, "agent-temp"), { mode: 0o700 });

  // As in the demo: an operation answers InProgress once, with Retry-After: 1, as a scaled-down AKS.
  const azure = await startLocalAzure({ httpsPort: port, imdsPort: port + 1, operationPolls: 1, retryAfterSeconds: 1 });
  const connection = (await createServiceConnections(azure)).get("spnKey")!;
  const servicePrincipal = {
    clientId: connection.endpoint.parameters["serviceprincipalid"]!,
    clientSecret: connection.endpoint.parameters["serviceprincipalkey"]!,
  };
  seedLocalAzure(azure, azure.objectIdOf(servicePrincipal.clientId)!);

  // A path that stays the same from one start to the next (the certificate itself is new each time).
  const caCertPath = path.join(WORK_DIR, "ca.pem");
  copyFileSync(azure.caCertPath, caCertPath);
  const taskEnvPath = path.join(WORK_DIR, "task.env");
  const taskEnv = buildEnvironment(
    {
      inputs: { azureSubscription: connection.endpoint.id },
      endpoints: [connection.endpoint],
      env: { ...clientEnvironment(azure), NODE_EXTRA_CA_CERTS: caCertPath, ...connection.env },
    },
    path.join(WORK_DIR, "agent-temp"),
  );
  writeFileSync(taskEnvPath, envFile(taskEnv), { mode: 0o600 });

  let az: AzSession | undefined;
  let azMissing: string | undefined;
  if (spawnSync("az", ["version"], { stdio: "ignore" }).status === 0) {
    az = await startAzSession(azure, servicePrincipal);
    writeFileSync(
      path.join(WORK_DIR, "az.env"),
      shellExports(az.env, ["AZURE_CONFIG_DIR", "AZURE_EXTENSION_DIR", "REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "NO_PROXY"]),
    );
  } else {
    azMissing = "az is not installed (Debian: apt-get install azure-cli); start this again after installing it";
  }

  const v = hardeningPipeline.variables;
  const rel = (file: string) => path.relative(process.cwd(), file) || ".";
  console.log(`
Local Azure on ${azure.url} (managed-identity endpoint ${azure.imdsUrl})
  tenant ${azure.tenantId}, subscription ${azure.subscriptionId}
  resources: cluster '${v.clusterName}' and identity '${v.identityName}' and key vault '${v.keyVaultName}' in resource group '${v.resourceGroup}'
  service connection: service principal ${servicePrincipal.clientId} (secret in the env file), endpoint id ${connection.endpoint.id}

Run a packaged task (unpacked from ${rel(vsix)} into ${rel(EXTENSION_DIR)}) by hand: the agent's environment is in
${rel(taskEnvPath)} (ENDPOINT_*, INPUT_AZURESUBSCRIPTION, NODE_OPTIONS with the Azure host preload, AGENT_TEMPDIRECTORY, ...).
Node reads NODE_EXTRA_CA_CERTS before --env-file, so the CA file goes on the command line; the task's inputs are INPUT_<NAME>:

  export NODE_EXTRA_CA_CERTS=${rel(caCertPath)}
  INPUT_RESOURCEGROUPNAME=${v.resourceGroup} INPUT_CLUSTERNAME=${v.clusterName} INPUT_ACTION=add INPUT_AUTHORIZEDIPRANGES=203.0.113.0/24 \\
    node --env-file=${rel(taskEnvPath)} ${rel(path.join(EXTENSION_DIR, "tasks", "RestrictApiServer", "index.js"))}

What the agent would give the task, which a run by hand gives itself:
  - includeAgentIp: the agent's address comes from agentIpServiceUrl; here it is the local Azure's echo service,
      INPUT_AGENTIPSERVICEURL=${azure.url}/ip   (it answers ${azure.publicIp})
  - the post-job step (RestrictApiServer's or KeyVaultSecrets' post.js) reads the task variable its main step set: copy each
      ##vso[task.settaskvariable variable=<name>;]<value> line of the main step into ${taskVariableEnv("<name>")}=<value>, i.e.
      ${taskVariableEnv(JOB_SCOPED_ACCESS_TASK_VARIABLE)}=<value>
    then run ${rel(path.join(EXTENSION_DIR, "tasks", "RestrictApiServer", "post.js"))} with the same inputs.
  - pipeline variables go in as their environment names (AKSHARDENING_CLUSTERBUSYTIMEOUTSECONDS=60). A secret variable
    reaches a task as SECRET_<NAME>, but $(name) in an input is expanded by the agent before the task starts: by hand,
    put the value in the input (INPUT_SECRETS="db-password=$DB_PASSWORD").
  - SYSTEM_DEBUG=true shows task-lib's debug lines, as system.debug does on an agent.

What the runs read and wrote (method, status, path; never a body), and whether anything was written:
  curl -s --cacert ${rel(caCertPath)} ${azure.url}${REQUEST_LOG_PATH}
  curl -s --cacert ${rel(caCertPath)} -X DELETE ${azure.url}${REQUEST_LOG_PATH}   # empty it before a run
`);
  if (az) {
    console.log(`az is signed in to the local Azure in its own config dir:

  . ${rel(path.join(WORK_DIR, "az.env"))}
  az aks show -g ${v.resourceGroup} -n ${v.clusterName} --query apiServerAccessProfile
`);
  } else console.log(`${azMissing}.\n`);
  console.log("Ctrl-C stops the local Azure.");

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await az?.close();
    await azure.close();
    rmSync(WORK_DIR, { recursive: true, force: true });
    console.log("\nLocal Azure stopped.");
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error && /EADDRINUSE/.test(error.message) ? `${error.message}: pick another with -- --port <n>` : error);
  process.exit(1);
});
