#!/usr/bin/env node
// Builds the extension's package root, build/extension/, from tasks/*/ (see DESIGN.md "Build, package, test").
//
// For every tasks/<TaskName>/task.json:
//   - every Node handler target in execution / prejobexecution / postjobexecution (e.g. index.js, post.js)
//     is bundled from the .ts file of the same base name (index.ts, post.ts) with esbuild into
//     build/extension/tasks/<TaskName>/<target>: one minified CommonJS file for Node 20+, no source maps;
//   - task.json (and task.loc.json) get the version of the root package.json; Strings/ is copied;
//   - icon.png comes from the task folder, else images/task-icon.png.
// Then vss-extension.json is written with the same version, the publisher (env AKS_HARDENING_PUBLISHER
// overrides the manifest's), the repository and support links from package.json's `repository` and `bugs`
// (none when `repository` is not set), one task contribution and one files entry per task folder;
// overview.md (with a line linking the repository, when there is one), images/ and LICENSE are copied beside it.
//
// The build fails when a handler target has no entry .ts, when a task.json would not pass tfx's own
// validation, or when a bundle still require()s a module that is not a Node built-in.
import { build } from "esbuild";
import { existsSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync, cpSync, statSync } from "node:fs";
import { isBuiltin, createRequire } from "node:module";
import { basename, dirname, extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { manifestLinks, overviewWithSource } from "./manifest-links.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
/**
 * The benchmark measures what each start-up lever saves by building the tasks without it:
 * AKS_HARDENING_BUILD_WITHOUT lists levers to leave out (`one-copy`, `no-undici`), and
 * AKS_HARDENING_BUILD_OUT names where such a build goes (never the package's build/extension).
 */
const leftOut = new Set((process.env.AKS_HARDENING_BUILD_WITHOUT ?? "").split(",").filter(Boolean));
for (const lever of leftOut) {
  if (!["one-copy", "no-undici"].includes(lever)) {
    console.error(`AKS_HARDENING_BUILD_WITHOUT: unknown lever '${lever}' (one-copy, no-undici)`);
    process.exit(1);
  }
}
if (leftOut.size > 0 && !process.env.AKS_HARDENING_BUILD_OUT) {
  console.error("AKS_HARDENING_BUILD_WITHOUT needs AKS_HARDENING_BUILD_OUT: a build without a lever is never the package's");
  process.exit(1);
}
const outRoot = process.env.AKS_HARDENING_BUILD_OUT ?? join(root, "build", "extension");

/** Handlers the agent still supports; the older Node runners are end-of-life. */
const SUPPORTED_NODE_HANDLERS = ["Node20_1", "Node24"];
const DEPRECATED_HANDLERS = ["Node", "Node10", "Node16"];
const EXECUTION_KEYS = ["prejobexecution", "execution", "postjobexecution"];

/**
 * Optional dependencies that a library require()s inside try/catch and does without. They are not
 * installed, so esbuild would leave a run-time require() behind (which could even resolve to some
 * unrelated node_modules above the task folder). Each is replaced by an empty module instead; say why.
 */
const EMPTY_MODULES = {
  "supports-color": "debug (via https-proxy-agent) only uses it to pick terminal colours",
};

/** esbuild plugin: resolve EMPTY_MODULES to `module.exports = {}`. */
const emptyModulesPlugin = {
  name: "empty-optional-modules",
  setup(b) {
    const filter = new RegExp(
      `^(${Object.keys(EMPTY_MODULES)
        .map((m) => m.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"))
        .join("|")})$`,
    );
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "empty-optional" }));
    b.onLoad({ filter: /.*/, namespace: "empty-optional" }, () => ({ contents: "module.exports = {};", loader: "js" }));
  },
};

/**
 * One copy of each Azure core package per bundle. These packages ship an ESM build (their "import"
 * export) and a CommonJS build (their "require" export). arm-authorization and arm-features ship
 * only CommonJS and require() them, every other SDK imports them, so both builds would land in the
 * bundle and both be evaluated at start. A require() of one of them is resolved to the ESM build
 * instead (esbuild wraps it for require), so one copy serves every SDK, and `instanceof RestError`
 * holds whichever SDK threw.
 */
const DUAL_BUILD_PACKAGES = /^(@azure\/(core-[a-z-]+|abort-controller|logger)|@typespec\/ts-http-runtime)(\/.*)?$/;
const oneCopyPlugin = {
  name: "one-copy-of-dual-build-packages",
  setup(b) {
    b.onResolve({ filter: DUAL_BUILD_PACKAGES }, async (args) => {
      if (args.kind !== "require-call" || args.pluginData?.oneCopy) return undefined;
      const esm = await b.resolve(args.path, {
        kind: "import-statement",
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: { oneCopy: true },
      });
      return esm.errors.length > 0 ? undefined : { path: esm.path, namespace: esm.namespace };
    });
  },
};

/**
 * Sibling bundles: a handler entry may load another bundle of its own task folder at run time with
 * `require("./<name>.js")`; `<name>.ts` beside the entry is then bundled into `<name>.js` beside its
 * bundle, and the require() stays. RestrictApiServer's post-job step uses it to decide that there is
 * nothing to do before it loads the bundle that would do it.
 */
function siblingBundlesPlugin(srcDir, siblings) {
  return {
    name: "sibling-bundles",
    setup(b) {
      b.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, (args) => {
        if (dirname(args.importer) !== srcDir || !existsSync(join(srcDir, basename(args.path, ".js") + ".ts"))) return undefined;
        siblings.add(basename(args.path));
        return { path: args.path, external: true };
      });
    },
  };
}

const errors = [];
const warnings = [];
const fail = (msg) => errors.push(msg);
const warn = (msg) => warnings.push(msg);
const rel = (p) => relative(root, p) || ".";
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

function readJson(file) {
  const text = readFileSync(file, "utf8").replace(/^\uFEFF/, "");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${rel(file)} is not valid JSON: ${err.message}`);
  }
}

function writeJson(file, value) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Version: one place, the root package.json.
const pkg = readJson(join(root, "package.json"));
const versionMatch = /^(\d+)\.(\d+)\.(\d+)$/.exec(pkg.version ?? "");
if (!versionMatch) {
  console.error(`package.json version "${pkg.version}" must be MAJOR.MINOR.PATCH (task versions are integers).`);
  process.exit(1);
}
const version = pkg.version;
const taskVersion = { Major: Number(versionMatch[1]), Minor: Number(versionMatch[2]), Patch: Number(versionMatch[3]) };

// ---------------------------------------------------------------------------------------------
// task-lib resources. azure-pipelines-task-lib's internal.js used to read lib.json (and
// Strings/resources.resjson/<culture>/) relative to its own __dirname, which after bundling is the
// task folder. Since 4.x/5.x it embeds them as lib-resource.js (`require('./lib-resource')`), which
// esbuild bundles, so nothing needs to sit next to the bundle. Detect which kind we have.
const taskLibDir = dirname(require.resolve("azure-pipelines-task-lib/package.json"));
const taskLibInternal = readFileSync(join(taskLibDir, "internal.js"), "utf8");
const taskLibEmbedsResources =
  /require\(['"]\.\/lib-resource['"]\)/.test(taskLibInternal) && existsSync(join(taskLibDir, "lib-resource.js"));

// tfx's own task.json validation (tfx only warns on failure; we fail the build instead).
let tfxValidateTask = null;
try {
  tfxValidateTask = require("tfx-cli/_build/lib/jsonvalidate.js").validateTask;
} catch {
  warn("tfx-cli jsonvalidate not found: task.json files are checked by this script only");
}

// ---------------------------------------------------------------------------------------------
rmSync(outRoot, { recursive: true, force: true });
mkdirSync(outRoot, { recursive: true });

const tasksDir = join(root, "tasks");
const taskNames = existsSync(tasksDir)
  ? readdirSync(tasksDir)
      .filter((name) => existsSync(join(tasksDir, name, "task.json")))
      .sort()
  : [];
if (taskNames.length === 0) {
  console.error("No tasks/*/task.json found: nothing to build.");
  process.exit(1);
}

const bundles = [];
const defaultIcon = join(root, "images", "task-icon.png");

for (const taskName of taskNames) {
  const srcDir = join(tasksDir, taskName);
  const outDir = join(outRoot, "tasks", taskName);
  mkdirSync(outDir, { recursive: true });
  const taskJson = readJson(join(srcDir, "task.json"));

  if (!/^[A-Za-z0-9-]+$/.test(taskName)) fail(`tasks/${taskName}: folder name must match ^[A-Za-z0-9-]+$`);
  if (taskJson.name !== taskName) {
    warn(`tasks/${taskName}/task.json: name "${taskJson.name}" differs from its folder name`);
  }

  // Collect handler targets.
  const targets = new Map(); // target file name -> [where it is referenced]
  for (const key of EXECUTION_KEYS) {
    const handlers = taskJson[key];
    if (!handlers) continue;
    const names = Object.keys(handlers);
    for (const handler of names) {
      if (DEPRECATED_HANDLERS.includes(handler)) {
        fail(`tasks/${taskName}/task.json: ${key}.${handler} is an end-of-life runner; use ${SUPPORTED_NODE_HANDLERS.join(" and ")}`);
        continue;
      }
      if (!SUPPORTED_NODE_HANDLERS.includes(handler)) {
        fail(`tasks/${taskName}/task.json: ${key}.${handler} is not a handler this build knows how to produce`);
        continue;
      }
      const raw = handlers[handler]?.target;
      if (typeof raw !== "string" || raw.trim() === "") {
        fail(`tasks/${taskName}/task.json: ${key}.${handler}.target is missing`);
        continue;
      }
      const target = raw.replace(/^\$\(\s*currentDirectory\s*\)[\\/]/i, "").replace(/^\.[\\/]/, "");
      if (/[\\/]/.test(target) || extname(target) !== ".js") {
        fail(`tasks/${taskName}/task.json: ${key}.${handler}.target "${raw}" must be a .js file name in the task folder`);
        continue;
      }
      if (!targets.has(target)) targets.set(target, []);
      targets.get(target).push(`${key}.${handler}`);
    }
    for (const wanted of SUPPORTED_NODE_HANDLERS) {
      if (!names.includes(wanted)) warn(`tasks/${taskName}/task.json: ${key} has no ${wanted} handler`);
    }
  }
  if (!taskJson.execution) fail(`tasks/${taskName}/task.json: no "execution" section`);

  // Bundle each target from its .ts entry (and each sibling bundle a target loads: added to `targets` as found).
  const siblings = new Set();
  for (const [target, refs] of targets) {
    const entry = join(srcDir, basename(target, ".js") + ".ts");
    if (!existsSync(entry)) {
      fail(`tasks/${taskName}: ${refs.join(", ")} -> ${target}, but there is no ${rel(entry)} to build it from`);
      continue;
    }
    const outfile = join(outDir, target);
    try {
      const result = await build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        minify: true,
        sourcemap: false,
        legalComments: "none",
        metafile: true,
        plugins: [emptyModulesPlugin, ...(leftOut.has("one-copy") ? [] : [oneCopyPlugin]), siblingBundlesPlugin(srcDir, siblings)],
        // Evaluated before everything else, task-lib included: the exit code of a failure (1 until the
        // task succeeds, core/exit-code.ts), the agent's passwords taken out of the environment
        // before task-lib's start-up could echo them, and task-lib's debug lines kept for runs with
        // system.debug (core/debug-lines.ts). A thin entry and the sibling bundle it loads each
        // carry them; the two copies share what was taken (see core/agent-secrets.ts).
        inject: [join(root, "core", "exit-code.ts"), join(root, "core", "agent-secrets.ts"), join(root, "core", "debug-lines.ts")],
        logLevel: "silent",
        // ESM dependencies compiled to CommonJS: give import.meta.url/dirname/filename real values
        // instead of esbuild's empty `import.meta` object.
        banner: { js: 'var __importMetaUrl=require("node:url").pathToFileURL(__filename).href;' },
        define: {
          // The request pipeline's form-data policy tests `typeof FormData` on every request, and on
          // Node 20 touching that global loads undici (~25-38 ms of a run). No task sends a form, and
          // every use of FormData in the bundled SDKs is behind that `typeof` test.
          ...(leftOut.has("no-undici") ? {} : { FormData: "undefined" }),
          "import.meta.url": "__importMetaUrl",
          "import.meta.dirname": "__dirname",
          "import.meta.filename": "__filename",
        },
      });
      for (const w of result.warnings) {
        const where = w.location ? ` (${w.location.file}:${w.location.line})` : "";
        warn(`${rel(entry)}: esbuild: ${w.text}${where}`);
      }
      // Anything left external that is not a Node built-in would be missing at run time.
      const code = readFileSync(outfile, "utf8");
      const leftovers = new Set();
      for (const output of Object.values(result.metafile.outputs)) {
        for (const imp of output.imports ?? []) {
          if (imp.external && !isBuiltin(imp.path)) leftovers.add(imp.path);
        }
      }
      for (const m of code.matchAll(/\b(?:require|import)\(\s*(["'`])([^"'`]+)\1\s*\)/g)) {
        if (!isBuiltin(m[2])) leftovers.add(m[2]);
      }
      for (const name of leftovers) {
        if (siblings.has(name.replace(/^\.\//, ""))) continue;
        fail(`${rel(outfile)}: still requires "${name}" at run time (not bundled, not a Node built-in)`);
      }
      bundles.push({ file: outfile, size: statSync(outfile).size });
      for (const sibling of siblings) if (!targets.has(sibling)) targets.set(sibling, [`loaded by ${target}`]);
    } catch (err) {
      const messages = err.errors?.length
        ? err.errors.map((e) => `${e.text}${e.location ? ` (${e.location.file}:${e.location.line})` : ""}`)
        : [err.message];
      for (const m of messages) fail(`${rel(entry)}: esbuild: ${m}`);
    }
  }

  // task.json / task.loc.json with the package version.
  const builtTaskJson = { ...taskJson, version: { ...taskVersion } };
  writeJson(join(outDir, "task.json"), builtTaskJson);
  if (existsSync(join(srcDir, "task.loc.json"))) {
    writeJson(join(outDir, "task.loc.json"), { ...readJson(join(srcDir, "task.loc.json")), version: { ...taskVersion } });
  }
  if (existsSync(join(srcDir, "Strings"))) cpSync(join(srcDir, "Strings"), join(outDir, "Strings"), { recursive: true });
  const icon = existsSync(join(srcDir, "icon.png")) ? join(srcDir, "icon.png") : defaultIcon;
  if (existsSync(icon)) cpSync(icon, join(outDir, "icon.png"));
  else warn(`tasks/${taskName}: no icon.png and no ${rel(defaultIcon)}`);

  // task-lib's resources, only for a task-lib that still reads them from disk.
  if (!taskLibEmbedsResources) {
    cpSync(join(taskLibDir, "lib.json"), join(outDir, "lib.json"));
    if (existsSync(join(srcDir, "Strings"))) {
      warn(`tasks/${taskName}: has its own Strings/; task-lib's localized messages were not merged into it`);
    } else if (existsSync(join(taskLibDir, "Strings"))) {
      cpSync(join(taskLibDir, "Strings"), join(outDir, "Strings"), { recursive: true });
    }
  }

  // The same checks tfx makes (name, GUID id, friendlyName <= 40, instanceNameFormat, targets exist).
  if (tfxValidateTask) {
    const issues = tfxValidateTask(join(outDir, "task.json"), builtTaskJson);
    for (const issue of issues.slice(1)) fail(`tfx validation: ${issue}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Extension manifest.
const manifest = readJson(join(root, "vss-extension.json"));
manifest.version = version;
if (process.env.AKS_HARDENING_PUBLISHER) manifest.publisher = process.env.AKS_HARDENING_PUBLISHER;
// The repository (and where to report problems) on the Marketplace page: package.json's, or none.
const links = manifestLinks(readJson(join(root, "package.json")));
delete manifest.repository;
delete manifest.links;
Object.assign(manifest, links);
const TASK_CONTRIBUTION = "ms.vss-distributed-task.task";
const generatedIds = new Set(taskNames);
manifest.contributions = [
  ...(manifest.contributions ?? []).filter((c) => !(c.type === TASK_CONTRIBUTION && generatedIds.has(c.id))),
  ...taskNames.map((name) => ({
    id: name,
    type: TASK_CONTRIBUTION,
    targets: ["ms.vss-distributed-task.tasks"],
    properties: { name: `tasks/${name}` },
  })),
];
const taskPaths = new Set(taskNames.map((name) => `tasks/${name}`));
manifest.files = [...(manifest.files ?? []).filter((f) => !taskPaths.has(f.path)), ...taskNames.map((name) => ({ path: `tasks/${name}` }))];
manifest.content = { ...(manifest.content ?? {}), license: { path: "LICENSE" } };
writeJson(join(outRoot, "vss-extension.json"), manifest);

// The overview stands on its own; with a repository it also says where the samples and the source are.
writeFileSync(join(outRoot, "overview.md"), overviewWithSource(readFileSync(join(root, "overview.md"), "utf8"), links));
cpSync(join(root, "images"), join(outRoot, "images"), { recursive: true });
if (existsSync(join(root, "LICENSE"))) {
  cpSync(join(root, "LICENSE"), join(outRoot, "LICENSE"));
} else {
  // package.json says MIT; ship its text until the repository carries its own LICENSE file.
  writeFileSync(
    join(outRoot, "LICENSE"),
    `MIT License\n\nCopyright (c) ${new Date().getFullYear()} AKS Hardening Tasks contributors\n\n` +
      "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated " +
      'documentation files (the "Software"), to deal in the Software without restriction, including without limitation ' +
      "the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and " +
      "to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\n" +
      "The above copyright notice and this permission notice shall be included in all copies or substantial portions of " +
      "the Software.\n\n" +
      'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO ' +
      "THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE " +
      "AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF " +
      "CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS " +
      "IN THE SOFTWARE.\n",
  );
}

// ---------------------------------------------------------------------------------------------
for (const w of warnings) console.warn(`warning: ${w}`);
console.log(
  `task-lib ${readJson(join(taskLibDir, "package.json")).version}: ` +
    (taskLibEmbedsResources
      ? "loc resources embedded (lib-resource.js, bundled); no lib.json copied"
      : "reads lib.json from disk; copied lib.json and Strings/ beside each bundle"),
);
for (const b of bundles) console.log(`  ${rel(b.file).padEnd(60)} ${kb(b.size).padStart(10)}`);
if (errors.length > 0) {
  for (const e of errors) console.error(`error: ${e}`);
  console.error(`build failed: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(
  `built ${taskNames.length} task(s), ${bundles.length} bundle(s), version ${version}, publisher ${manifest.publisher} -> ${rel(outRoot)}`,
);
