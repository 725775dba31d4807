import { createHash, randomBytes } from "node:crypto";
import * as os from "node:os";
import * as tl from "azure-pipelines-task-lib/task";

/** This job, as its holds record it. */
export interface JobRef {
  /** 8 hex digits naming the agent that runs the job. */
  agent: string;
  /** 8 hex digits naming the job. */
  job: string;
  now: Date;
  /** When this job has ended at the latest: now + its timeout. */
  until: Date;
}

/** Azure Pipelines' default job timeout, when the agent does not say (minutes). */
const DEFAULT_JOB_TIMEOUT_MINUTES = 60;
/** A job with no timeout (0) holds its address this long at most before a later run may close it. */
const UNLIMITED_JOB_HOLD_MINUTES = 7 * 24 * 60;
/** After the timeout the agent still gives a cancelled job time to finish and runs post-job steps. */
const CANCEL_GRACE_MINUTES = 5;

/**
 * The job that is running. The agent is a hash of the organisation and the agent's ID and name
 * (`System.CollectionId`, `Agent.Id`, `Agent.Name`): an agent runs one job at a time, so a hold by
 * this agent for another job belongs to a job that is over. The job is a hash of `System.JobId`
 * (unique per job and attempt); a step that runs outside a pipeline gets one of its own. The hold
 * ends with the job's timeout (`System.JobTimeout`, minutes), the longest the job can need the address.
 */
export function currentJob(now = new Date()): JobRef {
  const collection = tl.getVariable("System.CollectionId") ?? "";
  const agent = hash([collection, tl.getVariable("Agent.Id") ?? "", tl.getVariable("Agent.Name") ?? os.hostname()]);
  const jobId = tl.getVariable("System.JobId");
  const job = jobId ? hash([collection, jobId]) : randomBytes(4).toString("hex");
  const timeout = Number(tl.getVariable("System.JobTimeout") ?? DEFAULT_JOB_TIMEOUT_MINUTES);
  const minutes =
    !Number.isFinite(timeout) || timeout < 0 ? DEFAULT_JOB_TIMEOUT_MINUTES : timeout === 0 ? UNLIMITED_JOB_HOLD_MINUTES : timeout;
  return { agent, job, now, until: new Date(now.getTime() + (minutes + CANCEL_GRACE_MINUTES) * 60_000) };
}

function hash(parts: string[]): string {
  return createHash("sha256").update(parts.join("|")).digest("hex").slice(0, 8);
}
