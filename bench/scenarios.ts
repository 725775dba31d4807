/**
 * The article's steps as task invocations, each with the local-Azure state it starts from. A scenario's
 * `setUp` makes fresh resources (so scenarios never see each other's state) and returns the inputs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { build } from "esbuild";
import type { Fixture } from "../test/harness/fixture";
import { REPO, type TaskSpec } from "./measure";

export const TASKS = ["RestrictApiServer", "EnablePodIdentity", "KeyVaultSecrets", "AssignAksPolicies"] as const;
export type TaskName = (typeof TASKS)[number];

export const POD_IDENTITY_FEATURE = ["Microsoft.ContainerService", "EnablePodIdentityPreview"] as const;
export const OFFICE_RANGES = "203.0.113.0/24, 198.51.100.14";
export const ARTICLE_POLICIES = {
  policies: "noPrivilegedContainers,resourceLimits,allowedImages",
  effect: "Deny",
  cpuLimit: "500m",
  memoryLimit: "512Mi",
  allowedImagesRegex: "^todoappregistry\\.azurecr\\.io/.+$",
};

let counter = 0;
const unique = (prefix: string) => `${prefix}${++counter}`;

export interface Scenario {
  task: TaskName;
  what: string;
  spec: TaskSpec;
  cluster?: { resourceGroup: string; name: string };
}

/** A running Azure CNI cluster (pod identity refuses kubenet without consent). */
export function newCluster(fx: Fixture, resourceGroup = "rg-bench"): { resourceGroup: string; name: string } {
  const name = unique("aks-bench-");
  fx.azure.store.addManagedCluster(resourceGroup, name, { properties: { networkProfile: { networkPlugin: "azure" } } });
  return { resourceGroup, name };
}

/** A vault on which the connection may get, list, set and recover secrets. */
export function newVault(fx: Fixture, resourceGroup = "rg-bench"): string {
  const name = unique("kv-bench-");
  fx.azure.store.addKeyVault(resourceGroup, name, {
    accessPolicies: [
      {
        tenantId: fx.azure.tenantId,
        objectId: fx.principalObjectId("spnKey"),
        permissions: { secrets: ["get", "list", "set", "recover"] },
      },
    ],
  });
  return name;
}

/** `count` secret pipeline variables and the task's `secrets` input lines for them. */
export function secretLines(count: number, valueOf: (i: number) => string): { lines: string; secrets: Record<string, string> } {
  const secrets: Record<string, string> = {};
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const variable = `secret${i}`;
    secrets[variable] = valueOf(i);
    // The agent expands $(secretN) in the input before the task runs.
    lines.push(`app-secret-${i}=${secrets[variable]}`);
  }
  return { lines: lines.join("\n"), secrets };
}

/** What each task's article scenario does, in words. */
export function articleScenarioWhat(task: TaskName): string {
  return {
    RestrictApiServer: "set the API server's authorized ranges (2 ranges)",
    EnablePodIdentity: "pod identity for namespace 'todo', Reader on the node resource group",
    KeyVaultSecrets: "grant get,list to an identity (access policy), write the article's 3 secrets",
    AssignAksPolicies: "Azure Policy add-on and the article's 3 policies in Deny",
  }[task];
}

/** One scenario per task, as the article does it, each on its own fresh resources. */
export function articleScenario(fx: Fixture, task: TaskName): Scenario {
  const rg = "rg-bench";
  switch (task) {
    case "RestrictApiServer": {
      const cluster = newCluster(fx, rg);
      return {
        task,
        what: "set the API server's authorized ranges (2 ranges)",
        cluster,
        spec: { inputs: { resourceGroupName: rg, clusterName: cluster.name, action: "set", authorizedIpRanges: OFFICE_RANGES } },
      };
    }
    case "EnablePodIdentity": {
      fx.azure.store.setFeatureState(...POD_IDENTITY_FEATURE, "Registered");
      const cluster = newCluster(fx, rg);
      const identity = fx.azure.store.addUserAssignedIdentity(rg, unique("id-todo-"));
      return {
        task,
        what: "pod identity for namespace 'todo', Reader on the node resource group",
        cluster,
        spec: {
          inputs: {
            resourceGroupName: rg,
            clusterName: cluster.name,
            identityMode: "podIdentity",
            identity: identity.name,
            namespace: "todo",
            podIdentityName: "todo-app",
            grantReaderOnNodeResourceGroup: true,
          },
        },
      };
    }
    case "KeyVaultSecrets": {
      const vault = newVault(fx, rg);
      const identity = fx.azure.store.addUserAssignedIdentity(rg, unique("id-todo-"));
      const { lines, secrets } = secretLines(3, (i) => `value-${i}-${"x".repeat(40)}`);
      return {
        task,
        what: "grant get,list to an identity (access policy), write the article's 3 secrets",
        spec: { secrets, inputs: { resourceGroupName: rg, keyVaultName: vault, grantTo: identity.id, secrets: lines } },
      };
    }
    case "AssignAksPolicies": {
      const cluster = newCluster(fx, rg);
      return {
        task,
        what: "Azure Policy add-on and the article's 3 policies in Deny",
        cluster,
        spec: { inputs: { resourceGroupName: rg, clusterName: cluster.name, ...ARTICLE_POLICIES } },
      };
    }
  }
}

/**
 * The same task entry points built without bundling their dependencies (esbuild `packages: 'external'`):
 * the project's own code in one file, every npm package resolved from node_modules at run time, as a
 * task that ships node_modules does. Built under .tmp/ so that node_modules resolves up the tree.
 */
export async function buildUnbundled(): Promise<string> {
  const outRoot = path.join(REPO, ".tmp", "bench-unbundled");
  fs.rmSync(outRoot, { recursive: true, force: true });
  for (const task of TASKS) {
    await build({
      entryPoints: [path.join(REPO, "tasks", task, "index.ts")],
      outfile: path.join(outRoot, task, "index.js"),
      bundle: true,
      packages: "external",
      platform: "node",
      target: "node20",
      format: "cjs",
      minify: true,
      logLevel: "error",
    });
  }
  return outRoot;
}
