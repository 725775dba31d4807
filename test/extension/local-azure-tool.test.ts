import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
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

  it("npm run local-azure writes task.env (the service principal's secret) readable by its owner only, in a directory only its owner can open", async () => {
    // `npm run local-azure` without its packaging step: the VSIX in dist/ is the one npm test packaged.
    const tool = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "scripts", "local-azure.ts"), "--port", String(await freePort())],
      {
        cwd: repoRoot,
        env: process.env,
      },
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
      const workDir = join(repoRoot, ".tmp", "local-azure");
      assert.equal(statSync(join(workDir, "task.env")).mode & 0o777, 0o600, "task.env: owner read/write only");
      assert.equal(statSync(workDir).mode & 0o777, 0o700, "its directory: owner only");
    } finally {
      tool.kill("SIGINT");
      await exited;
    }
  });
});
