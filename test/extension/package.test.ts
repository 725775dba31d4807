import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import AdmZip from "adm-zip";
import { findVsix, repoRoot, VSIX_SIZE_BUDGET } from "../../scripts/vsix.mjs";
import { vsixProblems } from "../../scripts/check-vsix.mjs";
import { manifestLinks, overviewWithSource, type PackageJsonLinks } from "../../scripts/manifest-links.mjs";

describe("test/extension/package", () => {
  const TASKS = [
    "AksHardeningReport",
    "AssignAksPolicies",
    "ConfigureAutoUpgrade",
    "EnableDefender",
    "EnablePodIdentity",
    "KeyVaultSecrets",
    "ProtectKeyVault",
    "RestrictApiServer",
    "SecureClusterAccess",
  ];
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

  it("the extension is private, versioned from package.json, with categories, tags, icon, overview, license and screenshot", () => {
    const manifest = text("extension.vsixmanifest");
    assert.match(manifest, new RegExp(`<Identity [^>]*Id="aks-hardening-tasks"[^>]*Version="${version.replace(/\./g, "\\.")}"`));
    assert.match(manifest, /<GalleryFlags\/>|<GalleryFlags>(?![^<]*Public)[^<]*<\/GalleryFlags>/, "no Public flag");
    assert.match(manifest, /<Categories>Azure Pipelines<\/Categories>/);
    assert.match(manifest, /<Tags>[^<]*AKS[^<]*<\/Tags>/);
    assert.match(manifest, /<Icon>images\/extension-icon\.png<\/Icon>/);
    assert.match(manifest, /<License>LICENSE<\/License>/);
    assert.match(manifest, /Type="Microsoft\.VisualStudio\.Services\.Content\.Details"[^>]*Path="overview\.md"/);
    assert.match(manifest, /Type="Microsoft\.VisualStudio\.Services\.Screenshots\.1"[^>]*Path="images\/job-summary\.png"/);
  });

  it("the five tasks are contributed, each from its own folder", () => {
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

  it("links a repository only when package.json names one: none now, and no placeholder anywhere in the package", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as PackageJsonLinks;
    assert.equal(pkg.repository, undefined, "package.json names no repository (update this test when it does)");
    const manifest = text("extension.vsixmanifest");
    assert.doesNotMatch(manifest, /Links\.(GitHub|Repository|Support)|your-org/);
    assert.doesNotMatch(text("extension.vsomanifest"), /your-org|"repository"|"links"/);
    const overview = text("overview.md");
    assert.doesNotMatch(overview, /repository|samples\/|your-org/i, "the overview reads well with no repository");
  });

  it("package.json's repository and bugs become the manifest's links; a fork's shorthand, URL or object all work", () => {
    assert.deepEqual(manifestLinks({}), {});
    assert.deepEqual(manifestLinks({ repository: "github:contoso/aks-hardening" }), {
      repository: { type: "git", uri: "https://github.com/contoso/aks-hardening" },
      links: { support: { uri: "https://github.com/contoso/aks-hardening/issues" } },
    });
    assert.deepEqual(manifestLinks({ repository: { type: "git", url: "git+https://github.com/contoso/aks-hardening.git" } }).repository, {
      type: "git",
      uri: "https://github.com/contoso/aks-hardening",
    });
    assert.deepEqual(
      manifestLinks({ repository: { url: "https://dev.azure.com/contoso/platform/_git/aks-hardening" } }),
      { repository: { type: "git", uri: "https://dev.azure.com/contoso/platform/_git/aks-hardening" } },
      "no guessed issues URL outside GitHub",
    );
    assert.deepEqual(manifestLinks({ repository: "github:contoso/x", bugs: { url: "https://contoso.example/support" } }).links, {
      support: { uri: "https://contoso.example/support" },
    });
    assert.throws(() => manifestLinks({ repository: "ftp://example.com/x" }), /not a URL the Marketplace can link to/);
    const overview = readFileSync(join(repoRoot, "overview.md"), "utf8");
    assert.equal(overviewWithSource(overview, {}), overview);
    assert.match(
      overviewWithSource(overview, manifestLinks({ repository: "github:contoso/x" })),
      /\n## Source and samples\n\n.*\[https:\/\/github\.com\/contoso\/x\]\(https:\/\/github\.com\/contoso\/x\)\.\n$/,
    );
  });
});
