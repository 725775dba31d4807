import { createServer as createHttpServer } from "node:http";
import type { Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { ApiServerEndpoints } from "./api-server";
import { armAuthenticator } from "./arm-auth";
import { Directory } from "./directory";
import { AgentEgress } from "./egress";
import { FaultInjector } from "./faults";
import { connectionOpened, dispatch, Router } from "./http";
import type { Listener } from "./http";
import { newGuid, SigningKey } from "./jwt";
import { RequestLog } from "./request-log";
import type { RequestLogEntry } from "./request-log";
import type { RecordedExchange } from "./traffic";
import { createAdoOidc } from "./routes/ado-oidc";
import type { AdoOidc } from "./routes/ado-oidc";
import { clusterAccessRoutes } from "./routes/cluster-access";
import { entraRoutes } from "./routes/entra";
import { defenderRoutes } from "./routes/defender";
import { featureRoutes } from "./routes/features";
import { imdsRoutes } from "./routes/imds";
import { keyVaultSecretRoutes } from "./routes/key-vault-secrets";
import { keyVaultUpdateRoutes } from "./routes/key-vault-update";
import { keyVaultRoutes } from "./routes/key-vaults";
import { maintenanceConfigurationRoutes } from "./routes/maintenance-configurations";
import { managedClusterRoutes } from "./routes/managed-clusters";
import { managedIdentityRoutes } from "./routes/managed-identities";
import { networkRoutes } from "./routes/network";
import { privateDnsRoutes } from "./routes/private-dns";
import { operationRoutes } from "./routes/operations";
import { permissionRoutes } from "./routes/permissions";
import { policyRoutes } from "./routes/policy";
import { publicIpRoutes } from "./routes/public-ip";
import { resourceLinkRoutes } from "./routes/resource-links";
import { requestLogRoutes } from "./routes/request-log";
import { resourceGroupRoutes } from "./routes/resource-groups";
import { roleAssignmentRoutes } from "./routes/role-assignments";
import { subscriptionRoutes } from "./routes/subscriptions";
import { VaultFirewalls } from "./resources/vault-network";
import { ResourceStore } from "./store";
import { createServerCertificate } from "./tls";

export type { AdoOidc } from "./routes/ado-oidc";
export type { FaultSpec, OperationOutcome } from "./faults";
export type { RequestLogEntry } from "./request-log";
export type { RecordedExchange } from "./traffic";
export type { PolicyStateRecord } from "./resources/policy";
export type { ArmResource, BusyCode, Operation } from "./store";
export type { AccessPolicyEntry, SecretVersion, VaultNetworkAcls, VaultSecretRecord } from "./resources/key-vault";
export { FaultInjector } from "./faults";
export { privateEndpointConnectionItem } from "./resources/key-vault";
export { freePricing, logAnalyticsWorkspace } from "./resources/defender";
export { composeMaintenanceConfiguration } from "./resources/maintenance-configuration";
export { resourceLink, RESOURCE_LINK_TYPE } from "./resources/resource-link";
export { etagMismatchBody } from "./routes/managed-clusters";
export { Pending } from "./pending";
export { REQUEST_LOG_PATH } from "./routes/request-log";
export { addCustomRole, assignRole, OWNER_ROLE, removeRoles, type RolePermission } from "./resources/role-definitions";
export { ResourceStore } from "./store";
export {
  addClusterOutboundIps,
  addNatGateway,
  addPublicIpAddress,
  addPublicIpPrefix,
  addVirtualNetwork,
} from "./resources/virtual-network";
export { addPrivateDnsZone } from "./resources/private-dns";

export interface LocalAzureOptions {
  /** Port of the HTTPS listener (ARM, Entra, Azure DevOps OIDC, Key Vault); default any free port. */
  httpsPort?: number;
  /** Port of the managed-identity (IMDS) listener; default any free port. */
  imdsPort?: number;
  /** How many status polls an operation started by a PUT answers InProgress before its final status; default 1. */
  operationPolls?: number;
  /**
   * Retry-After (seconds) on long-running operation responses; default 1. 0 sends none: the header is
   * optional for a resource provider (azure-resource-manager-rpc v1.0/Addendum.md, "202 Accepted and
   * Location Headers"), and a client then polls at its own pace (the tasks: AksHardening.RetryDelaySeconds).
   */
  retryAfterSeconds?: number;
  /**
   * Answer as the public cloud's `management.azure.com` and `login.microsoftonline.com` too, and
   * name those hosts in what it returns (token endpoint, issuer, operation URLs, challenges), so a
   * task signs in and polls exactly as against Azure. Task processes reach those hosts through the
   * host preload (local-azure/azure-hosts.cjs with LOCAL_AZURE_PUBLIC_HOSTS=1). For the benchmark
   * and the demo: tests keep the loopback authority, which exercises the sovereign-cloud path.
   */
  publicCloudHosts?: boolean;
  /** Milliseconds every answer is held back, as a network round trip would be (the benchmark; never tests). Can be changed later. */
  latencyMs?: number;
  /** Record every exchange whole (`traffic`), for checking it against Azure's REST specs (test/contracts); default off. */
  recordTraffic?: boolean;
}

export interface LocalAzure {
  /** `https://127.0.0.1:PORT`: ARM base URL, Entra authority host, ADO OIDC endpoint host and `/ip`. */
  url: string;
  /** The ARM base URL to give a service connection: `url`, or `https://management.azure.com` with `publicCloudHosts`. */
  armUrl: string;
  /** The Entra authority host to give a service connection: `url`, or `https://login.microsoftonline.com` with `publicCloudHosts`. */
  authorityUrl: string;
  /** Milliseconds every answer is held back (the benchmark's injected latency). */
  latencyMs: number;
  /** The HTTPS port, which also answers `<vault>.vault.azure.net` (the Key Vault data plane) when a client connects there. */
  httpsPort: number;
  /** `http://127.0.0.1:PORT2`: IMDS-compatible managed identity endpoint (AZURE_POD_IDENTITY_AUTHORITY_HOST). */
  imdsUrl: string;
  /** PEM of the self-signed certificate, for NODE_EXTRA_CA_CERTS. */
  caCertPath: string;
  tenantId: string;
  subscriptionId: string;
  /** What activeDirectoryServiceEndpointResourceId holds: `https://management.core.windows.net/`. */
  armAudience: string;
  /** Registers an app that may get tokens; returns its service principal object id (for role assignments). */
  addServicePrincipal(p: { clientId: string; clientSecret?: string; certificatePem?: string }): { clientId: string; objectId: string };
  /** The app trusts tokens from `issuer` with `subject` (audience api://AzureADTokenExchange). */
  addFederatedCredential(p: { clientId: string; issuer: string; subject: string }): void;
  adoOidc: AdoOidc;
  /** The VM's managed identity IMDS issues tokens for when the request names no client_id. */
  managedIdentityClientId: string;
  /** The object id of a registered service principal or managed identity. */
  objectIdOf(clientId: string): string | undefined;
  /** The agent's public address (the first, when it has several): what GET {url}/ip, the API servers and the vaults see. Setting it gives the agent that one address. */
  publicIp: string;
  /** The agent's public addresses: each new connection to the IP service, an API server or a vault leaves from the next, in turn (local-azure/egress.ts). */
  egressAddresses: readonly string[];
  /** The vaults' firewalls as their data plane enforces them, late after a write. */
  vaultFirewalls: VaultFirewalls;
  /** The clusters' API server endpoints (`https://<fqdn>`), which admit the agent once its address is in force. */
  apiServers: ApiServerEndpoints;
  store: ResourceStore;
  faults: FaultInjector;
  requests: RequestLogEntry[];
  clearRequests(): void;
  /** Every exchange since the start, whole, in arrival order, when started with `recordTraffic` (never cleared). */
  traffic: readonly RecordedExchange[];
  /** Every access token and Azure DevOps OIDC token issued so far: none may ever appear in a task's output. */
  issuedTokens: readonly string[];
  close(): Promise<void>;
}

const ARM_AUDIENCE = "https://management.core.windows.net/";

function listen(server: HttpServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startLocalAzure(options: LocalAzureOptions = {}): Promise<LocalAzure> {
  const certificate = await createServerCertificate();
  const tenantId = newGuid();
  const subscriptionId = newGuid();
  const router = new Router({ publicCloudHosts: options.publicCloudHosts === true });
  let latencyMs = options.latencyMs ?? 0;
  const faults = new FaultInjector();
  const log = new RequestLog();
  const traffic: RecordedExchange[] = [];

  // The ARM token check needs the listening URL, known only after the servers start.
  const ready: { authenticateArm?: ReturnType<typeof armAuthenticator> } = {};
  const handle = (listener: Listener) => (req: Parameters<typeof dispatch>[1], res: Parameters<typeof dispatch>[2]) => {
    const authenticateArm = ready.authenticateArm;
    if (!authenticateArm) throw new Error("local Azure is not ready");
    dispatch(listener, req, res, { router, faults, log, authenticateArm, latencyMs, ...(options.recordTraffic ? { traffic } : {}) }).catch(
      (err: unknown) => {
        console.error("[local-azure] request failed", err);
        res.destroy();
      },
    );
  };
  // Filled in once the store exists; the server must exist first to learn its port.
  const endpoints: { apiServers?: ApiServerEndpoints } = {};
  const https = createHttpsServer(
    {
      cert: certificate.cert,
      key: certificate.key,
      // Called on the connection's TLS socket: the API server admits or drops it by the address it leaves from.
      SNICallback: function (this: TLSSocket, servername, done) {
        const connection = (this as unknown as { _parent?: object })._parent ?? this;
        if (endpoints.apiServers) endpoints.apiServers.sniCallback(servername, done, connection);
        else done(null);
      },
    },
    handle("https"),
  );
  https.on("connection", (socket: Socket) => endpoints.apiServers?.track(socket));
  const imds = createHttpServer(handle("imds"));
  https.on("connection", connectionOpened);
  imds.on("connection", connectionOpened);
  const [httpsPort, imdsPort] = await Promise.all([listen(https, options.httpsPort), listen(imds, options.imdsPort)]);
  const url = `https://127.0.0.1:${httpsPort}`;
  const imdsUrl = `http://127.0.0.1:${imdsPort}`;
  const armUrl = options.publicCloudHosts ? "https://management.azure.com" : url;
  const authorityUrl = options.publicCloudHosts ? "https://login.microsoftonline.com" : url;

  const directory = new Directory(tenantId, `${authorityUrl}/${tenantId}/`);
  ready.authenticateArm = armAuthenticator({ url: authorityUrl, directory, armAudience: ARM_AUDIENCE });
  const store = new ResourceStore({
    subscriptionId,
    tenantId,
    directory,
    faults,
    operationPolls: options.operationPolls ?? 1,
    defaultLocation: "westeurope",
  });
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const armEnv = { url: armUrl, store, retryAfterSeconds };

  const managedIdentityClientId = newGuid();
  directory.addManagedIdentity({
    clientId: managedIdentityClientId,
    resourceId: `/subscriptions/${subscriptionId}/resourceGroups/agents/providers/Microsoft.ManagedIdentity/userAssignedIdentities/build-agent`,
  });
  const ado = createAdoOidc({ url, key: new SigningKey(), directory, organization: "local-org", project: "local-project" });

  const egress = new AgentEgress();
  const apiServers = new ApiServerEndpoints(store, egress);
  const vaultFirewalls = new VaultFirewalls();
  endpoints.apiServers = apiServers;
  router.add([
    ...entraRoutes({ url: authorityUrl, tenantId, directory }),
    ...ado.routes,
    ...imdsRoutes({ directory, defaultClientId: managedIdentityClientId }),
    ...publicIpRoutes(egress),
    ...requestLogRoutes(log),
    ...subscriptionRoutes(armEnv),
    ...apiServers.routes(),
    ...resourceGroupRoutes(armEnv),
    ...managedClusterRoutes({ ...armEnv, apiServers }),
    ...maintenanceConfigurationRoutes(armEnv),
    ...defenderRoutes(armEnv),
    ...clusterAccessRoutes({ ...armEnv, caPem: certificate.cert }),
    ...operationRoutes(armEnv),
    ...managedIdentityRoutes(armEnv),
    ...roleAssignmentRoutes(armEnv),
    ...permissionRoutes(armEnv),
    ...policyRoutes(armEnv),
    ...featureRoutes(armEnv),
    ...keyVaultRoutes({ ...armEnv, vaultFirewalls }),
    ...keyVaultUpdateRoutes({ ...armEnv, vaultFirewalls }),
    ...resourceLinkRoutes(armEnv),
    ...networkRoutes(armEnv),
    ...privateDnsRoutes(armEnv),
    ...keyVaultSecretRoutes({ url: authorityUrl, store, vaultFirewalls, clientAddress: (ctx) => egress.addressOf(ctx.connection) }),
  ]);

  const close = (server: HttpServer) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url,
    armUrl,
    authorityUrl,
    get latencyMs() {
      return latencyMs;
    },
    set latencyMs(value: number) {
      latencyMs = value;
    },
    httpsPort,
    imdsUrl,
    caCertPath: certificate.caCertPath,
    tenantId,
    subscriptionId,
    armAudience: ARM_AUDIENCE,
    addServicePrincipal: (p) => {
      const sp = directory.addServicePrincipal(p);
      return { clientId: sp.clientId, objectId: sp.objectId };
    },
    addFederatedCredential: (p) => directory.addFederatedCredential(p),
    adoOidc: ado.oidc,
    managedIdentityClientId,
    objectIdOf: (clientId) => directory.objectIdOf(clientId),
    get publicIp() {
      return egress.all[0]!;
    },
    set publicIp(value: string) {
      egress.set([value]);
    },
    get egressAddresses() {
      return egress.all;
    },
    set egressAddresses(addresses: readonly string[]) {
      egress.set(addresses);
    },
    vaultFirewalls,
    apiServers,
    store,
    faults,
    requests: log.entries,
    clearRequests: () => log.clear(),
    traffic,
    issuedTokens: directory.issuedTokens,
    close: async () => {
      apiServers.close();
      await Promise.all([close(https), close(imds)]);
      await certificate.dispose();
    },
  };
}
