import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createDefaultHttpClient, createPipelineFromOptions, createPipelineRequest, isRestError } from "@azure/core-rest-pipeline";
import { perTryTimeoutPolicy } from "../../core/timeout";

describe("test/unit/timeout", () => {
  let server: Server;
  let url: string;
  let requests = 0;
  /** How many of the next requests get no answer (the connection stays open, silent). */
  let silent = 0;
  /** Runs when a request arrives. */
  let onRequest: (() => void) | undefined;

  before(async () => {
    server = createServer((req, res) => {
      requests++;
      onRequest?.();
      if (silent > 0) {
        silent--;
        return;
      }
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  function send(timeoutMs: number, maxRetries: number, abortSignal?: AbortSignal) {
    const pipeline = createPipelineFromOptions({ retryOptions: { maxRetries, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
    pipeline.addPolicy(perTryTimeoutPolicy(timeoutMs), { afterPhase: "Retry" });
    return pipeline.sendRequest(
      createDefaultHttpClient(),
      createPipelineRequest({ url, allowInsecureConnection: true, ...(abortSignal ? { abortSignal } : {}) }),
    );
  }

  it("a try that gets no answer in time is abandoned and retried", async () => {
    requests = 0;
    silent = 1;
    // The answered retry must come within the deadline too: 1 s is far more than a loopback answer takes, even under load.
    const response = await send(1000, 3);
    assert.equal(response.status, 200);
    assert.equal(requests, 2);
  });

  it("when every try times out, the error is ETIMEDOUT naming the host and the pipeline variable", async () => {
    requests = 0;
    silent = 3;
    const error: unknown = await send(100, 2).catch((e: unknown) => e);
    assert.ok(isRestError(error));
    assert.equal(error.code, "ETIMEDOUT");
    assert.match(
      error.message,
      /^no answer from 127\.0\.0\.1:\d+ within 0\.1 s \(pipeline variable AksHardening\.RequestTimeoutSeconds\)$/,
    );
    assert.equal(requests, 3, "one try and two retries");
    silent = 0;
  });

  it("an abort the caller asked for stays an abort, not a timeout", async () => {
    silent = 1;
    const controller = new AbortController();
    onRequest = () => controller.abort();
    const error: unknown = await send(5000, 3, controller.signal).catch((e: unknown) => e);
    assert.equal((error as Error).name, "AbortError");
    onRequest = undefined;
    silent = 0;
  });
});
