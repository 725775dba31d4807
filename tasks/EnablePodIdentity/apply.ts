import * as tl from "azure-pipelines-task-lib/task";
import { FeatureClient } from "@azure/arm-features";
import { readTogether, type AzureClients } from "../../core/azure";
import { clusterClient, describeCluster, readCluster, updateCluster, type ManagedCluster } from "../../core/cluster";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import { identityClient, readUserAssignedIdentity, type IdentityReference, type UserAssignedIdentity } from "../../core/identity";
import { applyRoleGrant, readRoleGrant, type RoleGrantPlan } from "../../core/roles";
import type { EnablePodIdentityRequest } from "./inputs";
import {
  credentialFor,
  planFederatedCredential,
  planPodIdentityCluster,
  planWorkloadCluster,
  POD_IDENTITY_FEATURE,
  wantedGrants,
  withPodIdentityProfile,
  withWorkloadIdentity,
  type CurrentState,
  type EnablePodIdentityPlan,
  type FederatedCredential,
  type FederatedCredentialPlan,
} from "./plan";

const CREDENTIALS_PERMISSION = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";

/**
 * Everything the plan needs, read before anything is written. Reads that do not depend on each
 * other go out together: the identity, the cluster and the federated credentials (or the preview
 * feature) first; then the role assignments, which need the identity's principal and the cluster's.
 */
export async function readCurrentState(clients: AzureClients, request: EnablePodIdentityRequest): Promise<CurrentState> {
  const [identity, cluster, credentials, featureState] = await readTogether([
    readUserAssignedIdentity(clients, request.identity),
    readCluster(clusterClient(clients), request),
    request.mode === "workloadIdentity" ? readCredentials(clients, request.identity) : undefined,
    request.mode === "podIdentity" ? readPodIdentityFeatureState(clients) : undefined,
  ]);
  const grants = await readTogether(
    wantedGrants(request, identity, cluster, request.connection.subscriptionId).map((grant) => readRoleGrant(clients, grant)),
  );
  const state: CurrentState = { identity, cluster, grants };
  if (credentials) state.credentials = credentials;
  if (featureState !== undefined) state.podIdentityFeatureState = featureState;
  return state;
}

async function readCredentials(clients: AzureClients, identity: IdentityReference): Promise<FederatedCredential[]> {
  const credentials: FederatedCredential[] = [];
  try {
    const list = identityClient(clients, identity.subscriptionId).federatedIdentityCredentials.list(
      identity.resourceGroupName,
      identity.name,
    );
    for await (const c of list) {
      credentials.push({ name: c.name ?? "", issuer: c.issuer ?? "", subject: c.subject ?? "", audiences: c.audiences ?? [] });
    }
  } catch (error) {
    throw new TaskError(
      describeFailure(error, {
        action: `read the federated credentials of the managed identity '${identity.name}'`,
        permission: `${CREDENTIALS_PERMISSION}/read`,
      }),
    );
  }
  return credentials;
}

/** The subscription's registration of the add-on's preview feature; undefined when the connection may not read it. */
async function readPodIdentityFeatureState(clients: AzureClients): Promise<string | undefined> {
  try {
    const feature = await featureClient(clients).features.get(POD_IDENTITY_FEATURE.namespace, POD_IDENTITY_FEATURE.name);
    return feature.properties?.state ?? "NotRegistered";
  } catch (error) {
    const { status, code, message } = azureErrorDetails(error);
    if (status === 403 || code === "AuthorizationFailed") {
      tl.debug(`Feature state not readable: ${message}`);
      return undefined;
    }
    throw new TaskError(
      describeFailure(error, {
        action: `read the preview feature ${POD_IDENTITY_FEATURE.namespace}/${POD_IDENTITY_FEATURE.name}`,
        permission: "Microsoft.Features/features/read",
      }),
    );
  }
}

export interface ApplyResult {
  /** The plan as finally applied (re-planned when the cluster changed meanwhile). */
  plan: EnablePodIdentityPlan;
  cluster: ManagedCluster;
  written: boolean;
}

/**
 * Writes what the plan says, in the order `az` does it: the control-plane identity becomes Managed
 * Identity Operator on the identity before the add-on is told to use it; the federated credential
 * follows the cluster write that gives it its issuer.
 */
export async function applyPlan(
  clients: AzureClients,
  request: EnablePodIdentityRequest,
  state: CurrentState,
  plan: EnablePodIdentityPlan,
): Promise<ApplyResult> {
  let written = false;
  let cluster = state.cluster;
  // Role assignments are independent of each other: made together.
  const grantAll = async (grants: RoleGrantPlan[]) => {
    const missing = grants.filter((g) => !g.empty);
    const outcomes = await Promise.all(missing.map((grant) => applyRoleGrant(clients, grant)));
    missing.forEach((grant, i) => {
      if (outcomes[i] === "created") written = true;
      else plan.notes.push(`'${grant.grant.role}' for ${grant.grant.principalDescription} already existed under another assignment name.`);
    });
  };

  if (plan.mode === "podIdentity") {
    await grantAll(plan.grants.filter((g) => g.grant.role === "Managed Identity Operator"));
    if (plan.clusterChange) {
      const want = {
        podIdentityName: request.podIdentityName,
        namespace: request.namespace,
        bindingSelector: request.bindingSelector,
        allowKubenet: request.allowKubenet,
        identity: state.identity,
      };
      const result = await updateCluster(clusterClient(clients), request, {
        initial: state.cluster,
        plan: (current) => planPodIdentityCluster(want, current),
        apply: withPodIdentityProfile,
        dryRun: false,
        busyTimeoutMs: request.busyTimeoutMs,
      });
      written ||= result.written;
      cluster = result.after;
      plan = { ...plan, podIdentity: result.plan, clusterChange: result.written };
    }
    // After the cluster write, so that a cluster update that fails leaves the other grants as they were.
    await grantAll(plan.grants.filter((g) => g.grant.role !== "Managed Identity Operator"));
    return { plan, cluster, written };
  }

  if (plan.clusterChange) {
    const result = await updateCluster(clusterClient(clients), request, {
      initial: state.cluster,
      plan: planWorkloadCluster,
      apply: (current) => withWorkloadIdentity(current),
      dryRun: false,
      busyTimeoutMs: request.busyTimeoutMs,
    });
    written ||= result.written;
    cluster = result.after;
    plan = { ...plan, clusterChange: result.written };
  }
  const issuerUrl = cluster.oidcIssuerProfile?.issuerURL;
  if (!issuerUrl) {
    throw new TaskError(`${describeCluster(request)} has the OIDC issuer enabled but reports no issuer URL yet; re-run in a few minutes.`);
  }
  // plan.workload stays the plan made before the write: the summary shows the cluster before → after.
  plan = { ...plan, workload: plan.workload ? { ...plan.workload, issuerUrl } : planWorkloadCluster(cluster) };
  // The issuer may be new: plan the credential against it (the list read before the write still holds).
  const credential = planFederatedCredential(credentialFor(request, issuerUrl), state.credentials ?? [], state.identity.name);
  plan = { ...plan, credential };
  // The credential and the grants do not depend on each other: written together.
  await Promise.all([
    credential.empty ? undefined : writeCredential(clients, state.identity, credential).then(() => (written = true)),
    grantAll(plan.grants),
  ]);
  return { plan, cluster, written };
}

async function writeCredential(clients: AzureClients, identity: UserAssignedIdentity, plan: FederatedCredentialPlan): Promise<void> {
  const { name, issuer, subject, audiences } = plan.want;
  try {
    await identityClient(clients, identity.subscriptionId).federatedIdentityCredentials.createOrUpdate(
      identity.resourceGroupName,
      identity.name,
      name,
      {
        issuer,
        subject,
        audiences,
      },
    );
  } catch (error) {
    throw new TaskError(
      describeFailure(error, {
        action: `${plan.action} the federated credential '${name}' on the managed identity '${identity.name}'`,
        permission: `${CREDENTIALS_PERMISSION}/write`,
      }),
    );
  }
}

/** Preview-feature registrations (AFEC) of the connection's subscription. */
function featureClient(clients: AzureClients): FeatureClient {
  return clients.client(
    "features",
    () => new FeatureClient(clients.credential, clients.connection.subscriptionId, clients.classicArmOptions()),
  );
}
