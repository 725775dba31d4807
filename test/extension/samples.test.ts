import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fleetPipeline, hardeningPipeline, SERVICE_CONNECTION, STOCK_TASKS } from "../../scripts/demo-pipeline";
import { extensionTask, renderSamples, SAMPLE_FILES } from "../../scripts/samples";
import { parseRanges } from "../../tasks/RestrictApiServer/inputs";
import { parseAdminGroups } from "../../tasks/SecureClusterAccess/inputs";
import { InputError } from "../../core/errors";

describe("test/extension/samples", () => {
  interface WorkflowTask {
    taskId: string;
    version: string;
    refName: string;
    inputs: Record<string, string>;
  }
  interface ClassicRelease {
    variables: Record<string, { value: string; isSecret?: boolean }>;
    artifacts: { alias: string; type: string }[];
    environments: {
      name: string;
      environmentOptions: { skipArtifactsDownload: boolean };
      deployPhases: {
        name: string;
        deploymentInput: { skipArtifactsDownload: boolean; artifactsDownloadInput: { downloadInputs: { alias: string }[] } };
        workflowTasks: WorkflowTask[];
      }[];
    }[];
  }

  /** Files a script reads: the arguments of kubectl's, helm's and az's file options ('-' is standard input). */
  function scriptPaths(script: string): string[] {
    return [...script.matchAll(/(?:^|\s)(?:-f|--filename|-k|--kustomize|--template-file|--values)[=\s]+("[^"]+"|\S+)/g)]
      .map((m) => m[1]!.replace(/^"|"$/g, ""))
      .filter((file) => file !== "-");
  }

  /** A path a YAML job's script uses is in the job's checkout of the repository. */
  function yamlPathProblems(yaml: string, job: string, script: string): string[] {
    const block = yaml.split(/\n(?= {6}- job: )/).find((chunk) => chunk.startsWith(`      - job: ${job}\n`)) ?? "";
    return scriptPaths(script)
      .filter((file) => !(file.startsWith("$(Build.SourcesDirectory)/") && /\n {10}- checkout: self\n/.test(block)))
      .map((file) => `${job}: '${file}' is not in a checkout of the job`);
  }

  /** A path a classic stage's script uses is in an artifact of the release that its stage and phase download. */
  function classicPathProblems(release: ClassicRelease): string[] {
    const problems: string[] = [];
    for (const environment of release.environments) {
      for (const phase of environment.deployPhases) {
        const downloaded =
          phase.deploymentInput.skipArtifactsDownload || environment.environmentOptions.skipArtifactsDownload
            ? []
            : phase.deploymentInput.artifactsDownloadInput.downloadInputs.map((input) => input.alias);
        for (const task of phase.workflowTasks) {
          for (const file of scriptPaths(task.inputs["inlineScript"] ?? "")) {
            const alias = /^\$\(System\.DefaultWorkingDirectory\)\/([^/]+)\//.exec(file)?.[1];
            if (!alias || !release.artifacts.some((a) => a.alias === alias) || !downloaded.includes(alias))
              problems.push(`${environment.name}/${phase.name}: '${file}' is not in an artifact the phase downloads`);
          }
        }
      }
    }
    return problems;
  }

  it("samples/azure-pipelines.yml and samples/classic-release.json are what the demo pipeline renders (run `npm run samples`)", async () => {
    const rendered = await renderSamples();
    assert.equal(readFileSync(SAMPLE_FILES.yaml, "utf8"), rendered.yaml);
    assert.equal(readFileSync(SAMPLE_FILES.classic, "utf8"), rendered.classic);
    assert.equal(readFileSync(SAMPLE_FILES.fleet, "utf8"), rendered.fleet);
  });

  it("the fleet sample runs the cluster tasks in one stage over a matrix of clusters, as parallel jobs, with the scorecard before and after", () => {
    const fleet = readFileSync(SAMPLE_FILES.fleet, "utf8");
    const harden = fleetPipeline.stages.find((stage) => stage.stage === "Harden")!;
    const job = harden.jobs[0]!;
    assert.equal(harden.jobs.length, 1);
    const legs = Object.keys(job.strategy!.matrix);
    assert.ok(legs.length >= 3);
    assert.equal(job.strategy!.maxParallel, legs.length, "every leg can run at once");
    assert.deepEqual(
      job.steps.map((s) => s.task),
      [
        "AksHardeningReport@1",
        "SecureClusterAccess@1",
        "ConfigureAutoUpgrade@1",
        "EnableDefender@1",
        "EnablePodIdentity@1",
        "KeyVaultSecrets@1",
        "RestrictApiServer@1",
        "AssignAksPolicies@1",
        "AksHardeningReport@1",
      ],
    );
    assert.match(
      fleet,
      new RegExp(`strategy:\\n {10}maxParallel: ${legs.length}\\n {10}matrix:\\n {12}${legs[0]}:\\n {14}resourceGroup: `),
    );
  });

  it("each sample opens with every value a user must change, before its first line of YAML or in the classic release's description", async () => {
    const rendered = await renderSamples();
    const release = JSON.parse(rendered.classic) as { description: string; variables: Record<string, unknown> };
    for (const [pipeline, text] of [
      [hardeningPipeline, rendered.yaml],
      [fleetPipeline, rendered.fleet],
    ] as const) {
      const header = text.slice(0, text.indexOf("\ntrigger:"));
      assert.ok(
        header.split("\n").every((line) => line === "" || line.startsWith("#")),
        "the list is comments above the YAML",
      );
      const listed = pipeline.valuesToChange.flatMap((value) => value.names);
      for (const name of [SERVICE_CONNECTION, ...Object.keys(pipeline.variables), ...Object.keys(pipeline.secretVariables)])
        assert.ok(listed.includes(name) || header.includes(`#   ${name}: `), `${pipeline.name}: '${name}' is not listed at the top`);
    }
    const yamlHeader = rendered.yaml.slice(0, rendered.yaml.indexOf("\ntrigger:"));
    assert.match(yamlHeader, /adminRanges: every range that must reach the API server .*\n#\s+.*action: set, which REPLACES/);
    assert.match(yamlHeader, /allowedImagesRegex, cpuLimit, memoryLimit: enforced in Deny/);
    for (const name of Object.keys(hardeningPipeline.variables)) assert.ok(release.description.includes(name), `classic: '${name}'`);
    assert.match(release.description, /point the artifact _todo-app \(its project and repository IDs are placeholders\)/);
  });

  it("a sample pasted unchanged can replace no ranges and name no admin group: its placeholders are refused before any write, and it holds no documentation address", async () => {
    const rendered = await renderSamples();
    for (const pipeline of [hardeningPipeline, fleetPipeline]) {
      const v = pipeline.variables;
      assert.throws(
        () => parseRanges(v["adminRanges"]!),
        (e: unknown) => e instanceof InputError && /authorizedIpRanges/.test(e.message),
      );
      assert.throws(
        () => parseAdminGroups(v["aksAdminGroupObjectId"]!),
        (e: unknown) => e instanceof InputError && /adminGroupObjectIds/.test(e.message),
      );
    }
    // RFC 5737's documentation networks: a pasted sample must not put them in a real cluster's ranges.
    for (const text of Object.values(rendered)) assert.doesNotMatch(text, /\b(192\.0\.2|198\.51\.100|203\.0\.113)\.\d/);
  });

  it("the deploy step signs in the way a cluster without local accounts needs: kubelogin installed, then convert-kubeconfig before any kubectl", async () => {
    const release = JSON.parse((await renderSamples()).classic) as ClassicRelease;
    const deploy = hardeningPipeline.stages.find((s) => s.stage === "Deploy")!.jobs[0]!.steps;
    assert.deepEqual(
      deploy.map((s) => s.task),
      ["RestrictApiServer@1", "KubeloginInstaller@0", "AzureCLI@2"],
    );
    const classicTasks = release.environments.flatMap((e) => e.deployPhases.flatMap((p) => p.workflowTasks));
    assert.equal(classicTasks.filter((t) => t.taskId === STOCK_TASKS["KubeloginInstaller@0"]!.id).length, 1);
    const scripts = [
      deploy[2]!.inputs["inlineScript"]!,
      classicTasks.find((t) => t.taskId === STOCK_TASKS["AzureCLI@2"]!.id)!.inputs["inlineScript"]!,
    ];
    for (const script of scripts) {
      const lines = script.split("\n");
      const convert = lines.indexOf("kubelogin convert-kubeconfig -l azurecli");
      assert.ok(convert > lines.findIndex((l) => l.startsWith("az aks get-credentials ")), "after get-credentials");
      assert.ok(convert < lines.findIndex((l) => l.startsWith("kubectl ")), "before the first kubectl");
      assert.ok(!script.includes("--admin"), "no admin credential: local accounts are off");
    }
  });

  it("every input the pipelines give this extension's tasks is an input (or alias) of that task", () => {
    for (const stage of [...hardeningPipeline.stages, ...fleetPipeline.stages]) {
      for (const step of stage.jobs.flatMap((j) => j.steps)) {
        const task = extensionTask(step.task);
        if (!task) continue;
        const names = new Set(task.inputs.flatMap((i) => [i.name, ...(i.aliases ?? [])]));
        for (const input of Object.keys(step.inputs)) assert.ok(names.has(input), `${step.task}: no input '${input}'`);
      }
    }
  });

  it("the classic release has the same stages and steps, with each task's id, major version and reference name", () => {
    const release = JSON.parse(readFileSync(SAMPLE_FILES.classic, "utf8")) as ClassicRelease;
    assert.deepEqual(
      release.environments.map((e) => e.name),
      hardeningPipeline.stages.map((s) => s.displayName),
    );
    const steps = hardeningPipeline.stages.flatMap((s) => s.jobs.flatMap((j) => j.steps));
    const tasks = release.environments.flatMap((e) => e.deployPhases.flatMap((p) => p.workflowTasks));
    assert.equal(tasks.length, steps.length);
    steps.forEach((step, i) => {
      const task = extensionTask(step.task);
      const classic = tasks[i]!;
      assert.equal(classic.version, `${step.task.split("@")[1]}.*`);
      assert.equal(classic.refName, step.name ?? "");
      if (!task) return;
      assert.equal(classic.taskId, task.id, `${step.task}: task id`);
      const names = new Set(task.inputs.map((input) => input.name));
      for (const input of Object.keys(classic.inputs))
        assert.ok(names.has(input), `${step.task}: classic input '${input}' is no input of the task`);
    });
    // Outputs flow inside a job in classic too: KeyVaultSecrets reads the identity step's output.
    assert.equal(tasks.find((t) => t.refName === "secrets")?.inputs["grantTo"], "$(identity.principalId)");
    for (const name of Object.keys(hardeningPipeline.secretVariables)) {
      assert.deepEqual(release.variables[name], { value: "", isSecret: true });
    }
  });

  it("every path a script uses comes from the job's checkout (YAML) or an artifact its stage downloads (classic)", () => {
    const yaml = readFileSync(SAMPLE_FILES.yaml, "utf8");
    const release = JSON.parse(readFileSync(SAMPLE_FILES.classic, "utf8")) as ClassicRelease;
    let checked = 0;
    for (const job of hardeningPipeline.stages.flatMap((stage) => stage.jobs)) {
      for (const step of job.steps) {
        const script = step.inputs["inlineScript"];
        if (!script) continue;
        checked += scriptPaths(script).length;
        assert.deepEqual(yamlPathProblems(yaml, job.job, script), []);
      }
    }
    assert.ok(checked > 0, "the deploy step applies the repository's manifests");
    assert.deepEqual(classicPathProblems(release), []);
    assert.deepEqual(
      release.artifacts.map((a) => [a.alias, a.type]),
      [[hardeningPipeline.source.alias, "Git"]],
    );
    // The check itself: a relative path, or an artifact no stage downloads, is caught.
    assert.equal(yamlPathProblems(yaml, "Deploy", "kubectl apply -n todo -f deploy/").length, 1);
    assert.equal(yamlPathProblems(yaml, "Policies", "kubectl apply -f $(Build.SourcesDirectory)/deploy/").length, 1);
    const withoutDownload = structuredClone(release);
    for (const environment of withoutDownload.environments) environment.environmentOptions.skipArtifactsDownload = true;
    assert.ok(classicPathProblems(withoutDownload).length > 0);
  });
});
