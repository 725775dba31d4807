import * as tl from "azure-pipelines-task-lib/task";
import { InputError } from "./errors";
import { isResourceGroupName, RESOURCE_GROUP_RULE } from "./names";
import { secretVariableGiven } from "./task-lib";

/** Readers for task inputs. Only a task's `inputs.ts` calls these; everything below it gets typed values. */

export function readString(name: string): string | undefined {
  const value = tl.getInput(name, false)?.trim();
  if (!value) return undefined;
  const macro = UNEXPANDED_MACRO.exec(value)?.[0];
  if (macro) throw new InputError(name, unexpandedMacroProblem(macro));
  return value;
}

/** What the agent leaves in an input for `$(name)` when no variable or output of that name exists where the step runs. */
const UNEXPANDED_MACRO = /\$\([\w.-]+\)/;

/** `$(name)` when the whole of `text` is one macro the agent did not expand; a value merely holding one is a value. */
export function wholeUnexpandedMacro(text: string): string | undefined {
  const trimmed = text.trim();
  return new RegExp(`^${UNEXPANDED_MACRO.source}$`).test(trimmed) ? trimmed : undefined;
}

/**
 * Why a macro reached the task unexpanded, and where to look. `$(step.output)` names an output
 * variable: it exists only after its step ran, in the same job; an earlier stage's output has to be
 * mapped into a job variable through `stageDependencies`.
 */
export function unexpandedMacroProblem(macro: string): string {
  const name = macro.slice(2, -1);
  const secret = secretVariableGiven(name);
  if (secret) {
    // On an agent a secret variable of that name would have been expanded: this process was started by hand.
    return (
      `'${macro}' was not expanded, although this process was given the secret variable '${name}' (${secret}). ` +
      `The agent expands $(…) in a task's inputs before the task starts, secret variables included; the task never does. ` +
      `The agent hands a secret variable to a task as SECRET_<NAME> (the name upper-cased, '.' and spaces as '_'), lists its name in VSTS_SECRET_VARIABLES, and task-lib reads it from there only when asked for the variable by name. ` +
      `Run by hand, put the value in the input's INPUT_ variable yourself, e.g. "name=$${secret}" from the shell.`
    );
  }
  const dot = name.indexOf(".");
  if (dot > 0) {
    const step = name.slice(0, dot);
    const output = name.slice(dot + 1);
    return (
      `'${macro}' was not expanded: no variable or output '${name}' exists where this step runs. ` +
      `Is '${output}' an output of a step named '${step}' (name: ${step}), and does that step run earlier in the same job? ` +
      `For an output of an earlier stage, map it to a job variable, e.g. variables: { ${output}: $[ stageDependencies.<stage>.<job>.outputs['${name}'] ] }, and use $(${output}).`
    );
  }
  return (
    `'${macro}' was not expanded: no variable '${name}' is defined where this step runs. ` +
    `Is it defined (pipeline, stage or job variables, or a linked variable group), or, if a script step sets it (the task.setvariable logging command), does that step run earlier in the same job? ` +
    `For a value from an earlier stage, map it to a job variable with $[ stageDependencies.<stage>.<job>.outputs['<step>.${name}'] ].`
  );
}

/** One entry of a list input, with the line it was typed on. */
export interface ListEntry {
  text: string;
  line: number;
}

/**
 * The lines of a multi-line input without comments: blank lines and lines starting with `#` are
 * skipped; with `trailingComments`, a `#` after whitespace ends the line's content too (off where a
 * value may hold " #", as a secret's value may).
 */
export function inputLines(text: string, options: { trailingComments: boolean }): ListEntry[] {
  const lines: ListEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const content = (options.trailingComments ? raw.replace(/(^|\s)#.*$/, "") : raw).trim();
    if (content && !content.startsWith("#")) lines.push({ text: content, line: index + 1 });
  });
  return lines;
}

/**
 * The entries of a list input typed over one or more lines: `# comment` lines and trailing comments
 * are dropped, then each line is split at `separators` (commas, semicolons and whitespace unless
 * given).
 */
export function readListEntries(text: string, separators: RegExp = /[\s,;]+/): ListEntry[] {
  return inputLines(text, { trailingComments: true }).flatMap(({ text: content, line }) =>
    content
      .split(separators)
      .filter(Boolean)
      .map((entry) => ({ text: entry, line })),
  );
}

/** "line 3: " when the input spans lines (so the entry can be found), nothing for a one-line value. */
export function whereTyped(text: string, entry: ListEntry): string {
  return /\r?\n./.test(text.trim()) ? `line ${entry.line}: ` : "";
}

export function readRequired(name: string, hint: string): string {
  const value = readString(name);
  if (!value) throw new InputError(name, `is required: ${hint}`);
  return value;
}

export function readBoolean(name: string, defaultValue: boolean): boolean {
  const value = readString(name);
  if (value === undefined) return defaultValue;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  throw new InputError(name, `'${value}' is not a boolean; use true or false.`);
}

export function readChoice<T extends string>(name: string, choices: readonly T[], defaultValue: T): T {
  const value = readString(name);
  if (value === undefined) return defaultValue;
  const match = choices.find((choice) => choice.toLowerCase() === value.toLowerCase());
  if (!match) throw new InputError(name, `'${value}' is not one of ${choices.map((c) => `'${c}'`).join(", ")}.`);
  return match;
}

export function readResourceGroupName(name = "resourceGroupName"): string {
  const value = readRequired(name, "enter the name of the resource group that holds the resource.");
  if (!isResourceGroupName(value)) throw new InputError(name, `'${value}' is not a valid resource group name (${RESOURCE_GROUP_RULE}).`);
  return value;
}

/** AKS cluster names: 1-63 letters, digits, '_' and '-', starting and ending with a letter or digit. */
export function readClusterName(name = "clusterName"): string {
  const value = readRequired(name, "enter the name of the AKS cluster.");
  if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$/.test(value)) {
    throw new InputError(
      name,
      `'${value}' is not a valid AKS cluster name (1-63 letters, digits, '_' or '-', starting and ending with a letter or digit).`,
    );
  }
  return value;
}

/** Vault names: 3-24 letters, digits and dashes, starting with a letter, ending with a letter or digit, no "--". */
export function readKeyVaultName(name = "keyVaultName"): string {
  const value = readRequired(name, "enter the name of the key vault.");
  if (!/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(value) || value.includes("--")) {
    throw new InputError(
      name,
      `'${value}' is not a valid key vault name (3-24 letters, digits and '-', starting with a letter, ending with a letter or digit, no '--').`,
    );
  }
  return value;
}

/** A pipeline variable holding a whole number of seconds, for tuning waits without a task input. */
export function readSecondsVariable(variable: string, defaultSeconds: number): number {
  const raw = tl.getVariable(variable)?.trim();
  if (!raw) return defaultSeconds;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new InputError(variable, `'${raw}' is not a number of seconds.`);
  }
  return seconds;
}
