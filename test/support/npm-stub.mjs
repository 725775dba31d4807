// Stands in for npm (npm_execpath) in test/extension/publish.test.ts: `npm run package` that packages
// nothing, so the test sees what environment the packaging step is given without building the VSIX
// again (the one in dist/ is published).
if (process.argv.slice(2).join(" ") !== "run package") {
  console.error(`npm-stub: unexpected arguments ${process.argv.slice(2).join(" ")}`);
  process.exit(2);
}
