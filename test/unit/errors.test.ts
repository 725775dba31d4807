import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import { azureErrorDetails, describeFailure, InputError, listProblems, OperationEndedError } from "../../core/errors";

describe("test/unit/errors", () => {
  function credentialError(name: string, message: string, statusCode?: number): Error {
    return Object.assign(new Error(message), { name, ...(statusCode ? { statusCode } : {}) });
  }

  it("a long-running operation that ended Failed or Canceled: no HTTP status, what ended, and what to do next", () => {
    const action = { action: "create the private endpoint (/x/pe-kv)" };
    assert.equal(
      describeFailure(new OperationEndedError("Failed", "InternalServerError", "An error occurred."), action),
      "Azure could not complete the operation to create the private endpoint (/x/pe-kv): InternalServerError: An error occurred. Check the resource's activity log, fix the cause and re-run the task (it keeps what was done).",
    );
    assert.equal(
      describeFailure(new OperationEndedError("Canceled", "OperationCanceled", "The operation was canceled."), action),
      "Azure canceled the operation to create the private endpoint (/x/pe-kv) before it finished; re-run the task to complete it (it keeps what was done).",
    );
  });

  it("Entra unavailable: the sign-in failed, it is on Azure's side, re-run; one line without MSAL's trailer", () => {
    const line = describeFailure(
      credentialError(
        "AuthenticationRequiredError",
        "temporarily_unavailable: Error(s): 90033 - Timestamp: Not Available - Description: AADSTS90033: A transient error has occurred. Please try again. - Correlation ID: Not Available - Trace ID: Not Available",
      ),
    );
    assert.equal(
      line,
      "Could not sign in with the service connection: Microsoft Entra ID did not issue a token (AADSTS90033: A transient error has occurred. Please try again.) This is usually temporary on Azure's side: re-run the job; if it persists, check the connection's cloud (its authority URL) and the agent's network and proxy.",
    );
  });

  it("the Azure DevOps OIDC endpoint failing: names the OIDC token, its status and Azure DevOps' message, and what to check", () => {
    const line = describeFailure(
      credentialError(
        "AuthenticationError",
        'AzurePipelinesCredential: Authentication Failed. oidcToken field not detected in the response. Status code: 500\nMore details:\nResponse from service = {"status":500,"bodyAsText":"{\\"message\\":\\"VS402847: The OIDC token could not be issued.\\"}","headers":{}}. See the troubleshooting guide',
        500,
      ),
    );
    assert.equal(
      line,
      "Could not sign in with the service connection: Azure DevOps did not issue the job's OIDC token for workload identity federation (HTTP 500: VS402847: The OIDC token could not be issued.). Check that this pipeline is authorized to use the service connection and that the job's access token (System.AccessToken) is available to tasks; if Azure DevOps reports an incident, re-run later.",
    );
  });

  it("a federated credential Entra does not match points at the federated credential", () => {
    const line = describeFailure(
      credentialError(
        "AuthenticationRequiredError",
        "invalid_client: Error(s): 700211 - Timestamp: 2026-01-01 - Description: AADSTS700211: No matching federated identity record found for presented assertion issuer 'https://vstoken.dev.azure.com/x'.\nTrace ID: 1",
      ),
    );
    assert.match(
      line,
      /^Could not sign in with the service connection: AADSTS700211: No matching federated identity record .*'\. Check the federated credential \(issuer, subject, audience\)/,
    );
  });

  it("a wrong client secret still says to check the connection's credentials", () => {
    const line = describeFailure(
      credentialError(
        "AuthenticationError",
        "invalid_client: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.",
      ),
    );
    assert.match(
      line,
      /^Could not sign in with the service connection: AADSTS7000215: Invalid client secret provided\..* Check the service connection's credentials, tenant and cloud/,
    );
  });

  it("a request that timed out on every try says Azure did not answer and names the pipeline variable", () => {
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

  it("a pasted huge value is shown by its start and length, so the error stays one readable line", () => {
    const error = new InputError("authorizedIpRanges", `'${"9".repeat(100_000)}' is not an IPv4 address or CIDR.`);
    assert.equal(error.message, `authorizedIpRanges: '${"9".repeat(60)}…' (100000 characters) is not an IPv4 address or CIDR.`);
    assert.equal(new InputError("x", "'short' stays as typed.").message, "x: 'short' stays as typed.");
  });

  it("many problems: the first five are listed and the rest counted", () => {
    assert.equal(listProblems(["a.", "b.", "c."]), "a. b. c.");
    assert.equal(listProblems(["1.", "2.", "3.", "4.", "5.", "6.", "7."]), "1. 2. 3. 4. 5. … and 2 more.");
  });

  it("AKS's 409 EtagMismatch without ARM's error envelope is read for its code and message", () => {
    const body = JSON.stringify({
      code: "EtagMismatch",
      details: [{ code: "Unspecified", message: "rpc error: code = FailedPrecondition desc = Etag mismatched" }],
      message:
        "Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation.",
    });
    const error = new RestError("Conflict", {
      statusCode: 409,
      response: { status: 409, bodyAsText: body, headers: createHttpHeaders(), request: createPipelineRequest({ url: "https://x" }) },
    });
    assert.deepEqual(azureErrorDetails(error), {
      status: 409,
      code: "EtagMismatch",
      message:
        "Operation is not allowed: Another operation (Updating) is in progress, please wait for it to finish before starting a new operation.",
    });
  });
});
