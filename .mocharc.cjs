// mocha for every test: TypeScript through tsx (as everywhere else in the repo). No test depends on
// the clock, so the timeout is only a backstop against a hang, never part of a test's outcome.
module.exports = {
  "node-option": ["import=tsx"],
  extension: ["ts"],
  timeout: 300_000,
  reporter: "./scripts/test-reporter.mjs",
};
