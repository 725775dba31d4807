/**
 * `npm run demo`: the article's hardening pipeline, task by task, against the built-in local
 * Azure. Each task runs from the packaged VSIX exactly as the agent runs it; the demo prints what
 * the pipeline log would show and each job summary, then runs everything again to show that a
 * compliant cluster gets no write.
 */
import { Fixture } from "../test/harness/fixture";
import type { StepRun } from "../test/harness/agent";

const RESOURCE_GROUP = "rg-secure-aks";
const CLUSTER = "aks-todo-app";
const OFFICE_RANGES = "203.0.113.0/24, 198.51.100.14";

async function main(): Promise<void> {
  // Long-running operations answer InProgress once, with Retry-After: 1, as a scaled-down AKS.
  const fx = await Fixture.start({ operationPolls: 1, retryAfterSeconds: 1 });
  try {
    fx.azure.store.addManagedCluster(RESOURCE_GROUP, CLUSTER, {});
    fx.azure.publicIp = "198.51.100.200";
    heading(`Local Azure at ${fx.azure.url}: cluster '${CLUSTER}' in '${RESOURCE_GROUP}', its API server open to every address`);

    for (const pass of ["First run: harden the cluster", "Second run: the same pipeline again"]) {
      heading(pass);
      // Step 1 of the job: the cluster's permanent list of authorized ranges.
      fx.azure.clearRequests();
      const restrict = await fx.run("RestrictApiServer", {
        inputs: { resourceGroupName: RESOURCE_GROUP, clusterName: CLUSTER, action: "set", authorizedIpRanges: OFFICE_RANGES },
      });
      show("RestrictApiServer@1 — restrict the API server to the office", restrict);
      requests(fx);

      // Step 2: open the API server to this agent for the job only; the post-job step closes it.
      fx.azure.clearRequests();
      const job = await fx.runJob("RestrictApiServer", {
        inputs: {
          resourceGroupName: RESOURCE_GROUP,
          clusterName: CLUSTER,
          action: "add",
          includeAgentIp: true,
          agentIpScope: "job",
          agentIpServiceUrl: `${fx.azure.url}/ip`,
        },
      });
      show("RestrictApiServer@1 — let this agent in for the job", job.main);
      console.log("\n   … the job's deployment steps (kubectl, helm) reach the API server from the agent here …");
      show("RestrictApiServer@1 — post-job step", job.post);
      requests(fx);

      // Step 3: the Azure Policy add-on and the article's three policies, enforced.
      fx.azure.clearRequests();
      const policy = await fx.run("AssignAksPolicies", {
        inputs: {
          resourceGroupName: RESOURCE_GROUP,
          clusterName: CLUSTER,
          policies: "noPrivilegedContainers,resourceLimits,allowedImages",
          effect: "Deny",
          cpuLimit: "500m",
          memoryLimit: "512Mi",
          allowedImagesRegex: "^todoappregistry\\.azurecr\\.io/.+$",
          reportCompliance: true,
        },
      });
      show("AssignAksPolicies@1 — Azure Policy add-on and the article's policies in Deny", policy);
      requests(fx);
      for (const run of [restrict, job.main, job.post, policy]) if (run.result !== "Succeeded") process.exitCode = 1;
    }
  } finally {
    await fx.close();
  }
}

/** The Azure Resource Manager calls the step(s) made, from the local Azure's request log. */
function requests(fx: Fixture): void {
  const arm = fx.armRequests();
  console.log(`\n   Azure Resource Manager: ${arm.length} requests, ${fx.armWrites().length} writes`);
  for (const r of arm) {
    const path = r.path.replace(/^\/subscriptions\/[^/]+/, "/subscriptions/…").replace(/\/providers\/Microsoft\.ContainerService\//, "/…/");
    console.log(`     ${r.method.padEnd(4)} ${path} → ${r.status}${r.ifMatch ? ` (If-Match: ${r.ifMatch})` : ""}`);
  }
}

function heading(text: string): void {
  console.log(`\n${"=".repeat(100)}\n${text}\n${"=".repeat(100)}`);
}

/** What the pipeline log shows (debug lines hidden, as without system.debug), then the job summary. */
function show(step: string, run: StepRun): void {
  console.log(`\n── ${step}: ${run.result} ${run.resultMessage ? `(${run.resultMessage})` : ""}`);
  for (const line of run.stdout.split("\n")) {
    if (!line || line.startsWith("##vso[task.debug]") || line.startsWith("##vso[task.setsecret]")) continue;
    const command = /^##vso\[task\.(\w+)([^\]]*)\](.*)$/.exec(line);
    if (!command) console.log(`   ${line}`);
    else if (command[1] === "issue") console.log(`   ${/type=warning/.test(command[2]!) ? "WARNING" : "ERROR"}: ${command[3]}`);
    else if (command[1] === "setvariable") console.log(`   output ${/variable=([^;]+)/.exec(command[2]!)?.[1]} = ${command[3]}`);
  }
  for (const summary of run.summaries) {
    console.log(`\n   Job summary:\n${summary.replace(/^/gm, "   │ ")}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
