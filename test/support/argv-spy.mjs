// Preloaded (NODE_OPTIONS=--import) into a process and, through NODE_OPTIONS, into every Node process
// it starts: appends this process's own command line, and every command line it asks child_process to
// start, one JSON array a line, to the file named by ARGV_SPY_LOG — what `ps` would show of each.
import { appendFileSync } from "node:fs";
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";

const record = (argv) => appendFileSync(process.env.ARGV_SPY_LOG, `${JSON.stringify(argv.map(String))}\n`);
record([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);

for (const name of ["spawn", "spawnSync", "execFile", "execFileSync", "fork"]) {
  const original = childProcess[name];
  childProcess[name] = function (file, args, ...rest) {
    const list = Array.isArray(args) ? args : [];
    record(name === "fork" ? [process.execPath, file, ...list] : [file, ...list]);
    return original.call(this, file, args, ...rest);
  };
}
for (const name of ["exec", "execSync"]) {
  const original = childProcess[name];
  childProcess[name] = function (command, ...rest) {
    record(["/bin/sh", "-c", String(command)]);
    return original.call(this, command, ...rest);
  };
}
// ES modules that imported these functions by name see the wrapped ones too.
syncBuiltinESMExports();
