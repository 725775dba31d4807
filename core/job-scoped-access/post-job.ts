import * as tl from "azure-pipelines-task-lib/task";
import type { CallerPermissions } from "../permissions";
import { CloseStopped, releaseJobScopedAccess, type JobScopedFirewall } from "./access";
import { currentJob } from "./job";
import { holdLinkName } from "./ledger";
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
  p: { opened: OpenedForJob; title: string; setting: string; permissions: CallerPermissions },
): Promise<void> {
  const result = await releaseJobScopedAccess(firewall, { opened: p.opened, job: currentJob(), permissions: p.permissions });
  publishRelease({ title: p.title, target: firewall.target, setting: p.setting, opened: p.opened, result });
}

/**
 * What becomes of this job's holds when its post-job step could not close, and so who closes the
 * addresses later: released, the next run on the resource; not released, a run on this agent at once
 * and any other only once the job's timeout has passed (until then such a run keeps the address, and
 * puts it back if it is taken off by hand), so closing by hand means deleting the hold too.
 */
export function holdsLeftBehind(p: {
  error: unknown;
  opened: OpenedForJob;
  /** "cluster", "vault". */
  resource: string;
  /** The runs that close addresses left behind, e.g. "run with includeAgentIp on this vault". */
  laterRun: string;
}): string {
  const released = p.error instanceof CloseStopped && p.error.released;
  if (released) return `Its hold (a resource link on the ${p.resource}) is released, so the next ${p.laterRun} closes it`;
  const agent = currentJob().agent;
  const links = p.opened.addresses.map(
    (address) =>
      `az resource link delete --link ${p.opened.resourceId}/providers/Microsoft.Resources/links/${holdLinkName({ agent, address })}`,
  );
  return `Its hold (a resource link on the ${p.resource}) stays, not released: a ${p.laterRun} from this agent closes it at once, one from another agent only once this job's timeout has passed, and until then keeps it open (and puts it back if it is taken off by hand), so when you close it by hand delete the hold too (${links.join("; ")})`;
}
