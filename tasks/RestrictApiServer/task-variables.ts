/**
 * The task variable the main step leaves for the post-job step: the agent /32 to remove after the
 * job. Kept free of imports: the post-job step's thin entry (post.ts) reads it before anything else loads.
 */
export const AGENT_IP_TASK_VARIABLE = "RestrictApiServer.AgentIpToRemove";

/**
 * A task variable as the agent hands it to the step's process (`VSTS_TASKVARIABLE_<NAME>`, the name
 * upper-cased with `.` and spaces as `_`), read the way task-lib reads it, before task-lib is loaded
 * (which moves it into its vault).
 */
export function taskVariableFromEnvironment(name: string): string | undefined {
  return process.env[`VSTS_TASKVARIABLE_${name.replace(/[. ]/g, "_").toUpperCase()}`]?.trim() || undefined;
}
