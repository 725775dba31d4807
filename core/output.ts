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
 * a separate stream (`taskLibStream`). Their head (`##vso[area.action properties]`) is the step's
 * own instruction to the agent and is never rewritten: not neutralised, not masked. Only the
 * human-readable message of a command is masked and neutralised; values (output variables, task
 * variables, secrets, file paths) pass unchanged, or a registered secret that happens to be a word
 * (`true`) would turn `changed=true` into `changed=***` and a one-letter one would break
 * `task.complete`, leaving the agent with no result at all.
 *
 * Every value registered as a secret (`task.setsecret`) is masked in every later line of text, as
 * the agent masks it, in each encoding that can reach a log (`secretForms`), and so is anything
 * shaped like a credential the task never registered: a JWT, a `Bearer`/`Basic` authorization
 * value, the password of a URL's user info. With `system.debug` the Azure SDK's request log
 * (core-rest-pipeline's sanitizer) lets through what it does not know: the request's
 * `proxySettings` with the proxy password, the proxy agent's proxy URL (password URL-encoded) and,
 * behind a proxy, the proxy agent's open requests with their raw `Authorization: Bearer …` headers.
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
 * One line as task-lib formatted it, ready for the agent: the command's head as task-lib wrote it,
 * a value command whole, any other command's message masked and neutralised. Its message is already
 * escaped for the agent (`%0A` for new lines, `%AZP25` for `%`), which leaves `##vso[` as it was, so
 * neutralising the escaped message is enough. A line that is no command is text like any other.
 */
export function guardTaskLibCommand(line: string, known?: readonly string[]): string {
  const command = TASK_LIB_COMMAND.exec(line);
  if (!command) return neutralise(maskSecrets(line, known));
  const [, head, name, message] = command as unknown as [string, string, string, string];
  return VALUE_COMMANDS.has(name.toLowerCase()) ? line : `${head}${neutralise(maskSecrets(message, known))}`;
}

/** Every value registered as a secret, with the forms it is masked in. */
const secrets = new Map<string, string[]>();
/** Every form of every registered secret, longest first (a longer form may contain a shorter one). */
let registeredForms: string[] = [];

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

/** A shorter piece of base64 would match by chance inside other base64 text (tokens, certificates). */
const MIN_BASE64_FORM_LENGTH = 8;

/**
 * The forms a secret can take on its way to a log, as the agent's masker knows them
 * (azure-pipelines-agent, src/Microsoft.VisualStudio.Services.Agent/HostContext.cs adds the
 * JSON-string, URI-data and backslash encoders): as typed; URL-encoded the way JavaScript does it
 * (`encodeURIComponent`, and a URL's user info: `http://user:Winter2025!%40corp@proxy`, which the
 * proxy agent's debug output and the SDK's request log print) and the strict RFC 3986 way (.NET's
 * `Uri.EscapeDataString`, `!'()*` encoded too), each with upper- and lower-case hex; form-encoded
 * (space as `+`); inside a JSON string; and in base64 at each of the three byte alignments it can
 * have inside a longer value (a Basic `user:password` header), without the characters it shares
 * with its neighbours. Each form also as task-lib escapes a command's message.
 */
export function secretForms(secret: string): string[] {
  const component = encodeURIComponent(secret);
  const strict = component.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const userInfo = new URL("http://host");
  userInfo.password = secret;
  const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
  const forms = new Set([
    secret,
    component,
    strict,
    lowerHex(component),
    lowerHex(strict),
    component.replace(/%20/g, "+"),
    userInfo.password,
    JSON.stringify(secret).slice(1, -1),
  ]);
  const bytes = Buffer.from(secret, "utf8");
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
    // Characters whose six bits include a bit of the padding before or of whatever follows are left out.
    const core = encoded.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6));
    if (core.length >= MIN_BASE64_FORM_LENGTH) forms.add(core);
  }
  for (const form of [...forms]) forms.add(escapeData(form));
  return [...forms].filter(Boolean).sort((a, b) => b.length - a.length);
}

function learnSecret(value: string): void {
  if (!value || secrets.has(value)) return;
  secrets.set(value, secretForms(value));
  registeredForms = [...new Set([...secrets.values()].flat())].sort((a, b) => b.length - a.length);
}

const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*/g;
/** A credential, not a word: at least 12 token characters with a digit, '+', '/' or '=' among them ("Basic LoadBalancer" stays). */
const AUTHORIZATION_VALUE = /\b(Bearer|Basic)(\s+)(?=[\w.~+/=-]*[\d+/=])[\w.~+/=-]{12,}/gi;
/**
 * The password of a URL's user info (`https://user:password@host`), in any encoding RFC 3986 allows,
 * task-lib's escaped `%` included: the agent masks it by the same rule
 * (src/Microsoft.VisualStudio.Services.Agent/AdditionalMaskingRegexes.cs, UrlSecretPattern).
 */
const URL_PASSWORD = /(?<=\/\/[^:/?#\s]+:)(?:[\w.~-]|%(?:AZP25)?[0-9a-fA-F]{2}|[!$&'()*+,;=:])+(?=@)/g;

/**
 * The text with every registered secret (in each of its forms) and every credential-shaped value
 * replaced by `***`. `known` replaces what the task registered (for tests).
 */
export function maskSecrets(text: string, known?: readonly string[]): string {
  let masked = text.replace(JWT, "***").replace(AUTHORIZATION_VALUE, "$1$2***").replace(URL_PASSWORD, "***");
  const forms = known ? [...new Set(known.flatMap(secretForms))].sort((a, b) => b.length - a.length) : registeredForms;
  for (const form of forms) masked = masked.split(form).join("***");
  return masked;
}

const SET_SECRET = /^##vso\[task\.setsecret\]([\s\S]*)$/i;

/** One line task-lib wrote: a registration teaches the masker and passes as it is; anything else as `guardTaskLibCommand` says. */
function guardTaskLibLine(line: string): string {
  const registration = SET_SECRET.exec(line);
  if (registration) {
    learnSecret(unescapeData(registration[1]!));
    return line;
  }
  return guardTaskLibCommand(line);
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
