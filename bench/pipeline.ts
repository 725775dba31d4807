/**
 * The article's hardening pipeline, ours (the four packaged tasks) against the same steps as an `az`
 * script, on fresh resources each repetition, first run then the same pipeline again (compliant).
 * Long-running operations are scaled down: each AKS write answers InProgress to 2 polls with Retry-After: 1.
 */
import * as path from "node:path";
import type { Fixture } from "../test/harness/fixture";
import { INJECTED_LATENCY_MS } from "./calls";
import { countCalls, runTask, sequentialRoundTrips, type CallCounts } from "./measure";
import type { AzSession } from "./az-cli";
import { POD_IDENTITY_FEATURE, newCluster, newVault } from "./scenarios";

/** Public, non-reserved ranges: az refuses the documentation ranges (TEST-NET) the demo uses. */
export const PIPELINE_RANGES = ["20.50.0.0/24", "52.10.1.14/32"];
const SECRETS = {
  "db-url": "jdbc:sqlserver://todo-sql.database.windows.net;database=todo",
  "db-user": "todoadmin",
  "db-password": "P@ss-w0rd-42",
};
const POLICY_IDS = {
  noPrivilegedContainers: "95edb821-ddaf-4404-9732-666045e056b4",
  resourceLimits: "e345eecc-fa47-480f-9e88-67dcc122b164",
  allowedImages: "febd0533-8e55-448f-b837-bd0e06f16469",
};
const IMAGES_REGEX = "^todoappregistry\\.azurecr\\.io/.+$";

export type Group =
  "sign-in" | "Key Vault: grant + 3 secrets" | "pod identity + Reader on node RG" | "policy add-on + 3 assignments" | "authorized ranges";
export const GROUPS: Group[] = [
  "sign-in",
  "Key Vault: grant + 3 secrets",
  "pod identity + Reader on node RG",
  "policy add-on + 3 assignments",
  "authorized ranges",
];

export interface StepResult {
  side: "ours" | "az";
  pass: "first run" | "re-run";
  group: Group;
  step: string;
  ms: number;
  ok: boolean;
  error?: string;
  counts: CallCounts;
  /** Sequential round trips of the step (see sequentialRoundTrips). */
  roundTrips: number;
}

export const AZ_CANNOT = [
  {
    step: "az keyvault secret set",
    why: "Debian's azure-cli 2.45.0-1 lacks the vendored Key Vault data-plane SDK the command loads (`azure.keyvault.v7_0`), so it fails before any request",
  },
  {
    step: "az role assignment create",
    why: "in Debian's package the role module and its Authorization SDK do not match (`RoleAssignmentsOperations` has no `config`), so it fails before any request",
  },
  {
    step: "az aks update --enable-pod-identity; az aks pod-identity add",
    why: "both come only from the aks-preview extension in az 2.45 (core az has neither flag nor command), and `az extension add --name aks-preview` downloads the extension from its index on the internet, which this machine cannot reach",
  },
];

interface Resources {
  rg: string;
  cluster: string;
  clusterId: string;
  nodeRg: string;
  vault: string;
  identityName: string;
  identityId: string;
  principalId: string;
}

function setUp(fx: Fixture): Resources {
  fx.azure.store.setFeatureState(...POD_IDENTITY_FEATURE, "Registered");
  const { resourceGroup: rg, name: cluster } = newCluster(fx, "rg-pipeline");
  const c = fx.azure.store.getManagedCluster(rg, cluster)!;
  const nodeRg = String(c.properties!["nodeResourceGroup"]);
  if (!fx.azure.store.getResourceGroup(nodeRg)) fx.azure.store.addResourceGroup(nodeRg);
  const vault = newVault(fx, rg);
  const identity = fx.azure.store.addUserAssignedIdentity(rg, `id-todo-${cluster}`);
  return {
    rg,
    cluster,
    clusterId: c.id,
    nodeRg,
    vault,
    identityName: identity.name,
    identityId: identity.id,
    principalId: String(identity.properties!["principalId"]),
  };
}

async function ours(fx: Fixture, r: Resources, pass: StepResult["pass"]): Promise<StepResult[]> {
  const steps: { group: Group; task: string; spec: Parameters<typeof runTask>[2] }[] = [
    {
      group: "Key Vault: grant + 3 secrets",
      task: "KeyVaultSecrets",
      spec: {
        secrets: SECRETS,
        inputs: {
          resourceGroupName: r.rg,
          keyVaultName: r.vault,
          grantTo: r.identityId,
          secrets: Object.entries(SECRETS)
            .map(([k, v]) => `${k}=${v}`)
            .join("\n"),
        },
      },
    },
    {
      group: "pod identity + Reader on node RG",
      task: "EnablePodIdentity",
      spec: {
        inputs: {
          resourceGroupName: r.rg,
          clusterName: r.cluster,
          identityMode: "podIdentity",
          identity: r.identityName,
          namespace: "spboot-app",
          podIdentityName: "spboot-pod-identity",
          grantReaderOnNodeResourceGroup: true,
        },
      },
    },
    {
      group: "policy add-on + 3 assignments",
      task: "AssignAksPolicies",
      spec: {
        inputs: {
          resourceGroupName: r.rg,
          clusterName: r.cluster,
          policies: "noPrivilegedContainers,resourceLimits,allowedImages",
          effect: "Deny",
          cpuLimit: "500m",
          memoryLimit: "512Mi",
          allowedImagesRegex: IMAGES_REGEX,
        },
      },
    },
    {
      group: "authorized ranges",
      task: "RestrictApiServer",
      spec: { inputs: { resourceGroupName: r.rg, clusterName: r.cluster, action: "set", authorizedIpRanges: PIPELINE_RANGES.join(",") } },
    },
  ];
  const out: StepResult[] = [];
  for (const s of steps) {
    const run = await runTask(fx, path.join(fx.taskDir(s.task), "index.js"), s.spec, 300_000);
    const ok = run.result === "Succeeded";
    out.push({
      side: "ours",
      pass,
      group: s.group,
      step: `${s.task}@1`,
      ms: run.totalMs,
      ok,
      ...(ok ? {} : { error: run.resultMessage ?? "" }),
      counts: countCalls(run.requests),
      roundTrips: sequentialRoundTrips(run.requests),
    });
  }
  return out;
}

async function azScript(fx: Fixture, az: AzSession, r: Resources, pass: StepResult["pass"], login: string[]): Promise<StepResult[]> {
  const out: StepResult[] = [];
  const step = async (group: Group, args: string[]): Promise<string> => {
    fx.azure.clearRequests();
    const run = await az.run(args);
    const ok = run.exitCode === 0;
    out.push({
      side: "az",
      pass,
      group,
      step: `az ${args
        .slice(0, 3)
        .filter((a) => !a.startsWith("-"))
        .join(" ")}`,
      ms: run.totalMs,
      ok,
      ...(ok ? {} : { error: azError(run.stderr) }),
      counts: countCalls(fx.azure.requests),
      roundTrips: sequentialRoundTrips(fx.azure.requests),
    });
    return run.stdout.trim();
  };
  await step("sign-in", login);
  await step("pod identity + Reader on node RG", [
    "feature",
    "register",
    "--name",
    "EnablePodIdentityPreview",
    "--namespace",
    "Microsoft.ContainerService",
  ]);
  await step("Key Vault: grant + 3 secrets", [
    "keyvault",
    "set-policy",
    "--name",
    r.vault,
    "--resource-group",
    r.rg,
    "--secret-permissions",
    "get",
    "list",
    "--object-id",
    r.principalId,
  ]);
  for (const [name, value] of Object.entries(SECRETS)) {
    await step("Key Vault: grant + 3 secrets", ["keyvault", "secret", "set", "--vault-name", r.vault, "--name", name, "--value", value]);
  }
  const nodeRg = await step("pod identity + Reader on node RG", [
    "aks",
    "show",
    "-g",
    r.rg,
    "-n",
    r.cluster,
    "--query",
    "nodeResourceGroup",
    "-o",
    "tsv",
  ]);
  const nodeRgId = await step("pod identity + Reader on node RG", [
    "group",
    "show",
    "-n",
    nodeRg || r.nodeRg,
    "--query",
    "id",
    "-o",
    "tsv",
  ]);
  await step("pod identity + Reader on node RG", [
    "role",
    "assignment",
    "create",
    "--role",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "--assignee-object-id",
    r.principalId,
    "--assignee-principal-type",
    "ServicePrincipal",
    "--scope",
    nodeRgId || `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${r.nodeRg}`,
  ]);
  await step("policy add-on + 3 assignments", ["aks", "enable-addons", "--addons", "azure-policy", "-g", r.rg, "-n", r.cluster]);
  const params: Record<string, Record<string, unknown>> = {
    noPrivilegedContainers: { effect: { value: "Deny" } },
    resourceLimits: { effect: { value: "Deny" }, cpuLimit: { value: "500m" }, memoryLimit: { value: "512Mi" } },
    allowedImages: { effect: { value: "Deny" }, allowedContainerImagesRegex: { value: IMAGES_REGEX } },
  };
  for (const [key, id] of Object.entries(POLICY_IDS)) {
    await step("policy add-on + 3 assignments", [
      "policy",
      "assignment",
      "create",
      "--name",
      `aks-${key}`,
      "--policy",
      id,
      "--scope",
      r.clusterId,
      "--params",
      JSON.stringify(params[key]),
    ]);
  }
  await step("authorized ranges", [
    "aks",
    "update",
    "-g",
    r.rg,
    "-n",
    r.cluster,
    "--api-server-authorized-ip-ranges",
    PIPELINE_RANGES.join(","),
  ]);
  return out;
}

/** The line of az's stderr that says what went wrong (its last exception or ERROR line). */
export function azError(stderr: string): string {
  const lines = stderr.trim().split("\n");
  const line = [...lines].reverse().find((l) => /^(\w+(\.\w+)*(Error|Exception)\b|ERROR:|Message:)/.test(l.trim())) ?? lines[0] ?? "";
  return line.trim().slice(0, 240);
}

export async function pipeline(
  fx: Fixture,
  az: AzSession | undefined,
  login: string[],
  repetitions: number,
  budgetMs: number,
  log: (line: string) => void,
): Promise<{ steps: StepResult[][]; repetitions: number; withLatency: StepResult[] }> {
  const all: StepResult[][] = [];
  const deadline = Date.now() + budgetMs;
  for (let i = 0; i < repetitions && (i === 0 || Date.now() < deadline); i++) {
    const results: StepResult[] = [];
    const mine = setUp(fx);
    for (const pass of ["first run", "re-run"] as const) results.push(...(await ours(fx, mine, pass)));
    if (az) {
      const theirs = setUp(fx);
      for (const pass of ["first run", "re-run"] as const) results.push(...(await azScript(fx, az, theirs, pass, login)));
    }
    all.push(results);
    const sum = (side: string, pass: string) =>
      results
        .filter((s) => s.side === side && s.pass === pass)
        .reduce((a, s) => a + s.ms, 0)
        .toFixed(0);
    log(
      `  repetition ${i + 1}: ours ${sum("ours", "first run")} / ${sum("ours", "re-run")} ms; az ${sum("az", "first run")} / ${sum("az", "re-run")} ms; failures: ${results
        .filter((s) => !s.ok)
        .map((s) => `${s.side} ${s.pass} ${s.step}: ${s.error}`)
        .join("; ")}`,
    );
  }
  // Once more with latency injected on every answer: the round trips (which need it to be read
  // apart) and the time a network's round trips would add, for both sides.
  fx.azure.latencyMs = INJECTED_LATENCY_MS;
  const withLatency: StepResult[] = [];
  try {
    const mine = setUp(fx);
    for (const pass of ["first run", "re-run"] as const) withLatency.push(...(await ours(fx, mine, pass)));
    if (az) {
      const theirs = setUp(fx);
      for (const pass of ["first run", "re-run"] as const) withLatency.push(...(await azScript(fx, az, theirs, pass, login)));
    }
  } finally {
    fx.azure.latencyMs = 0;
  }
  return { steps: all, repetitions: all.length, withLatency };
}
