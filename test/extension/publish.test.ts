import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../scripts/vsix.mjs";

describe("test/extension/publish", () => {
  const SCRIPT = join(repoRoot, "scripts", "publish.mjs");

  /** Runs `npm run publish`'s script with only these variables (no network: every case stops before tfx). */
  function publish(env: Record<string, string>, ...args: string[]) {
    const run = spawnSync(process.execPath, [SCRIPT, ...args], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    });
    return { status: run.status, out: `${run.stdout}${run.stderr}` };
  }

  it("without publisher and token it says what to set, and packages and publishes nothing", () => {
    const r = publish({});
    assert.equal(r.status, 1);
    assert.match(r.out, /AKS_HARDENING_PUBLISHER is not set: set it to your Marketplace publisher ID/);
    assert.match(r.out, /AZURE_DEVOPS_EXT_PAT is not set: set it to a personal access token with the Marketplace \(Publish\) scope/);
    assert.match(r.out, /Nothing was packaged or published\./);
    assert.doesNotMatch(r.out, /tfx /);
  });

  it("a missing token alone is named alone", () => {
    const r = publish({ AKS_HARDENING_PUBLISHER: "contoso-platform" });
    assert.equal(r.status, 1);
    assert.match(r.out, /AZURE_DEVOPS_EXT_PAT is not set/);
    assert.doesNotMatch(r.out, /AKS_HARDENING_PUBLISHER/);
  });

  it("a missing publisher alone is named alone", () => {
    const r = publish({ AZURE_DEVOPS_EXT_PAT: "pat-value-123" });
    assert.equal(r.status, 1);
    assert.match(r.out, /AKS_HARDENING_PUBLISHER is not set/);
    assert.doesNotMatch(r.out, /AZURE_DEVOPS_EXT_PAT/);
    assert.doesNotMatch(r.out, /pat-value-123/);
  });

  it("the tfx command publishes the packaged VSIX, shares it with each organisation, and never shows the token", () => {
    const token = "pat-secret-value-456";
    const r = publish(
      { AKS_HARDENING_PUBLISHER: "aks-hardening-dev", AZURE_DEVOPS_EXT_PAT: token, AKS_HARDENING_SHARE_WITH: "contoso, fabrikam-dev" },
      "--skip-package",
      "--dry-run",
    );
    assert.equal(r.status, 0, r.out);
    assert.match(
      r.out,
      /Would run: tfx extension publish --vsix \S+aks-hardening-dev\.aks-hardening-tasks-[\d.]+\.vsix --no-prompt --no-color --share-with contoso fabrikam-dev --token \*\*\*/,
    );
    assert.doesNotMatch(r.out, new RegExp(token));
  });

  it("a VSIX packaged for another publisher is not published", () => {
    const r = publish({ AKS_HARDENING_PUBLISHER: "someone-else", AZURE_DEVOPS_EXT_PAT: "x" }, "--skip-package", "--dry-run");
    assert.equal(r.status, 1);
    assert.match(r.out, /was packaged for another publisher than 'someone-else'/);
  });
});
