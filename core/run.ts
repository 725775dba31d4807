import * as util from "node:util";
import * as tl from "azure-pipelines-task-lib/task";
import { AzureLogger, setLogLevel } from "@azure/logger";
import { describeFailure } from "./errors";
import { guardAgentOutput } from "./output";
import { routeTaskLibOutput } from "./task-lib";

/**
 * Runs a task's main function: first puts every later line of output through the guard against
 * logging commands (core/output.ts), sends Azure SDK logs to the debug stream when the pipeline
 * runs with `system.debug`, and turns any failure into one actionable line on the task's result.
 *
 * The process's exit code says the result too. task-lib's `setResult` only writes
 * `##vso[task.complete]` and leaves the exit code alone (azure-pipelines-task-lib, node/task.ts),
 * and the agent takes a step whose process exits 0 without a readable `task.complete` as succeeded
 * (azure-pipelines-agent, src/Agent.Worker/StepsRunner.cs), while it fails one whose process exits
 * non-zero (src/Agent.Worker/Handlers/NodeHandler.cs runs it with requireExitCodeZero). The code
 * is 1 from the bundle's first line (core/exit-code.ts) and becomes 0 only here, once the task
 * succeeded: a failure, a crash, or a run that ends with its work still pending (the event loop
 * ran dry) can never show green.
 */
export async function runTask(main: () => Promise<void>): Promise<void> {
  try {
    routeTaskLibOutput(guardAgentOutput());
    if (tl.getVariable("System.Debug")?.toLowerCase() === "true") {
      setLogLevel("info");
      AzureLogger.log = (...args: unknown[]) => tl.debug(util.format(...args));
    }
    await main();
    tl.setResult(tl.TaskResult.Succeeded, "");
    process.exitCode = 0;
  } catch (error) {
    tl.debug(String((error as Error)?.stack ?? error));
    tl.setResult(tl.TaskResult.Failed, describeFailure(error));
    process.exitCode = 1;
  }
}
