import * as tl from "azure-pipelines-task-lib/task";
import * as taskLibInternal from "azure-pipelines-task-lib/internal";
import type { TaskLibStream } from "./output";

/**
 * Every behaviour of azure-pipelines-task-lib the tasks rely on beyond its documented contract, in
 * one place. test/unit/task-lib.test.ts checks each against the installed task-lib, so an upgrade
 * that changes one fails there, loudly, instead of a task silently reading an empty secret or
 * printing one.
 *
 * 1. Secrets are echoed in debug output by the public getters, before a task could register them:
 *    `getInput` (`<name>=<value>`), `getEndpointAuthorizationParameter` (`<id> auth param <key> =
 *    <value>`), `getVariable` (`<name>=<value>`, secret variables included) and therefore
 *    `getHttpProxyConfiguration` (`Agent.ProxyPassword=<value>`). So:
 *    - secret inputs are read from task-lib's vault directly (`readSecretInput`), with the key
 *      task-lib files them under: `INPUT_` + `_getVariableKey(name)`;
 *    - endpoint parameters come from `getEndpointAuthorization(id).parameters` (it echoes only
 *      whether the endpoint exists);
 *    - proxy settings are read without `getHttpProxyConfiguration` (core/connection.ts), and the
 *      password is taken from the environment before task-lib loads (core/agent-secrets.ts).
 * 2. At load task-lib moves `INPUT_*`, `ENDPOINT_AUTH_*`, `SECRET_*` and `VSTS_TASKVARIABLE_*`
 *    from `process.env` into `_vault` (`_loadData`) and reads `Agent.ProxyPassword` and
 *    `Agent.ClientCertPassword` with getVariable (`_exposeProxySettings`, `_exposeCertSettings`).
 * 3. Every logging command is written as one line through the stream `setStdStream` sets
 *    (`_writeLine` → `_outStream.write`), formatted `##vso[area.action key=value;]message` with `]`
 *    escaped in property values; so the output guard (core/output.ts) can tell task-lib's commands
 *    from any other text.
 * 4. `setSecret` throws on a value with a line break (the agent masks single lines only), so a PEM is
 *    registered line by line (core/connection.ts) and secret input values one line each.
 * 5. Secret variables (`_loadData`): every `SECRET_<KEY>` in the environment goes into the vault and
 *    `<KEY>` is marked secret in `_knownVariableMap` (for agents older than 2.104.1); the names the
 *    agent sends in `VSTS_SECRET_VARIABLES` (a JSON list) are then marked secret under their own key.
 *    `getVariable(name)` reads the vault when the map marks `_getVariableKey(name)` (upper case, '.'
 *    and ' ' as '_') secret. Nothing in task-lib expands `$(name)` in an input: the agent does that
 *    before the step starts (`secretVariableGiven`).
 */

/**
 * An input that holds secret values (e.g. `$(dbPassword)` expanded by the agent), read without
 * getInput's echo. Register what it returns with tl.setSecret before anything else.
 */
export function readSecretInput(name: string): string {
  return taskLibInternal._vault.retrieveSecret(`INPUT_${taskLibInternal._getVariableKey(name)}`) ?? "";
}

/** task-lib writes its commands (and anything else it prints) to this stream from now on. */
export function routeTaskLibOutput(stream: TaskLibStream): void {
  tl.setStdStream(stream);
  tl.setErrStream(stream);
}

/**
 * The environment variable a secret pipeline variable reaches this process in (`SECRET_<KEY>`),
 * when task-lib holds one of that name; found without reading its value (getVariable would echo it).
 */
export function secretVariableGiven(name: string): string | undefined {
  const key = taskLibInternal._getVariableKey(name);
  return taskLibInternal._knownVariableMap[key]?.secret ? `SECRET_${key}` : undefined;
}
