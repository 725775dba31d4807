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
 */
export async function runTask(main: () => Promise<void>): Promise<void> {
  routeTaskLibOutput(guardAgentOutput());
  if (tl.getVariable("System.Debug")?.toLowerCase() === "true") {
    setLogLevel("info");
    AzureLogger.log = (...args: unknown[]) => tl.debug(util.format(...args));
  }
  try {
    await main();
    tl.setResult(tl.TaskResult.Succeeded, "");
  } catch (error) {
    tl.debug(String((error as Error)?.stack ?? error));
    tl.setResult(tl.TaskResult.Failed, describeFailure(error));
  }
}
