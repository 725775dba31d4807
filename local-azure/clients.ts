import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { generate } from "selfsigned";
import type { LocalAzure } from "./index";
import { assignRole, OWNER_ROLE } from "./resources/role-definitions";

/**
 * What a client process (a packaged task, `node` by hand) needs to talk to the local Azure as if it
 * were Azure, and the service connections it signs in with. The test fixture, `npm run demo` and
 * `npm run local-azure` all get them from here.
 */

/**
 * Sends `<vault>.vault.azure.net` and `<cluster fqdn>.azmk8s.io` (and, when the local Azure poses as
 * the public cloud, management.azure.com and login.microsoftonline.com) to the local Azure inside the
 * client process (see azure-hosts.cjs).
 */
export const AZURE_HOSTS_PRELOAD = path.join(__dirname, "azure-hosts.cjs");

/**
 * The environment that makes a Node process trust the local Azure's certificate (made at start) and
 * reach it under Azure's host names; nothing else about the process changes.
 */
export function clientEnvironment(azure: LocalAzure): Record<string, string> {
  return {
    NODE_EXTRA_CA_CERTS: azure.caCertPath,
    NODE_OPTIONS: `--require ${AZURE_HOSTS_PRELOAD}`,
    LOCAL_AZURE_HTTPS_PORT: String(azure.httpsPort),
    ...(azure.armUrl !== azure.url ? { LOCAL_AZURE_PUBLIC_HOSTS: "1" } : {}),
  };
}

/** A service connection as the agent hands it to a task (`ENDPOINT_*` variables). */
export interface Endpoint {
  id: string;
  url: string;
  scheme: string;
  parameters: Record<string, string>;
  data: Record<string, string>;
}

export type ConnectionKind = "spnKey" | "spnCertificate" | "managedIdentity" | "workloadIdentity";

export interface ServiceConnection {
  endpoint: Endpoint;
  /** Environment the agent's machine adds for this kind (the managed-identity endpoint, the OIDC request URI). */
  env: Record<string, string>;
  /** The job's access token (System.AccessToken), for workload identity federation. */
  systemAccessToken?: string;
  /** Values that must never appear in a task's output. */
  secrets: string[];
}

/**
 * One AzureRM service connection of each scheme, registered with the local Azure's directory: a
 * service principal with a secret, one with a certificate, the agent VM's managed identity, and
 * workload identity federation through the Azure DevOps OIDC endpoint. Each connection's principal
 * holds Owner on the subscription, as a connection made with scope level Subscription for tasks
 * that also grant roles needs; a test gives one less (resources/role-definitions.ts).
 */
export async function createServiceConnections(azure: LocalAzure): Promise<Map<ConnectionKind, ServiceConnection>> {
  const connections = new Map<ConnectionKind, ServiceConnection>();
  const data = {
    subscriptionId: azure.subscriptionId,
    subscriptionName: "Local subscription",
    environment: "AzureCloud",
    scopeLevel: "Subscription",
    environmentAuthorityUrl: `${azure.authorityUrl}/`,
    activeDirectoryServiceEndpointResourceId: azure.armAudience,
    AzureKeyVaultServiceEndpointResourceId: "https://vault.azure.net",
  };
  const armUrl = `${azure.armUrl}/`;

  const secretSp = { clientId: randomUUID(), clientSecret: `secret-${randomUUID()}` };
  azure.addServicePrincipal(secretSp);
  connections.set("spnKey", {
    endpoint: {
      id: randomUUID(),
      url: armUrl,
      scheme: "ServicePrincipal",
      parameters: {
        serviceprincipalid: secretSp.clientId,
        serviceprincipalkey: secretSp.clientSecret,
        tenantid: azure.tenantId,
        authenticationType: "spnKey",
      },
      data,
    },
    env: {},
    secrets: [secretSp.clientSecret],
  });

  const pems = await generate([{ name: "commonName", value: "pipeline-sp" }], { keySize: 2048, algorithm: "sha256" });
  const certSp = { clientId: randomUUID(), certificatePem: pems.cert };
  azure.addServicePrincipal(certSp);
  const keyBody = pems.private.split(/\r?\n/).filter((line) => line && !line.startsWith("-----"));
  connections.set("spnCertificate", {
    endpoint: {
      id: randomUUID(),
      url: armUrl,
      scheme: "ServicePrincipal",
      // Azure DevOps stores the certificate and its private key together, as one PEM.
      parameters: {
        serviceprincipalid: certSp.clientId,
        servicePrincipalCertificate: `${pems.cert}\n${pems.private}`,
        tenantid: azure.tenantId,
        authenticationType: "spnCertificate",
      },
      data,
    },
    env: {},
    secrets: keyBody.filter((line) => line.length >= 40),
  });

  connections.set("managedIdentity", {
    endpoint: {
      id: randomUUID(),
      url: armUrl,
      scheme: "ManagedServiceIdentity",
      parameters: { tenantid: azure.tenantId },
      data: { ...data, msiclientId: azure.managedIdentityClientId },
    },
    env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: azure.imdsUrl },
    secrets: [],
  });

  const wifSp = { clientId: randomUUID() };
  azure.addServicePrincipal(wifSp);
  const wifId = randomUUID();
  azure.addFederatedCredential({ clientId: wifSp.clientId, issuer: azure.adoOidc.issuer, subject: azure.adoOidc.subjectFor(wifId) });
  connections.set("workloadIdentity", {
    endpoint: {
      id: wifId,
      url: armUrl,
      scheme: "WorkloadIdentityFederation",
      parameters: {
        serviceprincipalid: wifSp.clientId,
        tenantid: azure.tenantId,
        workloadIdentityFederationIssuer: azure.adoOidc.issuer,
        workloadIdentityFederationSubject: azure.adoOidc.subjectFor(wifId),
      },
      data,
    },
    systemAccessToken: azure.adoOidc.systemAccessToken,
    env: { SYSTEM_OIDCREQUESTURI: azure.adoOidc.requestUri },
    secrets: [azure.adoOidc.systemAccessToken],
  });
  for (const clientId of [secretSp.clientId, certSp.clientId, azure.managedIdentityClientId, wifSp.clientId]) {
    assignRole(azure.store, {
      principalId: azure.objectIdOf(clientId)!,
      roleDefinitionId: OWNER_ROLE,
      scope: `/subscriptions/${azure.subscriptionId}`,
    });
  }
  return connections;
}
