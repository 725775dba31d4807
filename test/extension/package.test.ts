import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import AdmZip from "adm-zip";
import { findVsix, repoRoot, VSIX_SIZE_BUDGET } from "../../scripts/vsix.mjs";
import { vsixProblems } from "../../scripts/check-vsix.mjs";

describe("test/extension/package", () => {
  const TASKS = ["AssignAksPolicies", "EnablePodIdentity", "KeyVaultSecrets", "RestrictApiServer"];
  const vsix = findVsix();
  const zip = new AdmZip(vsix);
  const text = (name: string) => zip.readAsText(name);
  const names = zip
    .getEntries()
    .filter((e) => !e.isDirectory)
    .map((e) => e.entryName);
  const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

  it(`the VSIX is within its size budget of ${VSIX_SIZE_BUDGET / 1024 / 1024} MB and holds no node_modules, sources, maps or tests`, () => {
    assert.ok(statSync(vsix).size <= VSIX_SIZE_BUDGET, `${statSync(vsix).size} bytes`);
    assert.deepEqual(vsixProblems(vsix).problems, []);
  });

  it("the VSIX holds the manifests, overview, license, icons, the job-summary picture and each task's bundle", () => {
    const expected = [
      "extension.vsixmanifest",
      "extension.vsomanifest",
      "overview.md",
      "LICENSE",
      "images/extension-icon.png",
      "images/job-summary.png",
      ...TASKS.flatMap((t) => [`tasks/${t}/task.json`, `tasks/${t}/index.js`, `tasks/${t}/icon.png`]),
      "tasks/RestrictApiServer/post.js",
    ];
    for (const name of expected) assert.ok(names.includes(name), `${name} is missing`);
  });

  it("the extension is private, versioned from package.json, with categories, tags, icon, overview, license, repository and screenshot", () => {
    const manifest = text("extension.vsixmanifest");
    assert.match(manifest, new RegExp(`<Identity [^>]*Id="aks-hardening-tasks"[^>]*Version="${version.replace(/\./g, "\\.")}"`));
    assert.match(manifest, /<GalleryFlags\/>|<GalleryFlags>(?![^<]*Public)[^<]*<\/GalleryFlags>/, "no Public flag");
    assert.match(manifest, /<Categories>Azure Pipelines<\/Categories>/);
    assert.match(manifest, /<Tags>[^<]*AKS[^<]*<\/Tags>/);
    assert.match(manifest, /<Icon>images\/extension-icon\.png<\/Icon>/);
    assert.match(manifest, /<License>LICENSE<\/License>/);
    assert.match(manifest, /<Property Id="Microsoft\.VisualStudio\.Services\.Links\.GitHub" Value="https:\/\/[^"]+"\/>/);
    assert.match(manifest, /Type="Microsoft\.VisualStudio\.Services\.Content\.Details"[^>]*Path="overview\.md"/);
    assert.match(manifest, /Type="Microsoft\.VisualStudio\.Services\.Screenshots\.1"[^>]*Path="images\/job-summary\.png"/);
  });

  it("the four tasks are contributed, each from its own folder", () => {
    const vso = JSON.parse(text("extension.vsomanifest")) as {
      contributions: { id: string; type: string; properties: { name: string } }[];
    };
    assert.deepEqual(
      vso.contributions.map((c) => [c.id, c.type, c.properties.name]),
      TASKS.map((t) => [t, "ms.vss-distributed-task.task", `tasks/${t}`]),
    );
  });

  it("the overview describes every task, shows a YAML example and the permissions, and its picture ships in the VSIX", () => {
    const overview = text("overview.md");
    for (const task of TASKS) assert.match(overview, new RegExp(`${task}@1`));
    assert.match(overview, /```yaml[\s\S]*- task: EnablePodIdentity@1[\s\S]*```/);
    assert.match(overview, /## Permissions/);
    for (const [, image] of overview.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) assert.ok(names.includes(image!), `${image} is not in the VSIX`);
    assert.match(overview, /!\[[^\]]*\]\(images\/job-summary\.png\)/);
  });
});
