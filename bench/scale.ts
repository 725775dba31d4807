/**
 * Scale: how time and calls grow with the work (secrets, authorized ranges, policy assignments) and with
 * how much of it is already compliant. One run per point (the runs are long and their cost is the calls).
 */
import * as path from "node:path";
import type { Fixture } from "../test/harness/fixture";
import { assertSucceeded, countCalls, runTask, type CallCounts, type TaskSpec } from "./measure";
import { ARTICLE_POLICIES, newCluster, newVault, secretLines, type TaskName } from "./scenarios";

export interface ScalePoint {
  task: TaskName;
  work: string;
  size: number;
  /** Share of the work already in place before the run. */
  compliant: number;
  totalMs: number;
  counts: CallCounts;
  note?: string;
}

const valueOf = (i: number) => `value-${i}-${"v".repeat(32)}`;

/** `count` IPv4 /32 addresses: `blocks` runs of `perBlock` consecutive addresses, each run a whole aligned CIDR. */
export function addressBlocks(blocks: number, perBlock: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < blocks; b++) {
    const base = ((20 << 24) >>> 0) + b * 256; // 20.0.b.0 and up: public, one block per /24
    for (let i = 0; i < perBlock; i++) {
      const n = base + i;
      out.push([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join("."));
    }
  }
  return out;
}

export async function scale(fx: Fixture, sizes: { secrets: number[]; ranges: number[]; policies: number[] }, log: (line: string) => void) {
  const points: ScalePoint[] = [];
  const record = (p: ScalePoint) => {
    points.push(p);
    log(
      `  ${p.task} ${p.work}=${p.size} compliant ${Math.round(p.compliant * 100)}%: ${p.totalMs.toFixed(0)} ms, ${p.counts.total} requests (${p.counts.read} reads, ${p.counts.write} writes)`,
    );
  };

  // KeyVaultSecrets: N secrets, a share of them already holding the wanted value, the rest absent.
  const kvScript = path.join(fx.taskDir("KeyVaultSecrets"), "index.js");
  for (const n of sizes.secrets) {
    for (const compliant of [0, 0.5, 1]) {
      const vault = newVault(fx);
      const present = Math.round(n * compliant);
      for (let i = 0; i < present; i++) fx.azure.store.setVaultSecret(vault, `app-secret-${i}`, valueOf(i));
      const { lines, secrets } = secretLines(n, valueOf);
      const spec: TaskSpec = { secrets, inputs: { resourceGroupName: "rg-bench", keyVaultName: vault, secrets: lines } };
      const run = assertSucceeded(await runTask(fx, kvScript, spec, 300_000), `KeyVaultSecrets ${n} secrets`);
      record({ task: "KeyVaultSecrets", work: "secrets", size: n, compliant, totalMs: run.totalMs, counts: countCalls(run.requests) });
    }
  }

  // RestrictApiServer: N authorized ranges; the cluster holds none, half, or all of them already.
  const rsScript = path.join(fx.taskDir("RestrictApiServer"), "index.js");
  for (const n of sizes.ranges) {
    const wanted = addressBlocks(n, 1).map((a) => `${a}/32`);
    for (const compliant of [0, 0.5, 1]) {
      const cluster = newCluster(fx);
      const already = wanted.slice(0, Math.round(n * compliant));
      if (already.length > 0) {
        const id = fx.azure.store.getManagedCluster(cluster.resourceGroup, cluster.name)!.id;
        const current = fx.azure.store.get(id)!;
        fx.azure.store.put({ ...current, properties: { ...current.properties, apiServerAccessProfile: { authorizedIPRanges: already } } });
      }
      const spec: TaskSpec = {
        inputs: {
          resourceGroupName: cluster.resourceGroup,
          clusterName: cluster.name,
          action: "set",
          authorizedIpRanges: wanted.join("\n"),
        },
      };
      const run = assertSucceeded(await runTask(fx, rsScript, spec), `RestrictApiServer ${n} ranges`);
      record({ task: "RestrictApiServer", work: "ranges", size: n, compliant, totalMs: run.totalMs, counts: countCalls(run.requests) });
    }
  }
  // 5,120 input addresses (160 runs of 32) that the task joins into 160 /27s, first run and re-run.
  {
    const inputs = addressBlocks(160, 32);
    const cluster = newCluster(fx);
    const spec: TaskSpec = {
      inputs: { resourceGroupName: cluster.resourceGroup, clusterName: cluster.name, action: "set", authorizedIpRanges: inputs.join("\n") },
    };
    for (const compliant of [0, 1]) {
      const run = assertSucceeded(await runTask(fx, rsScript, spec), "RestrictApiServer 5,120 inputs");
      const after = fx.azure.store.getManagedCluster(cluster.resourceGroup, cluster.name)!.properties!["apiServerAccessProfile"] as {
        authorizedIPRanges?: string[];
      };
      record({
        task: "RestrictApiServer",
        work: "input addresses",
        size: inputs.length,
        compliant,
        totalMs: run.totalMs,
        counts: countCalls(run.requests),
        note: `joined into ${after.authorizedIPRanges?.length ?? 0} CIDRs`,
      });
    }
  }

  // AssignAksPolicies: 5 built-ins + custom Kubernetes definitions; none, half or all already assigned.
  const apScript = path.join(fx.taskDir("AssignAksPolicies"), "index.js");
  for (const n of sizes.policies) {
    const custom: string[] = [];
    for (let i = 0; i < Math.max(0, n - 5); i++) {
      custom.push(
        fx.azure.store.addPolicyDefinition(`bench-k8s-${n}-${i}`, {
          displayName: `Bench Kubernetes policy ${i}`,
          mode: "Microsoft.Kubernetes.Data",
          parameters: {
            effect: { type: "String", allowedValues: ["audit", "deny", "disabled"], defaultValue: "audit" },
            excludedNamespaces: { type: "Array", defaultValue: [] },
          },
          policyRule: {
            if: { field: "type", equals: "Microsoft.ContainerService/managedClusters" },
            then: { effect: "[parameters('effect')]" },
          },
        }).id,
      );
    }
    const builtIns = "noPrivilegedContainers,resourceLimits,allowedImages,podSecurityBaseline,podSecurityRestricted".split(",").slice(0, n);
    const specFor = (cluster: { resourceGroup: string; name: string }, share: number): TaskSpec => {
      const b = builtIns.slice(0, Math.ceil(builtIns.length * share));
      const c = custom.slice(0, Math.floor(custom.length * share));
      return {
        inputs: {
          resourceGroupName: cluster.resourceGroup,
          clusterName: cluster.name,
          ...ARTICLE_POLICIES,
          policies: b.join(","),
          customPolicyDefinitionIds: c.join("\n"),
        },
      };
    };
    for (const compliant of [0, 0.5, 1]) {
      const cluster = newCluster(fx);
      if (compliant > 0) assertSucceeded(await runTask(fx, apScript, specFor(cluster, compliant)), `AssignAksPolicies setup`);
      const run = assertSucceeded(await runTask(fx, apScript, specFor(cluster, 1), 300_000), `AssignAksPolicies ${n} policies`);
      record({
        task: "AssignAksPolicies",
        work: "assignments",
        size: n,
        compliant,
        totalMs: run.totalMs,
        counts: countCalls(run.requests),
      });
    }
  }
  return points;
}
