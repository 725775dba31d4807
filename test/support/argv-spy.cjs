// Preloaded (NODE_OPTIONS=--require) into a process and, through NODE_OPTIONS, into every Node process
// it starts: appends this process's own command line, and every command line it asks child_process to
// start, one JSON array a line, to the file named by ARGV_SPY_LOG. What `ps` would show of each.
"use strict";
const fs = require("node:fs");
const childProcess = require("node:child_process");
const { syncBuiltinESMExports } = require("node:module");

const log = process.env.ARGV_SPY_LOG;
const record = (argv) => fs.appendFileSync(log, `${JSON.stringify(argv.map(String))}\n`);
record([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);

const commandLine = (file, args) => [file, ...(Array.isArray(args) ? args : [])];
for (const name of ["spawn", "spawnSync", "execFile", "execFileSync", "fork"]) {
  const original = childProcess[name];
  childProcess[name] = function (file, args, ...rest) {
    record(commandLine(name === "fork" ? process.execPath : file, name === "fork" ? [file, ...(args ?? [])] : args));
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
syncBuiltinESMExports();
