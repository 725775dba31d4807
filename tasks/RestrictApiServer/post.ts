import { JOB_SCOPED_ACCESS_TASK_VARIABLE, taskVariableFromEnvironment } from "../../core/job-scoped-access/task-variable";

// Post-job step, thin on purpose. It runs after every job that uses the task, and on most of them
// the main step opened no job-scoped access. That is decided here from the task variable alone,
// before the step's bundle (task-lib, MSAL, the ARM SDK: post-job.js) is loaded and evaluated.
// Whenever it is set, post-job.js does the whole step, reading the variable again.
if (taskVariableFromEnvironment(JOB_SCOPED_ACCESS_TASK_VARIABLE)) {
  // A sibling bundle loaded at run time (see scripts/build.mjs, "sibling bundles").
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("./post-job.js");
} else {
  console.log("The main step opened no job-scoped access; nothing to close.");
  console.log("##vso[task.complete result=Succeeded;]");
  process.exitCode = 0;
}
