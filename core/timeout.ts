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
 */
export function perTryTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: "aksHardeningPerTryTimeout",
    async sendRequest(request, next) {
      if (!(request.timeout > 0)) request.timeout = timeoutMs;
      try {
        return await next(request);
      } catch (error) {
        // The HTTP client aborts a try that runs past request.timeout; an abort the caller asked for stays an abort.
        if ((error as Error | undefined)?.name === "AbortError" && !request.abortSignal?.aborted) {
          throw new RestError(
            `no answer from ${new URL(request.url).host} within ${formatSeconds(request.timeout)} (pipeline variable ${REQUEST_TIMEOUT_VARIABLE})`,
            { code: "ETIMEDOUT" },
          );
        }
        throw error;
      }
    },
  };
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
