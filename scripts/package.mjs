#!/usr/bin/env node
// Packs build/extension/ (made by scripts/build.mjs) into dist/<publisher>.aks-hardening-tasks-<version>.vsix
// with tfx-cli, leaving exactly one .vsix in dist/. Run through `npm run package` (which builds first).
//
// tfx only *warns* when a task.json is invalid ("In the future, this warning will be treated as an
// error"); this script treats that warning, and any other tfx warning, as a failure.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { listVsixEntries, stampVsixSources, VSIX_SIZE_BUDGET } from "./vsix.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const extRoot = join(root, "build", "extension");
const dist = join(root, "dist");

if (!existsSync(join(extRoot, "vss-extension.json"))) {
  console.error("build/extension/vss-extension.json is missing: run `npm run build` first (or `npm run package`).");
  process.exit(1);
}

function clearVsixes() {
  for (const name of readdirSync(dist)) {
    if (name.endsWith(".vsix")) rmSync(join(dist, name));
  }
}
mkdirSync(dist, { recursive: true });
clearVsixes();

const tfx = join(dirname(require.resolve("tfx-cli/package.json")), "_build", "tfx-cli.js");
const args = [
  "extension",
  "create",
  "--root",
  "build/extension",
  "--manifest-globs",
  "vss-extension.json",
  "--output-path",
  "dist/",
  "--no-prompt",
  "--no-color",
];
console.log(`tfx ${args.join(" ")}`);
const run = spawnSync(process.execPath, [tfx, ...args], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
process.stdout.write(output);
if (run.status !== 0) {
  console.error(`tfx exited with ${run.status ?? run.signal}`);
  process.exit(1);
}
if (/warning/i.test(output)) {
  console.error("tfx printed a warning (for example an invalid task.json): failing the package step.");
  clearVsixes();
  process.exit(1);
}

const vsixes = readdirSync(dist).filter((n) => n.endsWith(".vsix"));
if (vsixes.length !== 1) {
  console.error(`expected exactly one .vsix in dist/, found ${vsixes.length}: ${vsixes.join(", ")}`);
  process.exit(1);
}
const vsix = join(dist, vsixes[0]);
const size = statSync(vsix).size;
const entries = listVsixEntries(vsix);
console.log(`VSIX: ${relative(root, vsix)} ${(size / 1024).toFixed(1)} KB (${entries.length} entries)`);
if (size > VSIX_SIZE_BUDGET) {
  console.error(
    `The VSIX is over its budget of ${VSIX_SIZE_BUDGET / 1024 / 1024} MB (the Marketplace refuses 50 MB): did a bundle pull in something it should not?`,
  );
  clearVsixes();
  process.exit(1);
}
// What `npm run local-azure` compares to start without packaging again when nothing changed.
stampVsixSources(vsix);
