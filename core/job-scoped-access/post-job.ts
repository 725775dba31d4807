import * as tl from "azure-pipelines-task-lib/task";
import { releaseJobScopedAccess, type JobScopedFirewall } from "./access";
import { currentJob } from "./job";
import { publishRelease } from "./report";
import { JOB_SCOPED_ACCESS_TASK_VARIABLE, parseOpened, type OpenedForJob } from "./task-variable";

/** The post-job step of a task that opens job-scoped access: what its main step opened, from the task variable it left. */
export function openedByMainStep(): OpenedForJob | undefined {
  const opened = parseOpened(tl.getTaskVariable(JOB_SCOPED_ACCESS_TASK_VARIABLE));
  if (!opened) console.log("The main step opened no job-scoped access; nothing to close.");
  return opened;
}

/** Lets go of this job's holds, closes what no running job holds any more, and publishes the step's summary. */
export async function closeJobScopedAccess<S>(
  firewall: JobScopedFirewall<S>,
  p: { opened: OpenedForJob; title: string; setting: string },
): Promise<void> {
  const result = await releaseJobScopedAccess(firewall, { opened: p.opened, job: currentJob() });
  publishRelease({ title: p.title, target: firewall.target, setting: p.setting, opened: p.opened, result });
}
