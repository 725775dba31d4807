/**
 * Runs before anything else in every task bundle (scripts/build.mjs injects it), before
 * azure-pipelines-task-lib loads: task-lib's start-up reads the agent's proxy and client
 * certificate settings with getVariable, which writes `Agent.ProxyPassword=<value>` to the debug
 * stream before a task could register the value (see core/task-lib.ts). The agent hands these
 * passwords over as secret variables (`SECRET_AGENT_PROXYPASSWORD`; azure-pipelines-agent,
 * src/Agent.Worker/ExecutionContext.cs sets `agent.proxypassword` with secret: true) or, from
 * older agents, as plain variables. This module takes them out of the environment, so task-lib
 * never sees them, and registers each with the agent first. It also takes `DEBUG` out (below).
 *
 * It must not import task-lib (importing it would load it first).
 */

const AGENT_SECRET_VARIABLES = {
  proxyPassword: "AGENT_PROXYPASSWORD",
  clientCertPassword: "AGENT_CLIENTCERTPASSWORD",
} as const;

/**
 * What was taken, shared by every bundle in the process: a thin entry (RestrictApiServer's post.js)
 * and the sibling bundle it loads each carry a copy of this module. The first copy takes the values
 * out of the environment; a later one finds them here instead of an environment that no longer has them.
 */
const TAKEN = Symbol.for("aks-hardening-tasks.agent-secrets");
const taken = ((globalThis as Record<symbol, unknown>)[TAKEN] ??= {}) as Partial<Record<keyof typeof AGENT_SECRET_VARIABLES, string>>;

for (const [key, name] of Object.entries(AGENT_SECRET_VARIABLES) as [keyof typeof AGENT_SECRET_VARIABLES, string][]) {
  const value = process.env[`SECRET_${name}`] || process.env[name];
  delete process.env[`SECRET_${name}`];
  delete process.env[name];
  if (!value) continue;
  taken[key] = value;
  // As task-lib's setSecret formats it (taskcommand.ts escapedata): the agent masks the value from here on.
  process.stdout.write(`##vso[task.setsecret]${value.replace(/%/g, "%AZP25").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}\n`);
}

/**
 * `DEBUG` switches on the `debug` package inside the bundles (the proxy agent's, which prints its
 * proxy URL with the password URL-encoded: `http://user:Winter2025!%40corp@proxy:8080/`) and the
 * Azure SDK's own copy of it (@typespec/ts-http-runtime's logger: every SDK client's request log,
 * the proxy agent and its proxy URL included), on stderr, in every task and without
 * `system.debug`. Both read it once, when they load, after this module. The tasks' diagnostics
 * are `system.debug`, which core/run.ts routes through task-lib's debug stream and the output
 * guard; a `DEBUG` the job sets for other tools is taken out here, so those libraries stay silent.
 */
delete process.env["DEBUG"];

/** Every password taken here, for the output guard's masker (core/output.ts). */
export function agentSecrets(): string[] {
  return Object.values(taken).filter((value): value is string => Boolean(value));
}

/** The agent's proxy password (`Agent.ProxyPassword`), already registered as a secret. */
export function agentProxyPassword(): string | undefined {
  return taken.proxyPassword;
}
