#!/usr/bin/env node
// Checks a packaged extension: lists the VSIX entries with their sizes and fails when anything that
// must not ship is inside (node_modules/, TypeScript sources, source maps, tests), or when a task
// folder lacks its task.json or a handler target.
//
//   node scripts/check-vsix.mjs [path/to.vsix]      (default: the one dist/*.vsix)
import AdmZip from "adm-zip";
import { statSync } from "node:fs";
import { relative } from "node:path";
import { findVsix, repoRoot } from "./vsix.mjs";

const vsixPath = process.argv[2] ?? findVsix();
const zip = new AdmZip(vsixPath);
const entries = zip.getEntries().filter((e) => !e.isDirectory);

const FORBIDDEN = [
  [/(^|\/)node_modules\//, "node_modules/ (tasks are bundled)"],
  [/\.(c|m)?ts$/, "TypeScript source"],
  [/\.map$/, "source map"],
  [/(^|\/)(tests?|__tests__|spec)\//, "test folder"],
  [/\.(test|spec)\.[cm]?[jt]s$/, "test file"],
  [/(^|\/)\.[^/]+$/, "dot file"],
];

const problems = [];
let total = 0;
for (const e of entries) {
  const name = e.entryName;
  const size = e.header.size;
  total += size;
  console.log(`${String(size).padStart(10)}  ${name}`);
  for (const [re, why] of FORBIDDEN) {
    if (re.test(name)) problems.push(`${name}: ${why} must not be in the VSIX`);
  }
}

// Every contributed task folder has a task.json whose handler targets are inside the VSIX.
const names = new Set(entries.map((e) => e.entryName));
const taskJsons = entries.filter((e) => /^tasks\/[^/]+\/task\.json$/.test(e.entryName));
if (taskJsons.length === 0) problems.push("no tasks/*/task.json in the VSIX");
for (const e of taskJsons) {
  const dir = e.entryName.slice(0, -"task.json".length);
  const task = JSON.parse(
    e
      .getData()
      .toString("utf8")
      .replace(/^\uFEFF/, ""),
  );
  for (const key of ["prejobexecution", "execution", "postjobexecution"]) {
    for (const [handler, spec] of Object.entries(task[key] ?? {})) {
      const target = String(spec?.target ?? "").replace(/^\.\//, "");
      if (!names.has(dir + target)) problems.push(`${e.entryName}: ${key}.${handler}.target ${target} is not in the VSIX`);
    }
  }
}

const fileSize = statSync(vsixPath).size;
console.log(
  `${entries.length} entries, ${(total / 1024).toFixed(1)} KB uncompressed, ` +
    `${(fileSize / 1024).toFixed(1)} KB packed: ${relative(repoRoot, vsixPath)}`,
);
if (problems.length > 0) {
  for (const p of problems) console.error(`error: ${p}`);
  process.exit(1);
}
console.log("VSIX contents OK");
