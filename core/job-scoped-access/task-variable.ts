/**
 * What a main step leaves its post-job step: the job it opened access for and the addresses. Set
 * before the first write, so a job cancelled mid-write still closes what it may have opened. A task
 * variable is pipeline state, never Azure: no one who can write to the resource can forge it, and
 * it is what proves to the post-job step which holds are this job's own.
 *
 * Kept free of imports: a task's thin post-job entry (post.ts) reads it before anything else loads.
 */

export const JOB_SCOPED_ACCESS_TASK_VARIABLE = "AksHardening.JobScopedAccess";

export interface OpenedForJob {
  /** The job's 8 hex digits (core/job-scoped-access/job.ts). */
  job: string;
  /** `a.b.c.d/32` each. */
  addresses: string[];
  /** The resource whose firewall was opened. */
  resourceId: string;
}

export function formatOpened(opened: OpenedForJob): string {
  return `${opened.job} ${opened.addresses.join(",")} ${opened.resourceId}`;
}

const ADDRESS = "\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\/32";
const OPENED = new RegExp(`^([0-9a-f]{8}) ((?:${ADDRESS},)*${ADDRESS}) (/subscriptions/[^\\s]+)$`);

/** The value the main step set, or undefined when it set none (or something this version never writes). */
export function parseOpened(text: string | undefined): OpenedForJob | undefined {
  const match = OPENED.exec((text ?? "").trim());
  return match ? { job: match[1]!, addresses: match[2]!.split(","), resourceId: match[3]! } : undefined;
}

/**
 * A task variable as the agent hands it to the step's process (`VSTS_TASKVARIABLE_<NAME>`, the name
 * upper-cased with `.` and spaces as `_`), read the way task-lib reads it, before task-lib is loaded
 * (which moves it into its vault).
 */
export function taskVariableFromEnvironment(name: string): string | undefined {
  return process.env[`VSTS_TASKVARIABLE_${name.replace(/[. ]/g, "_").toUpperCase()}`]?.trim() || undefined;
}
