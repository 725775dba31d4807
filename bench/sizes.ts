/** VSIX and per-task bundle sizes, from dist/ and build/extension/ as `npm run package` left them. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { REPO } from "./measure";

export interface Sizes {
  vsix: { name: string; bytes: number };
  bundles: { file: string; bytes: number; gzip: number }[];
  unbundled: { task: string; ownBytes: number; nodeModulesFiles: number; nodeModulesBytes: number }[];
}

/** The files a script has loaded by the time it exits (CommonJS require.cache), read in a child process. */
function loadedModules(script: string): string[] {
  const probe = `const M=require("node:module");const seen=new Set();const o=M.prototype.require;M.prototype.require=function(id){const r=o.apply(this,arguments);for(const k of Object.keys(require.cache))seen.add(k);return r};process.on("exit",()=>{for(const k of Object.keys(require.cache))seen.add(k);require("node:fs").writeFileSync(process.env.BENCH_LOADED,JSON.stringify([...seen]))});`;
  const out = path.join(REPO, ".tmp", `loaded-${path.basename(path.dirname(script))}.json`);
  spawnSync(process.execPath, ["-e", `${probe}require(${JSON.stringify(script)})`], {
    env: { PATH: process.env.PATH, BENCH_LOADED: out },
    encoding: "utf8",
    timeout: 60_000,
  });
  return fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as string[]) : [];
}

export function sizes(extensionRoot: string, unbundledRoot: string, tasks: readonly string[]): Sizes {
  const dist = path.join(REPO, "dist");
  const vsixName = fs.readdirSync(dist).find((n) => n.endsWith(".vsix"));
  if (!vsixName) throw new Error("no .vsix in dist/: run `npm run package` first");
  const bundles = [];
  for (const task of fs.readdirSync(path.join(extensionRoot, "tasks")).sort()) {
    for (const file of fs.readdirSync(path.join(extensionRoot, "tasks", task)).filter((f) => f.endsWith(".js"))) {
      const full = path.join(extensionRoot, "tasks", task, file);
      const content = fs.readFileSync(full);
      bundles.push({ file: `${task}/${file}`, bytes: content.length, gzip: gzipSync(content).length });
    }
  }
  const unbundled = tasks.map((task) => {
    const script = path.join(unbundledRoot, task, "index.js");
    const files = loadedModules(script).filter((f) => f.includes(`${path.sep}node_modules${path.sep}`));
    return {
      task,
      ownBytes: fs.statSync(script).size,
      nodeModulesFiles: files.length,
      nodeModulesBytes: files.reduce((sum, f) => sum + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0),
    };
  });
  return { vsix: { name: vsixName, bytes: fs.statSync(path.join(dist, vsixName)).size }, bundles, unbundled };
}
