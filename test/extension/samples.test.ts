import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { hardeningPipeline } from "../../scripts/demo-pipeline";
import { extensionTask, renderSamples, SAMPLE_FILES } from "../../scripts/samples";

describe("test/extension/samples", () => {
  interface WorkflowTask {
    taskId: string;
    version: string;
    refName: string;
    inputs: Record<string, string>;
  }
  interface ClassicRelease {
    variables: Record<string, { value: string; isSecret?: boolean }>;
    environments: { name: string; deployPhases: { workflowTasks: WorkflowTask[] }[] }[];
  }

  it("samples/azure-pipelines.yml and samples/classic-release.json are what the demo pipeline renders (run `npm run samples`)", async () => {
    const rendered = await renderSamples();
    assert.equal(readFileSync(SAMPLE_FILES.yaml, "utf8"), rendered.yaml);
    assert.equal(readFileSync(SAMPLE_FILES.classic, "utf8"), rendered.classic);
  });

  it("every input the pipeline gives this extension's tasks is an input (or alias) of that task", () => {
    for (const stage of hardeningPipeline.stages) {
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
});
