#!/usr/bin/env node
// `npm run publish`: packages the extension for your publisher and publishes it, private, to the
// Visual Studio Marketplace with `tfx extension publish`, shared with your organisations.
//
//   AKS_HARDENING_PUBLISHER    your Marketplace publisher ID (required; written into the VSIX)
//   AZURE_DEVOPS_EXT_PAT       a personal access token with the Marketplace (Publish) scope (required)
//   AKS_HARDENING_SHARE_WITH   organisations to share with, separated by commas or spaces (optional:
//                              sharing from an earlier version stays)
//   AKS_HARDENING_MARKETPLACE_URL  the marketplace to publish to (optional; tfx's default is the Visual
//                              Studio Marketplace; an Azure DevOps Server's URL publishes there)
//
//   node scripts/publish.mjs [--skip-package] [--dry-run]
//     --skip-package   publish the VSIX already in dist/ (it must carry the same publisher)
//     --dry-run        print the tfx command (token masked) instead of running it
//
// tfx-cli reads its token from --token, from its credential store after `tfx login`, or, for the
// extension commands, from its "Personal access token" prompt (tfx-cli lib/tfcommand.js getCredentials,
// lib/arguments.js val → lib/qread.js, which reads standard input); it reads no environment variable.
// A --token argument is visible to every user of the machine (ps, /proc/<pid>/cmdline), so the token
// (AZURE_DEVOPS_EXT_PAT, the name the Azure DevOps CLI reads) is written to tfx's standard input, and
// tfx runs without --no-prompt so it asks for it. The token is never printed either, and no child
// process gets it in its environment: the packaging steps (npm, tsc, esbuild, tfx extension create)
// and tfx itself run with the environment minus AZURE_DEVOPS_EXT_PAT.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { findVsix, repoRoot } from "./vsix.mjs";

const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));
const dryRun = args.delete("--dry-run");
const skipPackage = args.delete("--skip-package");
if (args.size > 0) {
  console.error(`Unknown argument(s): ${[...args].join(" ")}. Use --skip-package and/or --dry-run.`);
  process.exit(2);
}

const publisher = process.env.AKS_HARDENING_PUBLISHER?.trim() ?? "";
const token = process.env.AZURE_DEVOPS_EXT_PAT?.trim() ?? "";
const shareWith = (process.env.AKS_HARDENING_SHARE_WITH ?? "").split(/[\s,]+/).filter(Boolean);
const marketplaceUrl = process.env.AKS_HARDENING_MARKETPLACE_URL?.trim() ?? "";

const missing = [];
if (!publisher) {
  missing.push(
    "AKS_HARDENING_PUBLISHER is not set: set it to your Marketplace publisher ID " +
      "(https://marketplace.visualstudio.com/manage/publishers), e.g. AKS_HARDENING_PUBLISHER=contoso-platform.",
  );
} else if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(publisher)) {
  missing.push(`AKS_HARDENING_PUBLISHER '${publisher}' is not a publisher ID (letters, digits and '-').`);
}
if (!token) {
  missing.push(
    "AZURE_DEVOPS_EXT_PAT is not set: set it to a personal access token with the Marketplace (Publish) scope, " +
      "created for all accessible organisations (User settings → Personal access tokens).",
  );
}
if (missing.length > 0) {
  for (const line of missing) console.error(line);
  console.error("Nothing was packaged or published.");
  process.exit(1);
}
/** What every child process gets: this environment without the token. */
const childEnv = { ...process.env };
delete childEnv.AZURE_DEVOPS_EXT_PAT;

if (!skipPackage) {
  // npm sets npm_execpath when this runs as `npm run publish`; otherwise call npm from PATH.
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ["npm", []];
  const pack = spawnSync(npm[0], [...npm[1], "run", "package"], { cwd: repoRoot, stdio: "inherit", env: childEnv });
  if (pack.status !== 0) {
    console.error("Packaging failed: nothing was published.");
    process.exit(1);
  }
}

const vsix = findVsix();
if (!basename(vsix).startsWith(`${publisher}.`)) {
  console.error(
    `${basename(vsix)} was packaged for another publisher than '${publisher}': run without --skip-package to package it again.`,
  );
  process.exit(1);
}

const tfx = join(dirname(require.resolve("tfx-cli/package.json")), "_build", "tfx-cli.js");
const tfxArgs = ["extension", "publish", "--vsix", vsix, "--no-color"];
if (marketplaceUrl) tfxArgs.push("--service-url", marketplaceUrl);
if (shareWith.length > 0) tfxArgs.push("--share-with", ...shareWith);
const shown = `tfx ${tfxArgs.join(" ")} (token on standard input)`;
if (shareWith.length === 0) {
  console.warn("AKS_HARDENING_SHARE_WITH is empty: the extension keeps the organisations it is already shared with, and no new ones.");
}
if (dryRun) {
  console.log(`Would run: ${shown}`);
  process.exit(0);
}
console.log(shown);
// The only prompt tfx shows here is the token's; any other would read the end of input and fail.
const run = spawnSync(process.execPath, [tfx, ...tfxArgs], { cwd: repoRoot, encoding: "utf8", input: `${token}\n`, env: childEnv });
// tfx's prompt hides what it reads; mask the token anyway in case an error message quotes it.
const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.split(token).join("***");
process.stdout.write(output);
if (run.status !== 0) {
  console.error(`tfx extension publish failed (exit ${run.status ?? run.signal}).`);
  process.exit(1);
}
console.log(
  `Published ${basename(vsix)} (private)${shareWith.length ? `, shared with ${shareWith.join(", ")}` : ""}. ` +
    "Install it from Organization settings → Extensions → Shared.",
);
