// Preloaded (--require) by the benchmark into every process it times, task and `node -e 0` alike:
// writes the process's CPU time (user + system, in ms, microsecond resolution) to BENCH_CPU_USAGE_FILE
// as it exits. CPU time is what a process costs whatever the machine's load; wall time on a loaded
// machine mostly measures waiting for a core.
"use strict";
const file = process.env.BENCH_CPU_USAGE_FILE;
if (file) {
  process.on("exit", () => {
    const usage = process.cpuUsage();
    require("node:fs").writeFileSync(file, String((usage.user + usage.system) / 1000));
  });
}
