// Our lint of a task.json, on top of tfx's own validation (tfx-cli/_build/lib/jsonvalidate.js, which
// checks the GUID id, name, friendlyName <= 40, instanceNameFormat and that handler targets exist).
// This adds what the classic editor and the agent rely on and tfx does not check:
//   - handlers: only Node20_1 and Node24, both in every execution block, every target present;
//   - inputs: names and types, a label and a helpMarkDown on each, a group that exists, options for
//     pick lists and radios, defaults that are among the options;
//   - visibleRule (inputs and groups): the grammar the classic editor parses, naming inputs that exist
//     and values those inputs can take;
//   - dataSourceBindings: targets, endpoints and $(input) references that exist; pickers for the
//     Azure resources the tasks take, depending on an optional input only where its empty value
//     lists everything (substringof in ARM's resources list);
//   - instanceNameFormat references, output variables with descriptions;
//   - restrictions.settableVariables.allowed: exactly the task's output variables (the agent then
//     refuses any other setvariable, and prependpath, from the task's output), and no restricted
//     command mode, which would block task.uploadsummary.
//
//   import { lintTaskJson } from "./task-lint.mjs";
//   const problems = lintTaskJson(taskJson, { dir }); // [] when fine
import { existsSync } from "node:fs";
import { join } from "node:path";

export const SUPPORTED_HANDLERS = ["Node20_1", "Node24"];
const EXECUTION_KEYS = ["prejobexecution", "execution", "postjobexecution"];
const INPUT_TYPES = ["boolean", "filePath", "multiLine", "pickList", "radio", "secureFile", "string", "int"];
const NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * Inputs that must offer a picker in the classic editor, and what the picker lists: a built-in data
 * source, or an ARM list call (endpointUrl) of this resource type.
 */
export const PICKERS = {
  resourceGroupName: { dataSourceName: "AzureResourceGroups" },
  clusterName: { resourceType: "Microsoft.ContainerService/managedClusters" },
  keyVaultName: { resourceType: "Microsoft.KeyVault/vaults" },
  identity: { resourceType: "Microsoft.ManagedIdentity/userAssignedIdentities" },
  grantTo: { resourceType: "Microsoft.ManagedIdentity/userAssignedIdentities" },
};

/** Operators of the editor's visibleRule grammar that this extension uses (ordering operators compare strings: not useful). */
const EQUALITY = ["=", "==", "!="];
const CONTAINMENT = ["Contains", "NotContains"];

/**
 * How the classic editor reads one predicate of a visibleRule (its VisibilityHelper): an input name of
 * letters, digits and spaces, an operator, and a value of letters, digits, '.' and spaces; anything else
 * in the value is silently dropped. Returns undefined when the editor finds no predicate at all.
 */
export function editorPredicate(text) {
  const symbolic = /([a-zA-Z0-9 ]+)([!=<>]+)([a-zA-Z0-9. ]+)/.exec(text);
  const worded = /([a-zA-Z0-9 ]+?)(NotContains|NotEndsWith|NotStartsWith|Contains|EndsWith|StartsWith)([a-zA-Z0-9. ]+)/.exec(text);
  const first = [symbolic, worded].filter(Boolean).sort((a, b) => a.index - b.index)[0];
  if (!first) return undefined;
  return { input: first[1].trim(), operator: first[2].trim(), value: first[3].trim() };
}

/**
 * Parses a visibleRule as this extension writes them: predicates joined by only `&&` or only `||`
 * (the editor splits on `&&` first and cannot evaluate a mix), each `input op value`, where value is
 * letters, digits, '.' and spaces, or `""` for the empty value. Throws with the reason.
 */
export function parseVisibleRule(rule) {
  if (typeof rule !== "string" || rule.trim() === "") throw new Error("is empty");
  if (rule.includes("&&") && rule.includes("||")) throw new Error("mixes && and ||, which the editor cannot evaluate");
  if (/[()]/.test(rule)) throw new Error("has parentheses, which the editor does not support");
  const joiner = rule.includes("&&") ? "&&" : rule.includes("||") ? "||" : undefined;
  const parts = joiner ? rule.split(joiner) : [rule];
  const predicates = parts.map((part) => {
    const match =
      /^\s*([A-Za-z][A-Za-z0-9]*)\s*(==|=|!=)\s*(""|[A-Za-z0-9.]+(?: [A-Za-z0-9.]+)*)?\s*$/.exec(part) ??
      /^\s*([A-Za-z][A-Za-z0-9]*)\s+(NotContains|Contains)\s+([A-Za-z0-9.]+)\s*$/.exec(part);
    if (!match) {
      throw new Error(
        `has '${part.trim()}', which is not 'input = value', 'input != value' or 'input Contains value' (values: letters, digits, '.', or "" for empty)`,
      );
    }
    const predicate = { input: match[1], operator: match[2], value: match[3] === '""' || match[3] === undefined ? "" : match[3] };
    const editor = editorPredicate(part);
    if (
      !editor ||
      editor.input !== predicate.input ||
      editor.operator !== predicate.operator ||
      editor.value.toLowerCase() !== predicate.value.toLowerCase()
    ) {
      throw new Error(`has '${part.trim()}', which the classic editor would read as ${JSON.stringify(editor)}`);
    }
    return predicate;
  });
  return { joiner, predicates };
}

function isMultiSelect(input) {
  const p = input.properties ?? {};
  return String(p.MultiSelectFlatList).toLowerCase() === "true" || String(p.MultiSelect).toLowerCase() === "true";
}

function isEditable(input) {
  return String(input.properties?.EditableOptions).toLowerCase() === "true";
}

/** The values an input can take, lower-cased, or undefined when it is free text. */
function allowedValues(input) {
  if (input.type === "boolean") return ["true", "false"];
  if ((input.type === "radio" || input.type === "pickList") && input.options && !isEditable(input)) {
    return Object.keys(input.options).map((k) => k.toLowerCase());
  }
  return undefined;
}

/**
 * Whether an optional input only narrows the list: it stands inside `substringof('$(name)', …)` of
 * ARM's resources list `$filter` (Resources_List: "substringof(value, property) … for name and
 * resourceGroup"), where an empty value matches every resource, so the picker lists all until the
 * input is filled.
 */
function narrowsOnly(url, ref) {
  const decoded = decodeURIComponent(url);
  const uses = decoded.split(`$(${ref})`).length - 1;
  const narrowing = decoded.split(`substringof('$(${ref})', `).length - 1;
  return uses > 0 && uses === narrowing && /\/resources\?\$filter=/.test(decoded);
}

/** Whether the URL is ARM's resources list filtered to one resource type. */
function listsResourceType(url, resourceType) {
  return decodeURIComponent(url).includes(`/resources?$filter=resourceType eq '${resourceType}'`);
}

/** $(name) references in a string (not $(name.output) or agent variables with dots). */
function references(text) {
  return [...String(text ?? "").matchAll(/\$\(([^)]+)\)/g)].map((m) => m[1]);
}

/**
 * Lints one task.json. `dir` (optional) is the folder holding it, to check that handler targets exist.
 * Returns a list of problems, each a sentence starting with `<task name>:`.
 */
export function lintTaskJson(task, { dir } = {}) {
  const name = task?.name ?? "task.json";
  const problems = [];
  const problem = (text) => problems.push(`${name}: ${text}`);

  // Handlers.
  if (!task.execution) problem("has no execution block");
  for (const key of EXECUTION_KEYS) {
    const block = task[key];
    if (!block) continue;
    for (const handler of Object.keys(block)) {
      if (!SUPPORTED_HANDLERS.includes(handler))
        problem(`${key}.${handler}: only ${SUPPORTED_HANDLERS.join(" and ")} handlers are allowed`);
      const target = String(block[handler]?.target ?? "").replace(/^\$\(\s*currentDirectory\s*\)[\\/]/i, "");
      if (!target) problem(`${key}.${handler} has no target`);
      else if (dir && !existsSync(join(dir, target))) problem(`${key}.${handler}.target ${target} is not in the package`);
    }
    for (const handler of SUPPORTED_HANDLERS) {
      if (!block[handler]) problem(`${key} has no ${handler} handler`);
    }
  }

  // Groups.
  const groups = task.groups ?? [];
  const groupNames = new Set();
  for (const group of groups) {
    if (!group.name || !group.displayName) problem(`a group lacks name or displayName: ${JSON.stringify(group)}`);
    if (groupNames.has(group.name)) problem(`group '${group.name}' is declared twice`);
    groupNames.add(group.name);
  }

  // Inputs.
  const inputs = task.inputs ?? [];
  const byName = new Map();
  for (const input of inputs) {
    const where = `input '${input.name}'`;
    if (!NAME.test(input.name ?? "")) problem(`${where}: name must match ${NAME} (the agent passes it as INPUT_<NAME>)`);
    if (byName.has(input.name?.toLowerCase())) problem(`${where} is declared twice`);
    byName.set(input.name?.toLowerCase(), input);
    for (const alias of input.aliases ?? []) {
      if (!NAME.test(alias)) problem(`${where}: alias '${alias}' must match ${NAME}`);
    }
    if (!(INPUT_TYPES.includes(input.type) || /^connectedService:.+$/.test(input.type ?? ""))) {
      problem(`${where}: type '${input.type}' is not one the editor knows (${INPUT_TYPES.join(", ")}, connectedService:<kind>)`);
    }
    if (!String(input.label ?? "").trim()) problem(`${where} has no label`);
    const help = String(input.helpMarkDown ?? "").trim();
    if (help.length < 20) problem(`${where} has no helpMarkDown saying what to enter`);
    if (!input.groupName) problem(`${where} is in no group`);
    else if (!groupNames.has(input.groupName)) problem(`${where}: groupName '${input.groupName}' is not a declared group`);
    if ((input.type === "radio" || (input.type === "pickList" && !isEditable(input))) && !Object.keys(input.options ?? {}).length) {
      problem(`${where}: a ${input.type} without EditableOptions needs options`);
    }
    if (input.type === "boolean" && input.defaultValue !== undefined && !["true", "false"].includes(String(input.defaultValue))) {
      problem(`${where}: a boolean's defaultValue must be "true" or "false"`);
    }
    const allowed = allowedValues(input);
    if (allowed && input.type !== "boolean" && input.defaultValue !== undefined && input.defaultValue !== "") {
      const values = isMultiSelect(input) ? String(input.defaultValue).split(",") : [String(input.defaultValue)];
      for (const v of values) {
        if (!allowed.includes(v.trim().toLowerCase())) problem(`${where}: defaultValue '${v}' is not one of its options`);
      }
    }
  }
  for (const group of groups) {
    if (!inputs.some((i) => i.groupName === group.name)) problem(`group '${group.name}' holds no input`);
  }

  // visibleRule, on inputs and groups.
  const checkRule = (owner, rule, self) => {
    let parsed;
    try {
      parsed = parseVisibleRule(rule);
    } catch (err) {
      problem(`${owner}: visibleRule "${rule}" ${err.message}`);
      return;
    }
    for (const p of parsed.predicates) {
      const target = byName.get(p.input.toLowerCase());
      if (!target) {
        problem(`${owner}: visibleRule "${rule}" names input '${p.input}', which does not exist`);
        continue;
      }
      if (target.name !== p.input) problem(`${owner}: visibleRule "${rule}" spells '${target.name}' as '${p.input}'`);
      if (self && target.name === self) problem(`${owner}: visibleRule "${rule}" depends on the input itself`);
      const allowed = allowedValues(target);
      if (CONTAINMENT.includes(p.operator)) {
        if (!isMultiSelect(target))
          problem(`${owner}: visibleRule "${rule}" uses ${p.operator} on '${target.name}', which is not a multi-select list`);
        // Contains is case-sensitive in the editor: the value must be an option key exactly.
        else if (!Object.keys(target.options ?? {}).includes(p.value)) {
          problem(`${owner}: visibleRule "${rule}": '${p.value}' is not an option of '${target.name}' (case matters for ${p.operator})`);
        }
      } else if (!EQUALITY.includes(p.operator)) {
        problem(`${owner}: visibleRule "${rule}" uses operator '${p.operator}'`);
      } else if (allowed && !allowed.includes(p.value.toLowerCase())) {
        problem(`${owner}: visibleRule "${rule}": '${target.name}' never has the value '${p.value}' (it takes ${allowed.join(", ")})`);
      }
    }
  };
  for (const input of inputs) if (input.visibleRule !== undefined) checkRule(`input '${input.name}'`, input.visibleRule, input.name);
  for (const group of groups) if (group.visibleRule !== undefined) checkRule(`group '${group.name}'`, group.visibleRule);

  // dataSourceBindings.
  const bindings = task.dataSourceBindings ?? [];
  const connectedServices = new Set(inputs.filter((i) => /^connectedService:/.test(i.type ?? "")).map((i) => i.name));
  const checkRefs = (owner, text) => {
    for (const ref of references(text)) {
      if (!byName.has(ref.toLowerCase())) problem(`${owner}: $(${ref}) names no input`);
    }
  };
  for (const binding of bindings) {
    const owner = `dataSourceBinding for '${binding.target}'`;
    const target = byName.get(String(binding.target ?? "").toLowerCase());
    if (!target) problem(`${owner}: target '${binding.target}' is not an input`);
    else if (target.type !== "pickList") problem(`${owner}: target is a ${target.type}, not a pickList`);
    const endpoint = /^\$\(([^)]+)\)$/.exec(binding.endpointId ?? "");
    if (!endpoint || !connectedServices.has(endpoint[1]))
      problem(`${owner}: endpointId '${binding.endpointId}' must be $(<a connectedService input>)`);
    if (!binding.dataSourceName && !binding.endpointUrl) problem(`${owner}: needs a dataSourceName or an endpointUrl`);
    if (binding.endpointUrl) {
      if (!binding.endpointUrl.startsWith("{{{endpoint.url}}}"))
        problem(`${owner}: endpointUrl must start with {{{endpoint.url}}} (the connection's cloud)`);
      if (!/[?&]api-version=\d{4}-\d{2}-\d{2}/.test(binding.endpointUrl)) problem(`${owner}: endpointUrl has no api-version`);
      if (!String(binding.resultSelector ?? "").startsWith("jsonpath:")) problem(`${owner}: resultSelector must be jsonpath:…`);
      checkRefs(owner, binding.endpointUrl);
      for (const ref of references(binding.endpointUrl)) {
        if (byName.get(ref.toLowerCase())?.required === false && !narrowsOnly(binding.endpointUrl, ref)) {
          problem(`${owner}: endpointUrl depends on $(${ref}), which is optional: the picker would be empty until it is filled`);
        }
      }
      try {
        const template = JSON.parse(String(binding.resultTemplate ?? "").replace(/\{\{\{[^}]+\}\}\}/g, "x"));
        if (!("Value" in template) || !("DisplayValue" in template)) throw new Error("no Value/DisplayValue");
      } catch {
        problem(`${owner}: resultTemplate must be JSON with Value and DisplayValue`);
      }
    }
    for (const value of Object.values(binding.parameters ?? {})) checkRefs(owner, value);
  }
  for (const input of inputs) {
    const picker = PICKERS[input.name];
    if (!picker) continue;
    const binding = bindings.find((b) => b.target === input.name);
    const ok =
      binding &&
      (picker.dataSourceName
        ? binding.dataSourceName === picker.dataSourceName
        : String(binding.endpointUrl ?? "").includes(`/providers/${picker.resourceType}?`) ||
          listsResourceType(String(binding.endpointUrl ?? ""), picker.resourceType));
    if (!ok) problem(`input '${input.name}' has no picker (${picker.dataSourceName ?? picker.resourceType})`);
    if (input.type === "pickList" && !isEditable(input))
      problem(`input '${input.name}': a picker must keep EditableOptions so variables can be typed`);
  }

  // instanceNameFormat.
  if (!String(task.instanceNameFormat ?? "").trim()) problem("has no instanceNameFormat");
  for (const ref of references(task.instanceNameFormat)) {
    if (!byName.has(ref.toLowerCase())) problem(`instanceNameFormat: $(${ref}) names no input`);
  }

  // Output variables.
  const outputs = task.outputVariables ?? [];
  const outputNames = new Set();
  for (const output of outputs) {
    if (!NAME.test(output.name ?? "")) problem(`output variable '${output.name}' must match ${NAME}`);
    if (outputNames.has(output.name)) problem(`output variable '${output.name}' is declared twice`);
    outputNames.add(output.name);
    if (String(output.description ?? "").trim().length < 10) problem(`output variable '${output.name}' has no description`);
  }
  if (!outputNames.has("changed")) problem("has no 'changed' output variable (every task sets it)");

  // Restrictions: text from Azure or inputs that slipped into a log line could otherwise set any variable.
  const allowed = task.restrictions?.settableVariables?.allowed;
  if (!Array.isArray(allowed)) {
    problem("has no restrictions.settableVariables.allowed listing its output variables");
  } else {
    const extra = allowed.filter((v) => !outputNames.has(v));
    const missing = [...outputNames].filter((v) => !allowed.includes(v));
    if (extra.length)
      problem(
        `restrictions.settableVariables.allowed lists ${extra.join(", ")}, which ${extra.length === 1 ? "is not an output variable" : "are not output variables"}`,
      );
    if (missing.length) problem(`restrictions.settableVariables.allowed misses the output variable(s) ${missing.join(", ")}`);
  }
  if (task.restrictions?.commands?.mode === "restricted") {
    problem("restrictions.commands.mode 'restricted' would block task.uploadsummary (the job summary); leave the mode unset");
  }

  return problems;
}
