import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { request } from "node:https";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { hardeningPipeline } from "../../scripts/demo-pipeline";
import { repoRoot } from "../../scripts/vsix.mjs";

describe("test/extension/local-azure-tool", () => {
  /** A port the tool can take, with the next one free for its managed-identity endpoint (as far as one can tell beforehand). */
  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  function call(url: string, ca: string, method = "GET"): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, ca }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("npm run local-azure: starts from the current VSIX without packaging, writes task.env for its owner only, prints the inputs a by-hand run needs, and serves a request log that shows a by-hand dry run wrote nothing", async () => {
    // `npm run local-azure` itself: the VSIX in dist/ is the one npm test packaged, so no npm is called
    // (a stub that packages nothing stands in for it).
    const tool = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "scripts", "local-azure.ts"), "--port", String(await freePort())],
      { cwd: repoRoot, env: { ...process.env, npm_execpath: join(repoRoot, "test", "support", "npm-stub.mjs") } },
    );
    let out = "";
    tool.stdout.on("data", (d: Buffer) => (out += d.toString()));
    tool.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => tool.on("close", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        tool.stdout.on("data", () => out.includes("Ctrl-C stops the local Azure.") && resolve());
        void exited.then((code) => reject(new Error(`the tool ended (exit ${code}) before it was ready:\n${out}`)));
      });
      assert.match(out, /was made from the sources as they are \(same content hash\): not packaged again/);
      const workDir = join(repoRoot, ".tmp", "local-azure");
      assert.equal(statSync(join(workDir, "task.env")).mode & 0o777, 0o600, "task.env: owner read/write only");
      assert.equal(statSync(workDir).mode & 0o777, 0o700, "its directory: owner only");

      const url = /Local Azure on (https:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      assert.match(out, new RegExp(`INPUT_AGENTIPSERVICEURL=${url}/ip`));
      assert.match(out, /VSTS_TASKVARIABLE_AKSHARDENING_JOBSCOPEDACCESS=<value>/);
      assert.match(out, /A secret variable\s+reaches a task as SECRET_<NAME>, but \$\(name\) in an input is expanded by the agent/);
      const ca = readFileSync(join(workDir, "ca.pem"), "utf8");
      const log = `${url}/local-azure/requests`;
      assert.match(out, new RegExp(`curl -s --cacert \\S+ ${log}`));

      // A dry run by hand, the way the tool says to start one.
      assert.equal((await call(log, ca, "DELETE")).status, 204);
      const v = hardeningPipeline.variables;
      const run = spawnSync(
        process.execPath,
        [`--env-file=${join(workDir, "task.env")}`, join(repoRoot, "dist", "extension", "tasks", "ConfigureAutoUpgrade", "index.js")],
        {
          cwd: repoRoot,
          encoding: "utf8",
          env: {
            PATH: process.env["PATH"] ?? "",
            NODE_EXTRA_CA_CERTS: join(workDir, "ca.pem"),
            INPUT_RESOURCEGROUPNAME: v["resourceGroup"]!,
            INPUT_CLUSTERNAME: v["clusterName"]!,
            // The demo's cluster runs the patch channel: a dry run of another channel plans a change.
            INPUT_UPGRADECHANNEL: "stable",
            INPUT_DRYRUN: "true",
          },
        },
      );
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /Dry run: nothing written/);
      assert.doesNotMatch(run.stdout, /##vso\[task\.debug\]/, "task-lib's debug lines only with SYSTEM_DEBUG=true, as on an agent");
      const { status, text } = await call(log, ca);
      assert.equal(status, 200);
      assert.match(
        text,
        new RegExp(
          `^read  GET    200 /subscriptions/[^/]+/resourceGroups/${v["resourceGroup"]}/providers/Microsoft\\.ContainerService/managedClusters/${v["clusterName"]}\\?api-version=`,
          "m",
        ),
      );
      assert.match(text, /^\d+ requests, nothing written\.$/m);
    } finally {
      tool.kill("SIGINT");
      await exited;
    }
  });
});
