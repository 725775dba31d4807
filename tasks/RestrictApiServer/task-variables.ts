/**
 * The task variables the main step leaves for the post-job step. Kept free of imports: the post-job
 * step's thin entry (post.ts) reads them before anything else loads.
 */

/** The agent /32 this job holds. */
export const AGENT_IP_TASK_VARIABLE = "RestrictApiServer.AgentIpToRemove";
/** Job-scoped IPs earlier jobs left behind. */
export const LEFT_BEHIND_TASK_VARIABLE = "RestrictApiServer.LeftBehindIps";

/**
 * A task variable as the agent hands it to the step's process (`VSTS_TASKVARIABLE_<NAME>`, the name
 * upper-cased with `.` and spaces as `_`), read the way task-lib reads it, before task-lib is loaded
 * (which moves it into its vault).
 */
export function taskVariableFromEnvironment(name: string): string | undefined {
  return process.env[`VSTS_TASKVARIABLE_${name.replace(/[. ]/g, "_").toUpperCase()}`]?.trim() || undefined;
}
