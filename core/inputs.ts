import * as tl from "azure-pipelines-task-lib/task";
import { InputError } from "./errors";
import { isResourceGroupName, RESOURCE_GROUP_RULE } from "./names";

/** Readers for task inputs. Only a task's `inputs.ts` calls these; everything below it gets typed values. */

export function readString(name: string): string | undefined {
  const value = tl.getInput(name, false)?.trim();
  return value ? value : undefined;
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
