import { afterEach, describe, it } from "mocha";
import assert from "node:assert/strict";
import { pipelineOptions } from "../../core/azure";
import { InputError } from "../../core/errors";
import { backoffMs, checkRetryDelayVariable, firstPauseMs, formatDuration, RETRY_DELAY_VARIABLE } from "../../core/wait-budget";

describe("test/unit/wait-budget", () => {
  /** Where task-lib reads the pipeline variable AksHardening.RetryDelaySeconds from, as the agent sets it. */
  const ENV = "AKSHARDENING_RETRYDELAYSECONDS";
  afterEach(() => delete process.env[ENV]);

  it("without AksHardening.RetryDelaySeconds every wait keeps its own pace: the SDK's back-off from 0.8 s, a doubling back-off from its first pause up to its cap", () => {
    assert.equal(pipelineOptions("https://management.azure.com", 100_000).retryOptions?.retryDelayInMs, 800);
    assert.equal(firstPauseMs(2000), 2000);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, 5000, 60_000)),
      [5000, 10_000, 20_000, 40_000, 60_000, 60_000],
    );
  });

  it("AksHardening.RetryDelaySeconds sets the first pause of every wait; later pauses grow from it as before", () => {
    process.env[ENV] = "0.25";
    assert.equal(pipelineOptions("https://management.azure.com", 100_000).retryOptions?.retryDelayInMs, 250);
    assert.equal(firstPauseMs(2000), 250);
    assert.deepEqual(
      [0, 1, 2, 3].map((attempt) => backoffMs(attempt, 1000, 1500)),
      [250, 500, 1000, 1500],
    );
  });

  for (const bad of ["0", "-1", "soon"]) {
    it(`AksHardening.RetryDelaySeconds '${bad}' is refused naming the variable`, () => {
      process.env[ENV] = bad;
      assert.throws(
        () => checkRetryDelayVariable(),
        (error: unknown) => error instanceof InputError && error.message.startsWith(RETRY_DELAY_VARIABLE),
      );
    });
  }

  it("durations in log lines: milliseconds below a second, then seconds, then minutes", () => {
    assert.deepEqual([10, 999.6, 1000, 1500, 119_000, 600_000].map(formatDuration), ["10 ms", "1 s", "1 s", "2 s", "119 s", "10 min"]);
  });
});
