// Helpers for tests and scripts that use the packaged extension the way the agent does.
//
// Convention: `npm run package` leaves exactly one dist/*.vsix. A test unzips it into a fresh temp
// directory (outside the repository, so that nothing can resolve the repository's node_modules) and
// runs `node <dir>/tasks/<TaskName>/index.js` (or post.js) with the agent's environment.
//
//   import { extractPackagedExtension, taskScript } from '../scripts/vsix.mjs';
//   const dir = extractPackagedExtension();
//   spawnSync(process.execPath, [taskScript(dir, 'RestrictApiServer')], { env });
import AdmZip from "adm-zip";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (the folder holding package.json). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The most a packed VSIX may weigh. The Marketplace refuses 50 MB; the four bundled tasks are about
 * 1.5 MB, so 5 MB leaves room for growth while catching a bundle that suddenly drags in node_modules.
 */
export const VSIX_SIZE_BUDGET = 5 * 1024 * 1024;

/** dist/ of the repository, where `npm run package` writes the VSIX. */
export const distDir = join(repoRoot, "dist");

/** Path of the one .vsix in `dir` (default dist/); throws when there is none or more than one. */
export function findVsix(dir = distDir) {
  const found = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".vsix")) : [];
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one .vsix in ${dir}, found ${found.length}${found.length ? ": " + found.join(", ") : ""}; run \`npm run package\``,
    );
  }
  return join(dir, found[0]);
}

/** Entry names (forward slashes) inside a VSIX, directories excluded. */
export function listVsixEntries(vsixPath) {
  return new AdmZip(vsixPath)
    .getEntries()
    .filter((e) => !e.isDirectory)
    .map((e) => e.entryName);
}

/** Unzips `vsixPath` into `destDir` (created if needed) and returns `destDir`. */
export function extractVsix(vsixPath, destDir) {
  mkdirSync(destDir, { recursive: true });
  new AdmZip(vsixPath).extractAllTo(destDir, /* overwrite */ true);
  return destDir;
}

/**
 * Unzips the packaged extension (default: the one dist/*.vsix) into a new directory under the OS temp
 * folder and returns that directory. The caller removes it when done.
 */
export function extractPackagedExtension(vsixPath = findVsix()) {
  return extractVsix(vsixPath, mkdtempSync(join(tmpdir(), "aks-hardening-vsix-")));
}

/** Path of a task's script inside an extracted VSIX: <dir>/tasks/<taskName>/<target>. */
export function taskScript(extractedDir, taskName, target = "index.js") {
  return join(extractedDir, "tasks", taskName, target);
}

/**
 * What the VSIX is built from (scripts/build.mjs and package.mjs read these and nothing else): the
 * tasks and the core they bundle, the dependencies as locked, the manifest and its pages, and the
 * build scripts themselves, plus the publisher a build may be given.
 */
const PACKAGE_SOURCES = [
  "core",
  "tasks",
  "images",
  "package.json",
  "package-lock.json",
  "vss-extension.json",
  "overview.md",
  "LICENSE",
  "tsconfig.json",
  "scripts/build.mjs",
  "scripts/package.mjs",
  "scripts/manifest-links.mjs",
];
/** Where `npm run package` records the hash of the sources of the VSIX it made. */
const SOURCES_STAMP = join(distDir, "vsix-sources.sha256");

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

/**
 * A SHA-256 of the package's sources: each file's path and content, in path order. Content, not
 * modification times: a checkout, a copy or an editor that restores a file changes times without
 * changing the VSIX, and a file copied with its old time changes the VSIX without a newer time.
 */
export function packageSourcesHash() {
  const hash = createHash("sha256");
  hash.update(`publisher=${process.env.AKS_HARDENING_PUBLISHER ?? ""}\0`);
  const files = PACKAGE_SOURCES.flatMap((source) => filesUnder(join(repoRoot, source)))
    .map((file) => relative(repoRoot, file).split("\\").join("/"))
    .sort();
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(repoRoot, file)))
      .update("\0");
  return hash.digest("hex");
}

/** Records that `vsixPath` was made from the sources as they are now (package.mjs, after a good build). */
export function stampVsixSources(vsixPath) {
  writeFileSync(SOURCES_STAMP, `${packageSourcesHash()} ${relative(distDir, vsixPath)}\n`);
}

/** The VSIX in dist/ when it was made from the sources as they are now; undefined when it is missing or stale. */
export function currentVsix() {
  if (!existsSync(SOURCES_STAMP)) return undefined;
  const [hash, name] = readFileSync(SOURCES_STAMP, "utf8").trim().split(" ");
  const vsix = name ? join(distDir, name) : "";
  return vsix && existsSync(vsix) && hash === packageSourcesHash() ? vsix : undefined;
}
