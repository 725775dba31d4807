import { InputError, listProblems } from "../../core/errors";
import { inputLines, unexpandedMacroProblem, wholeUnexpandedMacro } from "../../core/inputs";

/** Key Vault secret names: letters, digits and dashes, 1-127 characters. */
export const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** Key Vault refuses secret values over 25 KB. */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;

export type NameMapping = "strict" | "dashes";

/** One `name=value` line as typed (the value is a secret: it never appears in a message). */
export interface SecretLine {
  line: number;
  typedName: string;
  value: string;
}

/** A secret to write, under its Key Vault name. */
export interface SecretEntry extends SecretLine {
  name: string;
}

export interface NameChange {
  from: string;
  to: string;
}

/**
 * Splits the `secrets` input into lines `name=value` (split at the first `=`; name and value
 * trimmed). Blank lines and `#` comment lines are skipped; a `#` later in a line is part of the value
 * (secrets may hold one). Every problem is collected so one fix-and-re-run
 * suffices; messages name line numbers and names, never values or whole lines (a line may be part of a
 * secret that spans lines).
 */
export function parseSecretLines(text: string, inputName = "secrets"): SecretLine[] {
  const lines: SecretLine[] = [];
  const errors: string[] = [];
  for (const { text: content, line } of inputLines(text, { trailingComments: false })) {
    const at = content.indexOf("=");
    if (at < 0) {
      errors.push(`line ${line} has no '=' (expected name=value; a value cannot span lines).`);
      continue;
    }
    const typedName = content.slice(0, at).trim();
    const value = content.slice(at + 1).trim();
    const macro = wholeUnexpandedMacro(value);
    if (!typedName) errors.push(`line ${line} has no name before '='.`);
    else if (!value)
      errors.push(`line ${line} ('${typedName}') has an empty value; Key Vault secrets need one (is the variable defined?).`);
    else if (macro) errors.push(`line ${line} ('${typedName}'): ${unexpandedMacroProblem(macro)}`);
    else if (Buffer.byteLength(value, "utf8") > MAX_SECRET_VALUE_BYTES) {
      errors.push(
        `line ${line} ('${typedName}') has a value of ${Buffer.byteLength(value, "utf8")} bytes; Key Vault accepts at most 25 KB (${MAX_SECRET_VALUE_BYTES} bytes) per secret.`,
      );
    } else lines.push({ line, typedName, value });
  }
  throwAll(inputName, errors);
  return lines;
}

/**
 * Values shorter than this are written to Key Vault as given but not registered as secrets. The
 * agent masks a registered value everywhere in the job's log from then on, whatever its length
 * (its masker's minimum length is 0 unless the organisation sets AZP_IGNORE_SECRETS_SHORTER_THAN),
 * so registering `true`, `42` or `x` would turn every `true`, `42` or `x` of every later step into
 * `***`. 6 is the agent's own bound: an organisation may tell it to ignore secrets shorter than
 * that, never longer ones (azure-pipelines-agent, src/Agent.Sdk/SecretMasking/LoggedSecretMasker.cs,
 * MinSecretLengthLimit; src/Agent.Sdk/Knob/AgentKnobs.cs, MaskedSecretMinLength).
 */
export const MIN_REGISTERED_VALUE_LENGTH = 6;

/** A value too short to be masked without destroying the log (`MIN_REGISTERED_VALUE_LENGTH`). */
export function isPlainValue(value: string): boolean {
  return value.length < MIN_REGISTERED_VALUE_LENGTH;
}

/** Every value of the input to register as a secret before anything else runs: all but the plain ones. */
export function valuesToRegister(text: string): string[] {
  const values = new Set<string>();
  for (const { text: content } of inputLines(text, { trailingComments: false })) {
    const at = content.indexOf("=");
    // A line without '=' may be the rest of a value that spans lines: mask it whole.
    const value = at < 0 ? content : content.slice(at + 1).trim();
    // An unexpanded macro is no value but the name of a missing variable: registered, the agent would
    // mask the very name the error message gives to say which variable is missing.
    if (value && !isPlainValue(value) && !wholeUnexpandedMacro(value)) values.add(value);
  }
  return [...values];
}

/**
 * Key Vault names for the lines. `strict` refuses a name Key Vault would refuse; `dashes` maps `.`
 * and `_` to `-` (Spring's `spring.datasource.url` → `spring-datasource-url`) and reports each
 * change. Two lines that end up with one name are refused under either mapping (Key Vault names
 * compare case-insensitively).
 */
export function mapSecretNames(
  lines: readonly SecretLine[],
  mapping: NameMapping,
  inputName = "secrets",
): { secrets: SecretEntry[]; changes: NameChange[] } {
  const errors: string[] = [];
  const secrets: SecretEntry[] = [];
  const changes: NameChange[] = [];
  for (const line of lines) {
    const name = mapping === "dashes" ? line.typedName.replace(/[._]/g, "-") : line.typedName;
    if (!SECRET_NAME.test(name)) {
      const hint =
        mapping === "strict" && /[._]/.test(line.typedName)
          ? " Use dashes instead, or set nameMapping to 'dashes' to map '.' and '_' to '-'."
          : "";
      errors.push(`line ${line.line}: '${line.typedName}' is not a valid Key Vault secret name (1-127 letters, digits and '-').${hint}`);
      continue;
    }
    if (name !== line.typedName) changes.push({ from: line.typedName, to: name });
    secrets.push({ ...line, name });
  }
  const byName = new Map<string, SecretEntry[]>();
  for (const secret of secrets) byName.set(secret.name.toLowerCase(), [...(byName.get(secret.name.toLowerCase()) ?? []), secret]);
  for (const group of byName.values()) {
    if (group.length < 2) continue;
    const first = group[0]!;
    const typed = group.map((s) => `line ${s.line} '${s.typedName}'`).join(", ");
    errors.push(`${typed} all become the secret '${first.name}'; give them distinct names.`);
  }
  throwAll(inputName, errors);
  return { secrets, changes };
}

function throwAll(inputName: string, errors: string[]): void {
  if (errors.length === 1) throw new InputError(inputName, errors[0]!);
  if (errors.length > 1) throw new InputError(inputName, `${errors.length} problems: ${listProblems(errors)}`);
}
