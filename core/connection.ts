import * as tl from "azure-pipelines-task-lib/task";
import {
  AzurePipelinesCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from "@azure/identity";
import type { HttpClient, ProxySettings } from "@azure/core-rest-pipeline";
import { agentProxyPassword } from "./agent-secrets";
import { InputError } from "./errors";
import { readSecondsVariable, readString } from "./inputs";
import { DEFAULT_REQUEST_TIMEOUT_SECONDS, perTryTimeoutPolicy, REQUEST_TIMEOUT_VARIABLE } from "./timeout";
import { checkRetryDelayVariable, firstPauseMs } from "./wait-budget";

/** The AzureRM service connection, read once from the agent and validated. */
export interface ServiceConnection {
  id: string;
  scheme: "ServicePrincipal" | "ManagedServiceIdentity" | "WorkloadIdentityFederation";
  subscriptionId: string;
  tenantId: string;
  /** ARM base URL of the connection's cloud, without a trailing slash. */
  armUrl: string;
  /** Entra authority host of the connection's cloud, without a trailing slash. */
  authorityHost: string;
  /** Token scope for ARM: the connection's audience + `/.default`. */
  armScope: string;
  /** Key Vault data-plane audience of the connection's cloud, when the connection names one. */
  keyVaultResource?: string;
  /** The cloud's name as the connection gives it (endpoint data `environment`: AzureCloud, AzureChinaCloud, AzureUSGovernment, AzureStack). */
  environment?: string;
  clientId?: string;
  clientSecret?: string;
  certificatePem?: string;
  systemAccessToken?: string;
  /** How long one try of any request (token, ARM, Key Vault) may take before it is retried. */
  requestTimeoutMs: number;
}

/** The first pause of @azure/identity's retries of token requests: core-rest-pipeline's default, which it keeps. */
const CREDENTIAL_RETRY_DELAY_MS = 1000;

/** Entra authorities of Azure's public clouds: MSAL can ask these for instance discovery. */
const KNOWN_AUTHORITY_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login.chinacloudapi.cn",
  "login.windows.net",
  "login.microsoftonline.de",
]);

/**
 * Reads the AzureRM service connection named by an input (e.g. `azureSubscription`). Secrets are
 * registered with the agent before anything could print them.
 */
export function readServiceConnection(inputName: string): ServiceConnection {
  const id = readString(inputName);
  if (!id) throw new InputError(inputName, "select an Azure Resource Manager service connection.");
  const auth = tl.getEndpointAuthorization(id, true);
  if (!auth) {
    throw new InputError(inputName, `the service connection '${id}' was not found or this pipeline is not authorized to use it.`);
  }
  const data = (key: string) => tl.getEndpointDataParameter(id, key, true)?.trim() || undefined;
  // Parameters come from the authorization object, not getEndpointAuthorizationParameter, which
  // prints each value (secrets included) to the debug stream before we could register it.
  const param = (key: string) => parameterOf(auth, key);

  const url = tl.getEndpointUrl(id, true)?.trim();
  if (!url) throw new InputError(inputName, `the service connection '${id}' has no Azure Resource Manager URL.`);
  const subscriptionId = data("subscriptionid");
  if (!subscriptionId) {
    throw new InputError(
      inputName,
      `the service connection '${id}' is not scoped to a subscription; use a connection with scope level 'Subscription'.`,
    );
  }
  const tenantId = param("tenantid");
  if (!tenantId) throw new InputError(inputName, `the service connection '${id}' has no tenant ID.`);

  const armUrl = trimSlash(url);
  // The audience ends in a slash in most clouds ("https://management.core.windows.net/"); Entra
  // expects the scope with both slashes, as the Azure CLI sends it.
  const audience = data("activeDirectoryServiceEndpointResourceId") ?? `${armUrl}/`;
  const connection: ServiceConnection = {
    id,
    scheme: "ServicePrincipal",
    subscriptionId,
    tenantId,
    armUrl,
    authorityHost: trimSlash(data("environmentAuthorityUrl") ?? "https://login.microsoftonline.com"),
    armScope: `${audience}/.default`,
    keyVaultResource: data("AzureKeyVaultServiceEndpointResourceId"),
    environment: data("environment"),
    requestTimeoutMs: readRequestTimeoutMs(),
  };
  checkRetryDelayVariable();

  const scheme = (auth.scheme || "ServicePrincipal").toLowerCase();
  if (scheme === "serviceprincipal") {
    connection.clientId = required(inputName, id, param("serviceprincipalid"), "service principal (client) ID");
    if ((param("authenticationType") ?? "spnKey").toLowerCase() === "spncertificate") {
      const pem = required(inputName, id, param("servicePrincipalCertificate"), "certificate");
      registerPem(pem);
      connection.certificatePem = pem;
    } else {
      const secret = required(inputName, id, param("serviceprincipalkey"), "client secret");
      tl.setSecret(secret);
      connection.clientSecret = secret;
    }
  } else if (scheme === "managedserviceidentity") {
    connection.scheme = "ManagedServiceIdentity";
    connection.clientId = data("msiclientId");
  } else if (scheme === "workloadidentityfederation") {
    connection.scheme = "WorkloadIdentityFederation";
    connection.clientId = required(inputName, id, param("serviceprincipalid"), "service principal (client) ID");
    const token = parameterOf(tl.getEndpointAuthorization("SystemVssConnection", true), "AccessToken");
    if (!token) {
      throw new InputError(
        inputName,
        "workload identity federation needs the job's access token (System.AccessToken), which the agent did not provide.",
      );
    }
    tl.setSecret(token);
    connection.systemAccessToken = token;
  } else {
    throw new InputError(
      inputName,
      `the service connection '${id}' uses the authentication scheme '${auth.scheme}', which this task does not support (use a service principal, managed identity or workload identity federation).`,
    );
  }
  return connection;
}

/**
 * The proxy the agent is configured with for a URL, unless the agent's bypass list exempts it (its
 * entries are regular expressions matched against the URL, as task-lib's getHttpProxyConfiguration
 * matches them). Read without that function, which echoes the password (core/task-lib.ts).
 */
export function proxyFor(url: string): ProxySettings | undefined {
  const proxyUrl = tl.getVariable("Agent.ProxyUrl")?.trim();
  if (!proxyUrl) return undefined;
  const bypass = parseBypassList(tl.getVariable("Agent.ProxyBypassList"));
  if (bypass.some((pattern) => pattern.test(url))) return undefined;
  const proxy = new URL(proxyUrl);
  return {
    host: `${proxy.protocol}//${proxy.hostname}`,
    port: Number(proxy.port || (proxy.protocol === "https:" ? 443 : 80)),
    username: tl.getVariable("Agent.ProxyUsername") || undefined,
    password: agentProxyPassword() || undefined,
  };
}

/**
 * `proxyFor` in the form the Azure SDK's proxy policy takes. The SDK copies the user name and password
 * into a URL's user info (whose setter leaves `%` alone) and https-proxy-agent then runs
 * `decodeURIComponent` on them, so a raw `%` would be decoded (`p%40ss` sent as `p@ss`) or throw (`%zz`).
 * Encoded here, the decode gives back exactly what the agent holds (@typespec/ts-http-runtime
 * policies/proxyPolicy.ts getUrlFromProxySettings; https-proxy-agent 7 index.ts).
 */
export function sdkProxyOptions(url: string): ProxySettings | undefined {
  const proxy = proxyFor(url);
  if (!proxy) return undefined;
  return {
    ...proxy,
    username: proxy.username === undefined ? undefined : encodeURIComponent(proxy.username),
    password: proxy.password === undefined ? undefined : encodeURIComponent(proxy.password),
  };
}

function parseBypassList(json: string | undefined): RegExp[] {
  let entries: unknown;
  try {
    entries = JSON.parse(json || "[]");
  } catch {
    throw new InputError("Agent.ProxyBypassList", "is not a JSON list of host patterns; check the agent's .proxybypass file.");
  }
  return (Array.isArray(entries) ? entries : []).filter((e): e is string => typeof e === "string").map((e) => new RegExp(e, "i"));
}

/** Builds the credential for the connection's scheme, pointed at the connection's own cloud. */
export function createCredential(connection: ServiceConnection, httpClient?: HttpClient): TokenCredential {
  const authority = new URL(connection.authorityHost);
  const options = {
    authorityHost: connection.authorityHost,
    ...(httpClient ? { httpClient } : {}),
    // MSAL asks the public cloud's login host to validate any other authority; offline clouds
    // (Azure Stack, the local test Azure) would fail that after a timeout.
    disableInstanceDiscovery: !KNOWN_AUTHORITY_HOSTS.has(authority.hostname.toLowerCase()),
    proxyOptions: sdkProxyOptions(connection.authorityHost),
    // Only the first pause of @azure/identity's own retries: their number stays the SDK's (a count here
    // would also replace the managed-identity credential's own for IMDS).
    retryOptions: { retryDelayInMs: firstPauseMs(CREDENTIAL_RETRY_DELAY_MS) },
    additionalPolicies: [{ policy: perTryTimeoutPolicy(connection.requestTimeoutMs), position: "perRetry" as const }],
  };
  switch (connection.scheme) {
    case "ManagedServiceIdentity":
      // Its tokens come from the managed-identity endpoint, not the authority: the agent's bypass list
      // is matched against that endpoint (IMDS is link-local, where no proxy reaches).
      return new ManagedIdentityCredential({
        ...options,
        proxyOptions: sdkProxyOptions(managedIdentityEndpoint()),
        ...(connection.clientId ? { clientId: connection.clientId } : {}),
      });
    case "WorkloadIdentityFederation":
      return new AzurePipelinesCredential(connection.tenantId, connection.clientId!, connection.id, connection.systemAccessToken!, options);
    case "ServicePrincipal":
      if (connection.certificatePem) {
        return new ClientCertificateCredential(
          connection.tenantId,
          connection.clientId!,
          { certificate: connection.certificatePem },
          options,
        );
      }
      return new ClientSecretCredential(connection.tenantId, connection.clientId!, connection.clientSecret!, options);
  }
}

/**
 * Where ManagedIdentityCredential asks for tokens: App Service / Arc's IDENTITY_ENDPOINT or
 * IMDS_ENDPOINT, a pod-identity host (AZURE_POD_IDENTITY_AUTHORITY_HOST), else IMDS itself
 * (@azure/identity's managed identity sources).
 */
function managedIdentityEndpoint(): string {
  return (
    process.env["IDENTITY_ENDPOINT"] ||
    process.env["IMDS_ENDPOINT"] ||
    process.env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] ||
    "http://169.254.169.254/metadata/identity/oauth2/token"
  );
}

function readRequestTimeoutMs(): number {
  const seconds = readSecondsVariable(REQUEST_TIMEOUT_VARIABLE, DEFAULT_REQUEST_TIMEOUT_SECONDS);
  if (seconds <= 0) throw new InputError(REQUEST_TIMEOUT_VARIABLE, `'${seconds}' must be a number of seconds above zero.`);
  return seconds * 1000;
}

/** Authorization parameter keys are case-insensitive, as the agent treats them. */
function parameterOf(auth: tl.EndpointAuthorization | undefined, key: string): string | undefined {
  const entry = Object.entries(auth?.parameters ?? {}).find(([name]) => name.toLowerCase() === key.toLowerCase());
  return entry?.[1]?.trim() || undefined;
}

function required(inputName: string, id: string, value: string | undefined, what: string): string {
  if (!value) throw new InputError(inputName, `the service connection '${id}' has no ${what}.`);
  return value;
}

/** A PEM is masked line by line (the agent takes single-line secrets only), as a log may show any line of it. */
function registerPem(pem: string): void {
  for (const line of pem.split(/\r?\n/)) {
    if (line.length >= 16 && !line.startsWith("-----")) tl.setSecret(line);
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
