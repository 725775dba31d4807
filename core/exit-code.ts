/**
 * Runs first in every task bundle (scripts/build.mjs injects it, like core/agent-secrets.ts): a
 * failure exits non-zero, whenever it happens. The agent fails a step whose process exits
 * non-zero, but takes one that exits 0 without a readable `task.complete` as succeeded; and
 * task-lib catches every uncaught exception itself (its `uncaughtException` handler writes
 * `task.complete result=Failed` and leaves the process to exit 0), so a failure while the bundle
 * loads (task-lib's own start-up refusing a malformed VSTS_SECRET_VARIABLES, say) would exit 0.
 * The code is 1 from here on; `runTask` (core/run.ts) sets it to 0 once the task succeeded, and
 * a step that ends otherwise on purpose (RestrictApiServer's post.ts with nothing to close) says so.
 * Only the bundles carry it: a script that imports the core is left its own exit code.
 */
process.exitCode = 1;

export {};
