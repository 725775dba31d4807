import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";

/** docs/undo-and-drift.md keeps up with the tasks: a new task gets its undo section and its drift row. */
describe("test/extension/undo-and-drift", () => {
  const page = readFileSync("docs/undo-and-drift.md", "utf8");
  const tasks = readdirSync("tasks", { withFileTypes: true })
    .filter((d) => d.isDirectory() && readdirSync(`tasks/${d.name}`).includes("task.json"))
    .map(
      (d) => `${d.name}@${(JSON.parse(readFileSync(`tasks/${d.name}/task.json`, "utf8")) as { version: { Major: number } }).version.Major}`,
    );

  it("says for every task what it leaves behind and how to remove it", () => {
    const sections = [...page.matchAll(/^### (\w+@\d+)$/gm)].map((m) => m[1]);
    assert.deepEqual([...sections].sort(), [...tasks].sort());
  });

  it("names, for every task that writes, what Terraform sees as drift", () => {
    const terraform = page.slice(page.indexOf("### Terraform"), page.indexOf("### Bicep"));
    for (const task of tasks.filter((t) => t !== "AksHardeningReport@1")) assert.match(terraform, new RegExp(`^\\| ${task} `, "m"), task);
  });
});
