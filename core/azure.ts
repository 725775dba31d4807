import {
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  createDefaultHttpClient,
  type HttpClient,
  type PipelineOptions,
  type PipelinePolicy,
} from "@azure/core-rest-pipeline";
import type { Readable } from "node:stream";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { createCredential, sdkProxyOptions, type ServiceConnection } from "./connection";
import { perTryTimeoutPolicy } from "./timeout";
import { USER_AGENT } from "./user-agent";
import { firstPauseMs } from "./wait-budget";

/** The first pause of the SDK's exponential back-off for ARM, Key Vault and the agent's IP service. */
const SDK_RETRY_DELAY_MS = 800;

/**
 * Retries: the pipeline's default policies retry 429 and 503 honouring `Retry-After`, other 5xx,
 * dropped connections and tries that time out with exponential back-off. Five retries keep a
 * throttled run under about a minute of back-off before it gives up with Azure's message. The
 * back-off's first pause is tunable (AksHardening.RetryDelaySeconds, core/wait-budget.ts).
 */
export function pipelineOptions(
  url: string,
  requestTimeoutMs: number,
): PipelineOptions & { additionalPolicies: { policy: PipelinePolicy; position: "perCall" | "perRetry" }[] } {
  return {
    retryOptions: { maxRetries: 5, retryDelayInMs: firstPauseMs(SDK_RETRY_DELAY_MS), maxRetryDelayInMs: 30_000 },
    proxyOptions: sdkProxyOptions(url),
    userAgentOptions: { userAgentPrefix: USER_AGENT },
    additionalPolicies: [{ policy: perTryTimeoutPolicy(requestTimeoutMs), position: "perRetry" }],
  };
}

/**
 * The connection's credential and the options every Azure client takes, pointed at the
 * connection's cloud. The clients themselves are made where they are used (core/cluster.ts,
 * core/roles.ts, a task's apply.ts), so each task's bundle carries only the SDKs it calls.
 *
 * One HTTP client serves the credential and every SDK client of the run: each SDK family would
 * otherwise keep its own connection pool (and the ESM and CommonJS copies of the pipeline one
 * each), so a host's TLS handshake would be made once per family instead of once per run.
 */
export class AzureClients {
  readonly credential: TokenCredential;
  readonly httpClient: HttpClient = createDefaultHttpClient();
  private readonly made = new Map<string, unknown>();

  constructor(readonly connection: ServiceConnection) {
    this.credential = sharingTokenRequests(createCredential(connection, this.httpClient));
  }

  /** Options for a client of any Azure service at `url` (Key Vault's data plane, for one). */
  serviceOptions(url: string) {
    return { ...pipelineOptions(url, this.connection.requestTimeoutMs), httpClient: this.httpClient };
  }

  /** Options every ARM SDK client takes: the cloud's ARM URL and audience, proxy and retries. */
  armOptions() {
    return {
      ...this.serviceOptions(this.connection.armUrl),
      endpoint: this.connection.armUrl,
      credentials: { scopes: [this.connection.armScope] },
    };
  }

  /** The same for the older (core-client) SDK packages, which take the ARM URL as `$host` too. */
  classicArmOptions() {
    return { ...this.armOptions(), $host: this.connection.armUrl, credentialScopes: [this.connection.armScope] };
  }

  /** One client per key for the run, made on first use. */
  client<T>(key: string, make: () => T): T {
    if (!this.made.has(key)) this.made.set(key, make());
    return this.made.get(key) as T;
  }
}

/**
 * Independent reads sent together: one round trip instead of one each. When several fail, the one
 * listed first is reported, as it would have been had they run one after another.
 */
export async function readTogether<T extends readonly unknown[]>(reads: { [K in keyof T]: Promise<T[K]> | T[K] }): Promise<T> {
  const settled = await Promise.allSettled(reads);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Concurrent requests for the same token share one token request. Each SDK client's pipeline asks
 * the credential for a token when its first request goes out; when a run sends its reads together,
 * they would all miss MSAL's still-empty cache at once and each POST to the token endpoint. Once
 * the token is in MSAL's cache, later requests get it from there.
 */
export function sharingTokenRequests(credential: TokenCredential): TokenCredential {
  const pending = new Map<string, Promise<AccessToken | null>>();
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      // A claims challenge (CAE) asks for a fresh token for that request: never shared.
      if (options?.claims) return credential.getToken(scopes, options);
      const key = JSON.stringify([[scopes].flat().sort(), options?.tenantId ?? "", options?.enableCae === true]);
      let request = pending.get(key);
      if (!request) {
        request = credential.getToken(scopes, options).finally(() => pending.delete(key));
        pending.set(key, request);
      }
      return request;
    },
  };
}

/**
 * GETs a small text resource (not Azure) through the agent's proxy, with the same retries and a
 * shorter timeout per try. The body is read as a stream and refused past `maxBytes`, so a hostile
 * or broken server cannot feed the task an unbounded answer.
 */
export async function getText(url: string, options: { timeoutMs?: number; maxBytes: number }): Promise<string> {
  const { additionalPolicies, ...pipelineSettings } = pipelineOptions(url, options.timeoutMs ?? 30_000);
  const pipeline = createPipelineFromOptions(pipelineSettings);
  for (const { policy } of additionalPolicies) pipeline.addPolicy(policy, { afterPhase: "Retry" });
  const request = createPipelineRequest({
    url,
    method: "GET",
    headers: createHttpHeaders({ accept: "text/plain" }),
    streamResponseStatusCodes: new Set([200]),
  });
  const response = await pipeline.sendRequest(createDefaultHttpClient(), request);
  // Node's HTTP client hands back its IncomingMessage, a Readable.
  const body = response.readableStreamBody as Readable | undefined;
  if (response.status !== 200 || !body) {
    body?.destroy();
    throw new Error(`${url} answered HTTP ${response.status}`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    length += buffer.length;
    if (length > options.maxBytes) {
      body.destroy();
      throw new Error(`${url} answered more than ${options.maxBytes} bytes, which is not an IP address`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
