/**
 * The one layer between the tasks and the agent's log: every byte a task writes to stdout or stderr
 * passes through here once `guardAgentOutput` ran (the first thing `runTask` does).
 *
 * The agent runs a logging command found anywhere in a line, not only at its start: it searches
 * for `##vso[` with `IndexOf` (azure-pipelines-agent, src/Microsoft.VisualStudio.Services.Agent/
 * Command.cs, `TryParse`), and reads stderr as well as stdout. That `IndexOf` is culture-sensitive,
 * so characters ICU collation ignores (soft hyphen, zero-width joiners, control characters) may sit
 * between the prefix's characters and still match. The web log renders `##[error]`, `##[group]`
 * and the like as formatting. Inputs and Azure's answers (display names, error messages, regexes)
 * end up in log lines, so every line is neutralised: invisible characters are dropped and `##`
 * before `vso[` or `[` becomes `**`, in any letter case — the replacement the agent itself makes
 * when worker commands are disabled (src/Agent.Sdk/ProcessInvoker.cs).
 *
 * task-lib's own commands (`##vso[task.setvariable …]`, `task.issue`, `task.complete`) come through
 * a separate stream (`taskLibStream`): their command heads are kept and only their human-readable
 * message is neutralised; values (variables, secrets, file paths) pass unchanged.
 *
 * Every value registered as a secret (`task.setsecret`) is also masked here, in every later line, as
 * the agent masks it, and so is anything shaped like a credential the task never registered: a JWT,
 * a `Bearer`/`Basic` authorization value. With `system.debug` the Azure SDK's request log
 * (core-rest-pipeline's sanitizer) lets through what it does not know: the request's `proxySettings`
 * with the proxy password, and, behind a proxy, the proxy agent's open requests with their raw
 * `Authorization: Bearer …` headers.
 */
import { agentSecrets } from "./agent-secrets";

/** Control and format characters, and whatever Unicode marks as default-ignorable; tab and new line stay. */
const INVISIBLE = /(?![\t\n])[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const COMMAND_PREFIX = /##(?=vso\[|\[)/gi;

/** Text without the characters a reader cannot see (bidi overrides, zero-width joiners, controls). */
export function dropInvisible(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(INVISIBLE, "");
}

/** Text that can no longer start or contain an agent logging command, whatever its origin. */
export function neutralise(text: string): string {
  return dropInvisible(text).replace(COMMAND_PREFIX, "**");
}

/** Commands whose message is a value the agent stores or a path it reads: never rewritten. */
const VALUE_COMMANDS = new Set([
  "task.setvariable",
  "task.settaskvariable",
  "task.setsecret",
  "task.uploadsummary",
  "task.uploadfile",
  "task.addattachment",
  "task.setendpoint",
  "task.prependpath",
]);
/** A line task-lib formats: `##vso[area.action properties]message`; properties escape `]`, so the first `]` ends the head. */
const TASK_LIB_COMMAND = /^(##vso\[([a-z]+\.[a-z]+)(?: [^\]]*)?\])([\s\S]*)$/i;

/**
 * One line as task-lib formatted it. Its message is already escaped for the agent (`%0A` for new
 * lines, `%AZP25` for `%`), which leaves `##vso[` as it was, so neutralising the escaped message is
 * enough.
 */
export function neutraliseTaskLibLine(line: string): string {
  const command = TASK_LIB_COMMAND.exec(line);
  if (!command) return neutralise(line);
  const [, head, name, message] = command as unknown as [string, string, string, string];
  return VALUE_COMMANDS.has(name.toLowerCase()) ? line : `${head}${neutralise(message)}`;
}

const secrets = new Set<string>();

/** As task-lib's escapedata writes a command's message (taskcommand.ts), and back. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%AZP25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function unescapeData(text: string): string {
  return text
    .replace(/%0A/g, "\n")
    .replace(/%0D/g, "\r")
    .replace(/%AZP25/g, "%");
}

function learnSecret(value: string): void {
  if (value) secrets.add(value);
}

const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*/g;
/** A credential, not a word: at least 12 token characters with a digit, '+', '/' or '=' among them ("Basic LoadBalancer" stays). */
const AUTHORIZATION_VALUE = /\b(Bearer|Basic)(\s+)(?=[\w.~+/=-]*[\d+/=])[\w.~+/=-]{12,}/gi;

/** The text with every registered secret (as typed or as escaped in a command) and every credential-shaped value replaced by `***`. */
export function maskSecrets(text: string): string {
  let masked = text.replace(JWT, "***").replace(AUTHORIZATION_VALUE, "$1$2***");
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    masked = masked.split(secret).join("***");
    const escaped = escapeData(secret);
    if (escaped !== secret) masked = masked.split(escaped).join("***");
  }
  return masked;
}

const SET_SECRET = /^##vso\[task\.setsecret\]([\s\S]*)$/i;

/** One line task-lib wrote: a registration teaches the masker and passes as it is; anything else is masked, then neutralised. */
function guardTaskLibLine(line: string): string {
  const registration = SET_SECRET.exec(line);
  if (registration) {
    learnSecret(unescapeData(registration[1]!));
    return line;
  }
  return neutraliseTaskLibLine(maskSecrets(line));
}

type Write = typeof process.stdout.write;

/** What task-lib writes its command lines to (`tl.setStdStream`), once the guard is in place. */
export interface TaskLibStream {
  write(text: string): boolean;
}

let taskLibStream: TaskLibStream | undefined;

/**
 * Replaces `write` of stdout and stderr with one that neutralises every chunk, and returns the
 * stream task-lib must write its commands to. Idempotent.
 */
export function guardAgentOutput(): TaskLibStream {
  if (taskLibStream) return taskLibStream;
  for (const secret of agentSecrets()) learnSecret(secret);
  const rawStdout = process.stdout.write.bind(process.stdout) as (text: string) => boolean;
  guard(process.stdout);
  guard(process.stderr);
  taskLibStream = {
    write: (text: string) => rawStdout(text.replace(/[^\r\n]+/g, guardTaskLibLine)),
  };
  return taskLibStream;
}

function guard(stream: NodeJS.WriteStream): void {
  const raw = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const encoding = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : "utf8";
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(encoding);
    return raw(neutralise(maskSecrets(text)), ...rest.filter((arg) => typeof arg === "function"));
  }) as Write;
}
