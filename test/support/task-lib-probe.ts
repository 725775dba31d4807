// Run by test/unit/task-lib.test.ts in a process of its own, as the agent starts a task:
// `node --import tsx test/support/task-lib-probe.ts <scenario>` with the scenario's environment. It
// prints what task-lib prints, then one line `RESULT <json>`.
const scenario = process.argv[2];

async function main(): Promise<unknown> {
  if (scenario === "preamble-then-load") await import("../../core/agent-secrets");
  const tl = await import("azure-pipelines-task-lib/task");
  const { readSecretInput, routeTaskLibOutput, secretVariableGiven } = await import("../../core/task-lib");
  switch (scenario) {
    case "load":
    case "preamble-then-load":
      return { proxyPassword: tl.getVariable("Agent.ProxyPassword") ?? null };
    case "getters": {
      tl.getInput("secrets", false);
      tl.getEndpointAuthorizationParameter("conn", "serviceprincipalkey", true);
      const auth = tl.getEndpointAuthorization("conn", true);
      return { secretInput: readSecretInput("secrets"), authParameters: auth?.parameters ?? null };
    }
    case "secret-variables":
      return {
        given: secretVariableGiven("db.password") ?? null,
        byAgentName: secretVariableGiven("listed var") ?? null,
        notGiven: secretVariableGiven("other") ?? null,
        value: tl.getVariable("db.password") ?? null,
      };
    case "stream": {
      const written: string[] = [];
      routeTaskLibOutput({ write: (text: string) => written.push(text) > 0 });
      tl.debug("50% done\nnext ##vso[x.y]");
      tl.setVariable("out", "v]a;l", false, true);
      tl.warning("careful");
      tl.command("task.logissue", { type: "a]b" }, "m");
      let multiLineRefused = false;
      try {
        tl.setSecret("line one\nline two");
      } catch {
        multiLineRefused = true;
      }
      return { written, multiLineRefused };
    }
  }
  throw new Error(`unknown scenario ${scenario}`);
}

void main().then((result) => process.stdout.write(`RESULT ${JSON.stringify(result)}\n`));
