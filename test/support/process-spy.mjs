// Preloaded (NODE_OPTIONS=--import) into a process and, through NODE_OPTIONS, into every Node process
// it starts: appends this process's own command line and environment, and the command line and
// environment of every process it asks child_process to start, one JSON object `{ argv, env }` a
// line, to the file named by PROCESS_SPY_LOG — what `ps` and /proc/<pid>/environ would show of each.
import { appendFileSync } from "node:fs";
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";

const record = (argv, env) =>
  appendFileSync(process.env.PROCESS_SPY_LOG, `${JSON.stringify({ argv: argv.map(String), env: { ...env } })}\n`);
record([process.execPath, ...process.execArgv, ...process.argv.slice(1)], process.env);

/** The environment child_process hands the child: the options' `env`, else this process's. */
const envOf = (options) => (options && typeof options === "object" && options.env) || process.env;

for (const name of ["spawn", "spawnSync", "execFile", "execFileSync", "fork"]) {
  const original = childProcess[name];
  childProcess[name] = function (file, args, ...rest) {
    const list = Array.isArray(args) ? args : [];
    const options = Array.isArray(args) ? rest[0] : args;
    record(name === "fork" ? [process.execPath, file, ...list] : [file, ...list], envOf(options));
    return original.call(this, file, args, ...rest);
  };
}
for (const name of ["exec", "execSync"]) {
  const original = childProcess[name];
  childProcess[name] = function (command, ...rest) {
    record(["/bin/sh", "-c", String(command)], envOf(rest[0]));
    return original.call(this, command, ...rest);
  };
}
// ES modules that imported these functions by name see the wrapped ones too.
syncBuiltinESMExports();
