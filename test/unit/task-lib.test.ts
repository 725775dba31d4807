import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../scripts/vsix.mjs";

/**
 * Each behaviour of azure-pipelines-task-lib that core/task-lib.ts lists, checked against the
 * installed task-lib. A task-lib upgrade that changes one fails here, by name, instead of a task
 * silently reading an empty secret or printing one.
 */
describe("test/unit/task-lib", () => {
  const PROBE = join(repoRoot, "test", "support", "task-lib-probe.ts");
  const SECRET = "probe-secret-value-31c9";

  function probe(scenario: string, env: Record<string, string>): { out: string; result: Record<string, unknown> } {
    const temp = mkdtempSync(join(tmpdir(), "task-lib-probe-"));
    try {
      const run = spawnSync(process.execPath, ["--import", "tsx", PROBE, scenario], {
        cwd: repoRoot,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", AGENT_TEMPDIRECTORY: temp, SYSTEM_DEBUG: "true", ...env },
      });
      const out = `${run.stdout}${run.stderr}`;
      const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
      assert.ok(line, `the probe ran:\n${out}`);
      return { out, result: JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown> };
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  }

  it("the version is the one these checks were written against (a new one: re-read core/task-lib.ts, then update)", () => {
    const version = (
      JSON.parse(readFileSync(join(repoRoot, "node_modules", "azure-pipelines-task-lib", "package.json"), "utf8")) as {
        version: string;
      }
    ).version;
    assert.equal(version, "5.281.0");
  });

  it("getInput and getEndpointAuthorizationParameter echo secret values; the vault read and getEndpointAuthorization do not", () => {
    const { out, result } = probe("getters", {
      INPUT_SECRETS: `db-password=${SECRET}`,
      ENDPOINT_AUTH_conn: JSON.stringify({ scheme: "ServicePrincipal", parameters: { serviceprincipalkey: SECRET } }),
      ENDPOINT_AUTH_PARAMETER_conn_SERVICEPRINCIPALKEY: SECRET,
    });
    assert.match(out, new RegExp(`##vso\\[task\\.debug\\]secrets=db-password=${SECRET}`), "getInput echoes name=value");
    assert.match(out, new RegExp(`##vso\\[task\\.debug\\]conn auth param serviceprincipalkey = ${SECRET}`), "the parameter getter echoes");
    assert.match(out, /##vso\[task\.debug\]conn exists true/, "getEndpointAuthorization echoes only that it exists");
    assert.equal(result["secretInput"], `db-password=${SECRET}`, "readSecretInput finds the input in task-lib's vault, under INPUT_<KEY>");
    assert.deepEqual(result["authParameters"], { serviceprincipalkey: SECRET });
    const printed = out
      .split("\n")
      .filter((l) => !l.startsWith("RESULT "))
      .join("\n");
    assert.equal(printed.split(SECRET).length - 1, 2, "only the two echoing getters printed it");
  });

  it("at load task-lib reads Agent.ProxyPassword and echoes it; core/agent-secrets.ts, loaded first, takes it away", () => {
    const env = {
      SECRET_AGENT_PROXYPASSWORD: SECRET,
      AGENT_PROXYURL: "http://proxy.example:8080",
      VSTS_SECRET_VARIABLES: '["agent.proxypassword"]',
    };
    const plain = probe("load", env);
    assert.match(plain.out, new RegExp(`##vso\\[task\\.debug\\]Agent\\.ProxyPassword=${SECRET}`), "task-lib's start-up echo");
    assert.equal(plain.result["proxyPassword"], SECRET);

    const guarded = probe("preamble-then-load", env);
    assert.match(guarded.out, new RegExp(`^##vso\\[task\\.setsecret\\]${SECRET}$`, "m"), "registered first");
    assert.equal(guarded.out.split(SECRET).length - 1, 1, "and never printed otherwise");
    assert.equal(guarded.result["proxyPassword"], null, "task-lib no longer holds it");
  });

  it("a SECRET_<KEY> variable is known to task-lib as a secret under its key, with or without VSTS_SECRET_VARIABLES; secretVariableGiven finds it without printing it", () => {
    const { out, result } = probe("secret-variables", {
      SECRET_DB_PASSWORD: SECRET,
      SECRET_LISTED_VAR: "another-value-42",
      VSTS_SECRET_VARIABLES: '["listed var"]',
      SYSTEM_DEBUG: "false",
    });
    assert.deepEqual(result, { given: "SECRET_DB_PASSWORD", byAgentName: "SECRET_LISTED_VAR", notGiven: null, value: SECRET });
    const printed = out
      .split("\n")
      .filter((l) => !l.startsWith("RESULT "))
      .join("\n");
    assert.equal(printed.split(SECRET).length - 1, 1, "only getVariable's own echo printed it, not the lookup");
  });

  it("every command goes through the stream setStdStream sets, one line each, ']' escaped in properties; setSecret refuses line breaks", () => {
    const { result } = probe("stream", {});
    const written = result["written"] as string[];
    assert.deepEqual(written, [
      "##vso[task.debug]50%AZP25 done%0Anext ##vso[x.y]\n",
      "##vso[task.debug]set out=v]a;l\n",
      "##vso[task.setvariable variable=out;isOutput=true;issecret=false;]v]a;l\n",
      "##vso[task.issue type=warning;source=TaskInternal;]careful\n",
      "##vso[task.logissue type=a%5Db;]m\n",
    ]);
    assert.equal(result["multiLineRefused"], true, "setSecret refuses a value with a line break");
  });
});
