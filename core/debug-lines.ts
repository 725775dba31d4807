/**
 * Runs before anything else in every task bundle (scripts/build.mjs injects it, like
 * core/exit-code.ts and core/agent-secrets.ts), before azure-pipelines-task-lib loads: task-lib
 * writes its own `##vso[task.debug]` lines from the moment it loads, about fifty a run (each
 * variable and input it reads, the vault it fills, each output it sets), whether or not the
 * pipeline runs with `system.debug`. The agent shows them only with `system.debug`
 * (azure-pipelines-agent, src/Agent.Worker/ExecutionContext.cs: `WriteDebug =
 * Variables.System_Debug ?? false`, and `Debug()` writes only `if (context.WriteDebug)`), so on an
 * agent nothing changes when they are left out; run by hand (`npm run local-azure`), a task's output
 * is then what the agent would show. The agent hands `system.debug` to the step as `SYSTEM_DEBUG`,
 * where task-lib reads it too.
 *
 * It must not import task-lib (importing it would load it first).
 */

const FILTERED = Symbol.for("aks-hardening-tasks.debug-lines");
const DEBUG_LINE = /^##vso\[task\.debug\][^\n]*\n?/gm;

const stdout = process.stdout as NodeJS.WriteStream & { [FILTERED]?: true };
if ((process.env["SYSTEM_DEBUG"] ?? "").trim().toLowerCase() !== "true" && !stdout[FILTERED]) {
  stdout[FILTERED] = true;
  const write = stdout.write.bind(stdout) as (...args: unknown[]) => boolean;
  stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== "string" || !chunk.includes("##vso[task.debug]")) return write(chunk, ...rest);
    const kept = chunk.replace(DEBUG_LINE, "");
    if (kept) return write(kept, ...rest);
    const done = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof stdout.write;
}

export {};
