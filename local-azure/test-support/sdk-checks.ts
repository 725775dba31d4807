/**
 * Runs in a child process (NODE_EXTRA_CA_CERTS = the local Azure's certificate) so the real clients trust the
 * server the way task processes will. Prints one JSON object with what each client observed.
 */
import { AzurePipelinesCredential, ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential } from "@azure/identity";
import type { TokenCredential } from "@azure/identity";
import { createContainerService } from "@azure/arm-containerservice/api";
import { createOrUpdate, get } from "@azure/arm-containerservice/api/managedClusters";

export interface SdkCheckInput {
  url: string;
  tenantId: string;
  subscriptionId: string;
  armAudience: string;
  secretClient: { clientId: string; clientSecret: string };
  certificateClient: { clientId: string; certificatePem: string };
  federatedClient: { clientId: string; serviceConnectionId: string; systemAccessToken: string };
  resourceGroup: string;
  cluster: string;
  busyCluster: string;
  throttledCluster: string;
}

export interface SdkCheckOutput {
  tokens: Record<string, { ok: boolean; audience?: string; error?: string }>;
  wrongSecret?: string;
  getETag?: string;
  putProvisioningState?: string;
  putAuthorizedIpRanges?: string[];
  afterPutETag?: string;
  staleIfMatch?: { status?: number; code?: string };
  busy?: { status?: number; code?: string; message?: string };
  throttledName?: string;
}

function audienceOf(token: string): string | undefined {
  const payload = token.split(".")[1];
  return payload ? (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { aud?: string }).aud : undefined;
}

function restError(err: unknown): { status?: number; code?: string; message?: string } {
  const e = err as { statusCode?: number; code?: string; message?: string };
  return {
    ...(e.statusCode !== undefined ? { status: e.statusCode } : {}),
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.message !== undefined ? { message: e.message } : {}),
  };
}

async function main(): Promise<void> {
  const input = JSON.parse(process.env["LOCAL_AZURE_CHECK"] ?? "{}") as SdkCheckInput;
  const common = { authorityHost: input.url, disableInstanceDiscovery: true };
  const scope = `${input.armAudience}/.default`;
  const credentials: Record<string, TokenCredential> = {
    clientSecret: new ClientSecretCredential(input.tenantId, input.secretClient.clientId, input.secretClient.clientSecret, common),
    clientCertificate: new ClientCertificateCredential(
      input.tenantId,
      input.certificateClient.clientId,
      { certificate: input.certificateClient.certificatePem },
      common,
    ),
    managedIdentity: new ManagedIdentityCredential(),
    azurePipelines: new AzurePipelinesCredential(
      input.tenantId,
      input.federatedClient.clientId,
      input.federatedClient.serviceConnectionId,
      input.federatedClient.systemAccessToken,
      common,
    ),
  };
  const out: SdkCheckOutput = { tokens: {} };
  for (const [name, credential] of Object.entries(credentials)) {
    try {
      const token = await credential.getToken(scope);
      if (!token) throw new Error("no token");
      const audience = audienceOf(token.token);
      out.tokens[name] = { ok: true, ...(audience ? { audience } : {}) };
    } catch (err) {
      out.tokens[name] = { ok: false, error: (err as Error).message };
    }
  }
  try {
    await new ClientSecretCredential(input.tenantId, input.secretClient.clientId, "not-the-secret", common).getToken(scope);
  } catch (err) {
    out.wrongSecret = (err as Error).message;
  }

  const client = createContainerService(credentials["clientSecret"] as TokenCredential, input.subscriptionId, {
    endpoint: input.url,
    credentials: { scopes: [scope] },
  });
  const cluster = await get(client, input.resourceGroup, input.cluster);
  if (cluster.eTag) out.getETag = cluster.eTag;
  // The modular SDK flattens ARM's `properties` onto the model.
  const desired = { ...cluster, apiServerAccessProfile: { ...cluster.apiServerAccessProfile, authorizedIPRanges: ["198.51.100.0/24"] } };
  const updated = await createOrUpdate(client, input.resourceGroup, input.cluster, desired, {
    ifMatch: cluster.eTag,
    updateIntervalInMs: 10,
  });
  if (updated.provisioningState) out.putProvisioningState = updated.provisioningState;
  if (updated.apiServerAccessProfile?.authorizedIPRanges) out.putAuthorizedIpRanges = updated.apiServerAccessProfile.authorizedIPRanges;
  if (updated.eTag) out.afterPutETag = updated.eTag;

  try {
    await createOrUpdate(client, input.resourceGroup, input.cluster, desired, { ifMatch: cluster.eTag, updateIntervalInMs: 10 });
  } catch (err) {
    out.staleIfMatch = restError(err);
  }

  const busy = await get(client, input.resourceGroup, input.busyCluster);
  try {
    await createOrUpdate(client, input.resourceGroup, input.busyCluster, busy, { ifMatch: busy.eTag, updateIntervalInMs: 10 });
  } catch (err) {
    out.busy = restError(err);
  }

  const throttled = await get(client, input.resourceGroup, input.throttledCluster);
  if (throttled.name) out.throttledName = throttled.name;

  process.stdout.write(JSON.stringify(out));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
