import { test } from "node:test";
import assert from "node:assert/strict";
import { RestError } from "@azure/core-rest-pipeline";
import { describeFailure } from "../../core/errors";

test("a request that timed out on every try says Azure did not answer and names the pipeline variable", () => {
  const line = describeFailure(
    new RestError("no answer from management.azure.com within 100 s (pipeline variable AksHardening.RequestTimeoutSeconds)", {
      code: "ETIMEDOUT",
    }),
    { action: "read managed cluster 'aks' in resource group 'rg'" },
  );
  assert.equal(
    line,
    "Could not read managed cluster 'aks' in resource group 'rg': Azure did not answer in time, also when tried again (no answer from management.azure.com within 100 s (pipeline variable AksHardening.RequestTimeoutSeconds)). Check the agent's network and proxy; if Azure is only slow, raise the pipeline variable AksHardening.RequestTimeoutSeconds.",
  );
});
