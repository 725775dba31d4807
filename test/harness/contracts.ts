import * as path from "node:path";
import { LiveValidator, parseValidationRequest, type LiveValidationIssue, type LiveValidationResult } from "oav";
import { USER_AGENT } from "../../core/user-agent";
import { API_SERVER_HOST } from "../../local-azure/api-server";
import type { RecordedExchange } from "../../local-azure/index";
import { PATH_DIFFERENCES, PAYLOAD_DIFFERENCES, type KnownDifference, type PayloadDifference } from "../contracts/known-differences";

/** The transcribed REST spec contracts (test/contracts/README.md says what they hold and how to add one). */
export const CONTRACTS_DIR = path.resolve(__dirname, "../contracts");

/**
 * Requests the tasks send through their Azure clients that no REST spec describes. Everything else
 * the tasks' clients send must match an operation.
 */
const OUTSIDE_THE_SPECS: { why: string; holds: (exchange: RecordedExchange) => boolean }[] = [
  // agentIpServiceUrl (default https://api.ipify.org): a third-party echo service, not Azure. Known
  // by the local Azure route that answered it.
  { why: "the agent-IP echo service (agentIpServiceUrl) is not an Azure API", holds: (exchange) => exchange.route === "/ip" },
  // A cluster's API server (its `fqdn`, under azmk8s.io) serves the Kubernetes API, not an Azure
  // REST API. Known by host, as the local Azure itself tells API-server requests apart (its routes
  // and its TLS server-name check match API_SERVER_HOST), whatever the path.
  { why: "a cluster's Kubernetes API server is not an Azure REST API", holds: (exchange) => API_SERVER_HOST.test(exchange.host) },
];

export interface CheckedExchange {
  exchange: RecordedExchange;
  /** `METHOD /path?api-version=…` with ids as sent. */
  label: string;
  operationId?: string;
  apiVersion?: string;
}

export interface ContractFinding {
  label: string;
  operationId: string;
  side: "request" | "response" | "match";
  status?: number;
  code: string;
  /** JSON pointer into the payload (`/properties/...`), or `/path/<name>` / `/header/<name>` for parameters. */
  where: string;
  message: string;
}

export interface TrafficCheck {
  /** Exchanges checked against a contract (the tasks' Azure requests). */
  checked: CheckedExchange[];
  /** Off spec and not a known difference: each one fails the test. */
  findings: ContractFinding[];
  /** Off spec the way real Azure is, each with the known difference that covers it. */
  tolerated: { finding: ContractFinding; difference: KnownDifference }[];
}

let validator: Promise<LiveValidator> | undefined;

/** One validator per process over every contract file (loading them takes a few hundred milliseconds). */
export function contractValidator(): Promise<LiveValidator> {
  validator ??= (async () => {
    const live = new LiveValidator(
      {
        directory: CONTRACTS_DIR,
        swaggerPathsPattern: ["**/*.json"],
        // oav's default list skips folders such as keyvault/data-plane; here every contract counts.
        excludedSwaggerPathsPattern: [],
        git: { shouldClone: false },
        isPathCaseSensitive: false,
        loadValidatorInBackground: false,
        loadValidatorInInitialize: true,
      },
      () => undefined,
    );
    await live.initialize();
    return live;
  })();
  return validator;
}

/** Whether no REST spec describes this request's API (OUTSIDE_THE_SPECS), so it is not checked. */
export function outsideTheSpecs(exchange: RecordedExchange): boolean {
  return OUTSIDE_THE_SPECS.some((outside) => outside.holds(exchange));
}

/** Whether the tasks' Azure clients sent this request (their user agent starts with the tasks' prefix). */
export function sentByTheTasks(exchange: RecordedExchange): boolean {
  return (exchange.request.headers["user-agent"] ?? "").startsWith(USER_AGENT);
}

/**
 * Checks every request the tasks' Azure clients sent, and the answer it got, against the contracts:
 * the request must match an operation of the api-version it names, and both sides must hold to that
 * operation's schema. Findings that a known difference covers are set apart.
 */
export async function checkTraffic(exchanges: readonly RecordedExchange[]): Promise<TrafficCheck> {
  const live = await contractValidator();
  const result: TrafficCheck = { checked: [], findings: [], tolerated: [] };
  for (const exchange of exchanges) {
    if (!sentByTheTasks(exchange) || outsideTheSpecs(exchange)) continue;
    const sent = new URL(exchange.url);
    const label = `${exchange.method} ${sent.pathname}${sent.searchParams.has("api-version") ? `?api-version=${sent.searchParams.get("api-version")}` : ""}`;
    const checked: CheckedExchange = { exchange, label };
    result.checked.push(checked);
    const pathDifference = PATH_DIFFERENCES.find((d) => d.sent.test(sent.pathname));
    const url = new URL(exchange.url);
    if (pathDifference) url.pathname = sent.pathname.replace(pathDifference.sent, pathDifference.specPath);
    const liveRequest = {
      url: url.toString(),
      method: exchange.method,
      headers: exchange.request.headers,
      ...(exchange.request.body === undefined ? {} : { body: parsed(exchange.request.body) }),
    };
    const { request, info } = await matchAndValidateRequest(live, liveRequest);
    const operationId = info.operationId;
    if (request.runtimeException) {
      result.findings.push({
        label,
        operationId,
        side: "match",
        code: request.runtimeException.code,
        where: "",
        message: request.runtimeException.message,
      });
      continue;
    }
    if (pathDifference) {
      if (pathDifference.operationId !== operationId) {
        result.findings.push({
          label,
          operationId,
          side: "match",
          code: "PATH_DIFFERENCE_MISMATCH",
          where: "",
          message: `expected ${pathDifference.operationId}`,
        });
        continue;
      }
      result.tolerated.push({
        finding: { label, operationId, side: "match", code: "PATH_AS_SENT", where: sent.pathname, message: "" },
        difference: pathDifference,
      });
    }
    checked.operationId = operationId;
    checked.apiVersion = info.apiVersion;
    const add = (side: "request" | "response", issues: readonly LiveValidationIssue[]) => {
      for (const issue of issues) {
        const finding: ContractFinding = {
          label,
          operationId,
          side,
          code: issue.code,
          where: issue.pathsInPayload[0] ?? "",
          message: issue.message,
          ...(side === "response" && exchange.response ? { status: exchange.response.status } : {}),
        };
        const difference = PAYLOAD_DIFFERENCES.find((d) => covers(d, finding));
        if (difference) result.tolerated.push({ finding, difference });
        else result.findings.push(finding);
      }
    };
    add("request", request.errors);
    // A connection reset or a request the client gave up on has no answer to check.
    if (exchange.response) {
      const response = await live.validateLiveResponse(
        {
          statusCode: String(exchange.response.status),
          headers: exchange.response.headers,
          ...(exchange.response.body === undefined ? {} : { body: parsed(exchange.response.body) }),
        },
        liveRequest,
        {},
        info,
      );
      if (response.runtimeException) {
        result.findings.push({
          label,
          operationId,
          side: "response",
          code: response.runtimeException.code,
          where: "",
          message: response.runtimeException.message,
        });
      }
      add("response", response.errors);
    }
  }
  return result;
}

type OperationInfo = Parameters<LiveValidator["validateLiveRequest"]>[2] & object;

/**
 * Operations whose spec path is one whole-id parameter and names no provider: oav files them under
 * `microsoft.unknown`, where no request's URL leads it. Each is looked up there only for a request
 * whose path has the shape its spec documents for that id, and only these operations may match so.
 */
const PROVIDERLESS_OPERATIONS: { shape: RegExp; operationIds: string[] }[] = [
  // links.json 2016-09-01, `/{linkId}`: "Use the format, /subscriptions/{subscription-id}/resourceGroups/
  // {resource-group-name}/{provider-namespace}/{resource-type}/{resource-name}/Microsoft.Resources/links/{link-name}".
  {
    shape: /^\/subscriptions\/[^/]+\/.+\/providers\/Microsoft\.Resources\/links\/[^/]+$/i,
    operationIds: ["ResourceLinks_Get", "ResourceLinks_CreateOrUpdate", "ResourceLinks_Delete"],
  },
];

/** oav's bucket for operations whose path names no provider. */
const UNKNOWN_PROVIDER = "microsoft.unknown";

/**
 * oav files an operation under the last provider its path template names literally, and looks a
 * request up under the last provider in its URL. The two differ where a template's last provider is a
 * parameter (Microsoft.Features' `/providers/Microsoft.Features/providers/{resourceProviderNamespace}/features/…`),
 * so the providers earlier in the URL are tried in turn when the last one has no such operation; and
 * where the template names none (PROVIDERLESS_OPERATIONS), tried last for the paths of their shape.
 */
async function matchAndValidateRequest(
  live: LiveValidator,
  liveRequest: { url: string; method: string; headers: Record<string, string>; body?: Record<string, unknown> | undefined },
): Promise<{ request: LiveValidationResult; info: OperationInfo }> {
  const pathname = new URL(liveRequest.url).pathname;
  const providers = [...pathname.matchAll(/\/providers\/([^/]+)/gi)].map((m) => m[1]!.toLowerCase()).reverse();
  const providerless = PROVIDERLESS_OPERATIONS.find((operations) => operations.shape.test(pathname));
  if (providerless) providers.push(UNKNOWN_PROVIDER);
  let first: { request: LiveValidationResult; info: OperationInfo } | undefined;
  for (const provider of providers.length > 0 ? providers : [undefined]) {
    const validationRequest = parseValidationRequest(liveRequest.url, liveRequest.method, "", "");
    if (provider) validationRequest.providerNamespace = provider;
    const info: OperationInfo = { apiVersion: "", operationId: "", validationRequest };
    const request = await live.validateLiveRequest({ ...liveRequest }, { includeOperationMatch: true }, info);
    let outcome = { request, info: request.operationInfo };
    // A providerless operation matched by a path not of its shape is no match (oav's own look-up
    // ends in its `microsoft.unknown` bucket for a URL that names no provider, too).
    const owner = PROVIDERLESS_OPERATIONS.find((operations) => operations.operationIds.includes(outcome.info.operationId));
    if (owner && !owner.shape.test(pathname)) {
      outcome = {
        request: {
          ...request,
          errors: [],
          runtimeException: {
            code: "OPERATION_NOT_FOUND_IN_CACHE",
            message: `${outcome.info.operationId} names no provider and its spec gives its path another shape`,
          },
        },
        info: { ...outcome.info, operationId: "unknown" },
      };
    }
    if (!outcome.request.runtimeException?.code.startsWith("OPERATION_NOT_FOUND")) return outcome;
    if (provider !== UNKNOWN_PROVIDER) first ??= outcome;
  }
  return first!;
}

function covers(difference: PayloadDifference, finding: ContractFinding): boolean {
  return (
    difference.operationIds.includes(finding.operationId) &&
    difference.side === finding.side &&
    difference.code === finding.code &&
    (difference.status === undefined ||
      difference.status === finding.status ||
      (difference.status === "error" && finding.status !== undefined && finding.status >= 400)) &&
    difference.where.test(finding.where)
  );
}

function parsed(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** How many findings an assertion message spells out; the rest are counted. */
const FINDINGS_SHOWN = 40;

/** One line per finding (the first 40, then how many more), for an assertion message; secrets the caller names are masked. */
export function describeFindings(findings: readonly ContractFinding[], secrets: readonly string[] = []): string {
  const lines = findings
    .slice(0, FINDINGS_SHOWN)
    .map(
      (f) =>
        `${f.label} (${f.operationId}) ${f.side}${f.status === undefined ? "" : ` ${f.status}`}: ${f.code}${f.where ? ` at ${f.where}` : ""}: ${f.message}`,
    );
  if (findings.length > FINDINGS_SHOWN) lines.push(`… and ${findings.length - FINDINGS_SHOWN} more`);
  return lines.map((line) => secrets.reduce((text, secret) => (secret ? text.replaceAll(secret, "<secret>") : text), line)).join("\n");
}
