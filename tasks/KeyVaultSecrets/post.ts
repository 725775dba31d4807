import { JOB_SCOPED_ACCESS_TASK_VARIABLE, taskVariableFromEnvironment } from "../../core/job-scoped-access/task-variable";

// Post-job step, thin on purpose: most jobs that use the task open no job-scoped access, and that is
// decided here from the task variable alone, before the step's bundle (post-job.js) is loaded.
if (taskVariableFromEnvironment(JOB_SCOPED_ACCESS_TASK_VARIABLE)) {
  // A sibling bundle loaded at run time (see scripts/build.mjs, "sibling bundles").
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("./post-job.js");
} else {
  console.log("The main step opened no job-scoped access; nothing to close.");
  console.log("##vso[task.complete result=Succeeded;]");
}
