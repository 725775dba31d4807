#!/usr/bin/env node
// Checks a packaged extension: lists the VSIX entries with their sizes and fails when anything that
// must not ship is inside (node_modules/, TypeScript sources, source maps, tests), when a task
// folder lacks its task.json or a handler target, or when the VSIX is over the size budget.
//
//   node scripts/check-vsix.mjs [path/to.vsix]      (default: the one dist/*.vsix)
//   import { vsixProblems } from "./check-vsix.mjs"; (what test/extension/package.test.ts uses)
import AdmZip from "adm-zip";
import { statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findVsix, repoRoot, VSIX_SIZE_BUDGET } from "./vsix.mjs";

const FORBIDDEN = [
  [/(^|\/)node_modules\//, "node_modules/ (tasks are bundled)"],
  [/\.(c|m)?ts$/, "TypeScript source"],
  [/\.map$/, "source map"],
  [/(^|\/)(tests?|__tests__|spec)\//, "test folder"],
  [/\.(test|spec)\.[cm]?[jt]s$/, "test file"],
  [/(^|\/)\.[^/]+$/, "dot file"],
];

/** What must not be in a packaged extension, and what it must have. Returns { entries, problems }. */
export function vsixProblems(vsixPath) {
  const entries = new AdmZip(vsixPath).getEntries().filter((e) => !e.isDirectory);
  const problems = [];
  for (const e of entries) {
    for (const [re, why] of FORBIDDEN) {
      if (re.test(e.entryName)) problems.push(`${e.entryName}: ${why} must not be in the VSIX`);
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

  const size = statSync(vsixPath).size;
  if (size > VSIX_SIZE_BUDGET) {
    problems.push(`the VSIX is ${(size / 1024 / 1024).toFixed(2)} MB, over the budget of ${VSIX_SIZE_BUDGET / 1024 / 1024} MB`);
  }
  return { entries, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const vsixPath = process.argv[2] ?? findVsix();
  const { entries, problems } = vsixProblems(vsixPath);
  let total = 0;
  for (const e of entries) {
    total += e.header.size;
    console.log(`${String(e.header.size).padStart(10)}  ${e.entryName}`);
  }
  console.log(
    `${entries.length} entries, ${(total / 1024).toFixed(1)} KB uncompressed, ` +
      `${(statSync(vsixPath).size / 1024).toFixed(1)} KB packed (budget ${VSIX_SIZE_BUDGET / 1024 / 1024} MB): ${relative(repoRoot, vsixPath)}`,
  );
  if (problems.length > 0) {
    for (const p of problems) console.error(`error: ${p}`);
    process.exit(1);
  }
  console.log("VSIX contents OK");
}
