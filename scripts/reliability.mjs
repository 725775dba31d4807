// `npm run test:reliability`: runs the reliability matrices with mocha (the spec reporter on the
// console), writes the table to docs/reliability.md and prints it. Exits as the tests did.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";

const files = [
  "test/reliability/fault-matrix.test.ts",
  "test/reliability/bad-inputs.test.ts",
  "test/reliability/concurrency.test.ts",
  "test/unit/no-data-lost.property.test.ts",
  "test/tasks/hostile-data.test.ts",
  "test/tasks/debug-secrets.test.ts",
];
mkdirSync("docs", { recursive: true });
const started = Date.now();
const result = spawnSync(
  process.execPath,
  [
    "node_modules/mocha/bin/mocha.js",
    "--reporter",
    "./scripts/reliability-reporter.mjs",
    "--reporter-option",
    "output=docs/reliability.md",
    ...files,
  ],
  { stdio: "inherit", env: { ...process.env, RELIABILITY_SLICE: "0" } },
);
console.log(`\n${readFileSync("docs/reliability.md", "utf8")}`);
console.log(`Reliability suite: ${((Date.now() - started) / 1000).toFixed(0)} s. Table written to docs/reliability.md.`);
process.exit(result.status ?? 1);
