import { RestError, type PipelinePolicy } from "@azure/core-rest-pipeline";

/** The pipeline variable that tunes how long one try of a request may take. */
export const REQUEST_TIMEOUT_VARIABLE = "AksHardening.RequestTimeoutSeconds";
/** As long as the .NET Azure SDK waits for one try (its NetworkTimeout); ARM answers in seconds. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 100;

/**
 * core-rest-pipeline sends requests without any timeout: a server or proxy that accepts a request and
 * never answers would hang the task until the job's own timeout (60 minutes by default). Each try gets
 * a deadline instead, and a try that misses it fails as ETIMEDOUT, which the retry policy retries like a
 * dropped connection. Placed per retry, so every try has the whole deadline.
 *
 * The deadline is this policy's own timer, cleared when the try ends however it ends, rather than the
 * request's `timeout`: the HTTP client of the Node 20 releases (@typespec/ts-http-runtime 0.3.6) leaves
 * its timeout timer running when a try fails, which kept the process alive for the whole timeout after
 * a dropped connection.
 */
export function perTryTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: "aksHardeningPerTryTimeout",
    async sendRequest(request, next) {
      const { abortSignal, timeout } = request;
      const ms = timeout > 0 ? timeout : timeoutMs;
      // One signal for the try: aborted at the deadline, or when the caller aborts.
      const tryAbort = new AbortController();
      const onCallerAbort = () => tryAbort.abort();
      if (abortSignal?.aborted) tryAbort.abort();
      else abortSignal?.addEventListener("abort", onCallerAbort);
      const timer = setTimeout(() => tryAbort.abort(), ms);
      request.timeout = 0;
      request.abortSignal = tryAbort.signal;
      try {
        return await next(request);
      } catch (error) {
        // An abort the caller asked for stays an abort.
        if (tryAbort.signal.aborted && !abortSignal?.aborted) {
          throw new RestError(
            `no answer from ${new URL(request.url).host} within ${formatSeconds(ms)} (pipeline variable ${REQUEST_TIMEOUT_VARIABLE})`,
            { code: "ETIMEDOUT" },
          );
        }
        throw error;
      } finally {
        clearTimeout(timer);
        abortSignal?.removeEventListener("abort", onCallerAbort);
        request.timeout = timeout;
        request.abortSignal = abortSignal;
      }
    },
  };
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
