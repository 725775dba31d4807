import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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
      /Would run: tfx extension publish --vsix \S+aks-hardening-dev\.aks-hardening-tasks-[\d.]+\.vsix --no-color --share-with contoso fabrikam-dev \(token on standard input\)/,
    );
    assert.doesNotMatch(r.out, new RegExp(token));
  });

  it("a VSIX packaged for another publisher is not published", () => {
    const r = publish({ AKS_HARDENING_PUBLISHER: "someone-else", AZURE_DEVOPS_EXT_PAT: "x" }, "--skip-package", "--dry-run");
    assert.equal(r.status, 1);
    assert.match(r.out, /was packaged for another publisher than 'someone-else'/);
  });

  it("the token reaches tfx on standard input only: never in a command line, never in the environment of the packaging step or of tfx", async () => {
    const token = `pat-${randomUUID()}`;
    const spyLog = join(mkdtempSync(join(tmpdir(), "process-spy-")), "processes.log");
    // A marketplace on loopback that records the credentials tfx sends, then says the gallery is not here.
    const authorizations: string[] = [];
    const marketplace = createServer((req, res) => {
      authorizations.push(req.headers.authorization ?? "");
      req.resume();
      res.writeHead(404, { "content-type": "application/json" }).end('{"message":"not here"}');
    });
    await new Promise<void>((resolve) => marketplace.listen(0, "127.0.0.1", resolve));
    try {
      const port = (marketplace.address() as AddressInfo).port;
      const run = spawn(process.execPath, [SCRIPT], {
        cwd: repoRoot,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          AKS_HARDENING_PUBLISHER: "aks-hardening-dev",
          AZURE_DEVOPS_EXT_PAT: token,
          AKS_HARDENING_MARKETPLACE_URL: `http://127.0.0.1:${port}`,
          // `npm run package` as npm would start it (npm_execpath), packaging nothing: dist/'s VSIX is published.
          npm_execpath: join(repoRoot, "test", "support", "npm-stub.mjs"),
          // Every Node process of the run (the script, the packaging step, tfx) records its own and its children's command lines and environments.
          NODE_OPTIONS: `--import ${join(repoRoot, "test", "support", "process-spy.mjs")}`,
          PROCESS_SPY_LOG: spyLog,
        },
      });
      let out = "";
      run.stdout.on("data", (d: Buffer) => (out += d.toString()));
      run.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const status = await new Promise<number | null>((resolve) => run.on("close", resolve));
      const processes = readFileSync(spyLog, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { argv: string[]; env: Record<string, string> });
      const listed = processes.map((p) => p.argv.join(" ")).join("\n");
      const [publish, ...children] = processes;
      assert.ok(publish!.argv.some((arg) => arg.endsWith("publish.mjs")) && publish!.env["AZURE_DEVOPS_EXT_PAT"] === token, listed);
      assert.ok(
        children.some((p) => p.argv.some((arg) => arg.endsWith("npm-stub.mjs")) && p.argv.includes("package")),
        `the packaging step was started:\n${listed}`,
      );
      assert.ok(
        children.some((p) => p.argv.some((arg) => arg.endsWith("tfx-cli.js")) && p.argv.includes("publish")),
        `tfx extension publish was started:\n${listed}`,
      );
      for (const p of processes) assert.ok(!p.argv.some((arg) => arg.includes(token)), `a command line held the token: ${p.argv[1]}`);
      for (const p of children) {
        const holding = Object.keys(p.env).filter((name) => p.env[name]!.includes(token));
        assert.deepEqual(holding, [], `the environment of ${p.argv.slice(0, 3).join(" ")} held the token`);
      }
      assert.ok(
        authorizations.includes(`Basic ${Buffer.from(`OAuth:${token}`).toString("base64")}`),
        `tfx sent the token it read from standard input (got ${authorizations.length} requests)`,
      );
      assert.equal(status, 1, "the loopback marketplace refuses the upload");
      assert.doesNotMatch(out, new RegExp(token));
      assert.match(out, /tfx extension publish failed/);
    } finally {
      marketplace.close();
      rmSync(dirname(spyLog), { recursive: true, force: true });
    }
  });
});
