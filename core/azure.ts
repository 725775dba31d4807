import {
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  createDefaultHttpClient,
  type PipelineOptions,
  type PipelinePolicy,
} from "@azure/core-rest-pipeline";
import type { TokenCredential } from "@azure/identity";
import { createContainerService, type ContainerServiceContext } from "@azure/arm-containerservice/api";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { FeatureClient } from "@azure/arm-features";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { createPolicy, type PolicyContext } from "@azure/arm-policy/api";
import { PolicyInsightsClient } from "@azure/arm-policyinsights";
import { createKeyVaultManagement, type KeyVaultManagementContext } from "@azure/arm-keyvault/api";
import { SecretClient } from "@azure/keyvault-secrets";
import { createCredential, proxyFor, type ServiceConnection } from "./connection";
import { perTryTimeoutPolicy } from "./timeout";

const USER_AGENT = "aks-hardening-tasks";

/**
 * Retries: the pipeline's default policies retry 429 and 503 honouring `Retry-After`, other 5xx,
 * dropped connections and tries that time out with exponential back-off. Five retries keep a
 * throttled run under about a minute of back-off before it gives up with Azure's message.
 */
function pipelineOptions(
  url: string,
  requestTimeoutMs: number,
): PipelineOptions & { additionalPolicies: { policy: PipelinePolicy; position: "perCall" | "perRetry" }[] } {
  return {
    retryOptions: { maxRetries: 5, retryDelayInMs: 800, maxRetryDelayInMs: 30_000 },
    proxyOptions: proxyFor(url),
    userAgentOptions: { userAgentPrefix: USER_AGENT },
    additionalPolicies: [{ policy: perTryTimeoutPolicy(requestTimeoutMs), position: "perRetry" }],
  };
}

/** The connection's credential and the ARM clients built on it, all pointed at the connection's cloud. */
export class AzureClients {
  readonly credential: TokenCredential;
  private containerService?: ContainerServiceContext;
  private authorizationClient?: AuthorizationManagementClient;
  private featureClient?: FeatureClient;
  private readonly identityClients = new Map<string, ManagedServiceIdentityClient>();
  private policyContext?: PolicyContext;
  private policyInsightsClient?: PolicyInsightsClient;
  private keyVaultManagement?: KeyVaultManagementContext;
  private readonly secretClients = new Map<string, SecretClient>();

  constructor(readonly connection: ServiceConnection) {
    this.credential = createCredential(connection);
  }

  /** Options every ARM SDK client takes: the cloud's ARM URL and audience, proxy and retries. */
  armOptions() {
    return {
      ...pipelineOptions(this.connection.armUrl, this.connection.requestTimeoutMs),
      endpoint: this.connection.armUrl,
      credentials: { scopes: [this.connection.armScope] },
    };
  }

  /** The same for the older (core-client) SDK packages, which take the ARM URL as `$host` too. */
  classicArmOptions() {
    return { ...this.armOptions(), $host: this.connection.armUrl, credentialScopes: [this.connection.armScope] };
  }

  get clusters(): ContainerServiceContext {
    this.containerService ??= createContainerService(this.credential, this.connection.subscriptionId, this.armOptions());
    return this.containerService;
  }

  get authorization(): AuthorizationManagementClient {
    this.authorizationClient ??= new AuthorizationManagementClient(
      this.credential,
      this.connection.subscriptionId,
      this.classicArmOptions(),
    );
    return this.authorizationClient;
  }

  /** Preview-feature registrations (AFEC) of the connection's subscription. */
  get features(): FeatureClient {
    this.featureClient ??= new FeatureClient(this.credential, this.connection.subscriptionId, this.classicArmOptions());
    return this.featureClient;
  }

  get keyVaults(): KeyVaultManagementContext {
    this.keyVaultManagement ??= createKeyVaultManagement(this.credential, this.connection.subscriptionId, this.armOptions());
    return this.keyVaultManagement;
  }

  /**
   * The data-plane client of one vault, at its `vaultUri` as ARM returned it. Its token scope comes
   * from the vault's own 401 challenge (the cloud's Key Vault audience, which the connection's
   * AzureKeyVaultServiceEndpointResourceId names too), and the client checks that the challenge's
   * resource matches the vault's host: that check stays on.
   */
  secrets(vaultUri: string): SecretClient {
    let client = this.secretClients.get(vaultUri.toLowerCase());
    if (!client) {
      client = new SecretClient(vaultUri, this.credential, pipelineOptions(vaultUri, this.connection.requestTimeoutMs));
      this.secretClients.set(vaultUri.toLowerCase(), client);
    }
    return client;
  }

  /** Managed identities may live in another subscription than the connection's. */
  managedIdentities(subscriptionId = this.connection.subscriptionId): ManagedServiceIdentityClient {
    let client = this.identityClients.get(subscriptionId.toLowerCase());
    if (!client) {
      client = new ManagedServiceIdentityClient(this.credential, subscriptionId, this.classicArmOptions());
      this.identityClients.set(subscriptionId.toLowerCase(), client);
    }
    return client;
  }

  get policy(): PolicyContext {
    this.policyContext ??= createPolicy(this.credential, this.connection.subscriptionId, this.armOptions());
    return this.policyContext;
  }

  get policyInsights(): PolicyInsightsClient {
    this.policyInsightsClient ??= new PolicyInsightsClient(this.credential, this.connection.subscriptionId, this.classicArmOptions());
    return this.policyInsightsClient;
  }
}

/** GETs a small text resource (not Azure) through the agent's proxy, with the same retries and a shorter timeout per try. */
export async function getText(url: string, timeoutMs = 30_000): Promise<string> {
  const { additionalPolicies, ...options } = pipelineOptions(url, timeoutMs);
  const pipeline = createPipelineFromOptions(options);
  for (const { policy } of additionalPolicies) pipeline.addPolicy(policy, { afterPhase: "Retry" });
  const request = createPipelineRequest({
    url,
    method: "GET",
    headers: createHttpHeaders({ accept: "text/plain" }),
  });
  const response = await pipeline.sendRequest(createDefaultHttpClient(), request);
  if (response.status !== 200) {
    throw new Error(`${url} answered HTTP ${response.status}`);
  }
  return response.bodyAsText ?? "";
}
