import * as tl from "azure-pipelines-task-lib/task";
import { FeatureClient } from "@azure/arm-features";
import { readTogether, type AzureClients } from "../../core/azure";
import { clusterClient, describeCluster, idOfCluster, readCluster, updateCluster, type ManagedCluster } from "../../core/cluster";
import { azureErrorDetails, describeFailure, TaskError } from "../../core/errors";
import { identityClient, readUserAssignedIdentity, type IdentityReference, type UserAssignedIdentity } from "../../core/identity";
import type { CallerPermissions } from "../../core/permissions";
import { applyRoleGrant, readRoleGrant, type RoleGrantPlan } from "../../core/roles";
import { backoffMs, formatDuration } from "../../core/wait-budget";
import type { EnablePodIdentityRequest } from "./inputs";
import {
  credentialFor,
  isFailed,
  planEnablePodIdentity,
  planFederatedCredential,
  plannedWrites,
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
  type PodIdentityEntry,
} from "./plan";

const CREDENTIALS_PERMISSION = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";
/** How long a pod identity that AKS could not assign for want of the new grant is written again. */
const ROLE_PROPAGATION_TIMEOUT_MS = 5 * 60_000;

function bindingIn(cluster: ManagedCluster, want: { podIdentityName: string; namespace: string }): PodIdentityEntry | undefined {
  return cluster.podIdentityProfile?.userAssignedIdentities?.find((e) => e.name === want.podIdentityName && e.namespace === want.namespace);
}

/**
 * Why AKS reports a pod identity Failed. Without the grant in effect, AKS's attempt to attach the
 * identity to the nodes is refused with LinkedAuthorizationFailed on
 * Microsoft.ManagedIdentity/userAssignedIdentities/assign/action (the shape in aad-pod-identity#585 and
 * secrets-store-csi-driver-provider-azure#66): that is the grant still propagating.
 */
function bindingFailure(entry: PodIdentityEntry): { code: string; text: string; propagation: boolean } {
  return describeRefusal(entry.provisioningInfo?.error?.error?.code, entry.provisioningInfo?.error?.error?.message);
}

/**
 * A cluster write AKS refused because the control-plane identity may not assign the identity yet:
 * 400 "Cluster identity has no assignment permission over identity '...'. Please grant at least
 * 'Managed Identity Operator' permission before assigning pod identity." (Azure/AKS#2943).
 */
function assignPermissionRefusal(error: unknown): { code: string; text: string; propagation: boolean } | undefined {
  if (!(error instanceof TaskError) || error.cause === undefined) return undefined;
  const { status, code, message } = azureErrorDetails(error.cause);
  if (status !== 400 || !/no assignment permission over identity|Managed Identity Operator/i.test(message)) return undefined;
  return describeRefusal(code ?? "BadRequest", message);
}

function describeRefusal(
  rawCode: string | undefined,
  rawMessage: string | undefined,
): { code: string; text: string; propagation: boolean } {
  const code = rawCode ?? "no error code";
  const message = (rawMessage ?? "AKS gave no details").split(/\r?\n/)[0]!.slice(0, 600);
  const propagation =
    /AuthorizationFailed$/i.test(code) ||
    /userAssignedIdentities\/(\*\/)?assign\/action|no assignment permission over identity/i.test(message);
  return { code, text: `${code}: ${message}`, propagation };
}

/**
 * Everything the plan needs, read before anything is written. Reads that do not depend on each
 * other go out together: the identity, the cluster and the federated credentials (or the preview
 * feature) first; then the role assignments, which need the identity's principal and the cluster's.
 * The writes the first reads already show (the cluster, the credential) get their permission lists
 * read in that second round too, instead of a round of their own.
 */
export async function readCurrentState(
  clients: AzureClients,
  request: EnablePodIdentityRequest,
  permissions: CallerPermissions,
): Promise<CurrentState> {
  const [identity, cluster, credentials, featureState] = await readTogether([
    readUserAssignedIdentity(clients, request.identity),
    readCluster(clusterClient(clients), request),
    request.mode === "workloadIdentity" ? readCredentials(clients, request.identity) : undefined,
    request.mode === "podIdentity" ? readPodIdentityFeatureState(clients) : undefined,
  ]);
  const state: CurrentState = { identity, cluster, grants: [] };
  if (credentials) state.credentials = credentials;
  if (featureState !== undefined) state.podIdentityFeatureState = featureState;
  permissions.prefetch(
    plannedWrites(planEnablePodIdentity(request, state), idOfCluster(cluster, request.connection.subscriptionId, request), identity),
  );
  state.grants = await readTogether(
    wantedGrants(request, identity, cluster, request.connection.subscriptionId).map((grant) => readRoleGrant(clients, grant)),
  );
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
        permission: "Microsoft.Features/providers/features/read",
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
      if (outcomes[i]!.outcome === "created") written = true;
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
      const options = {
        plan: (current: ManagedCluster) => planPodIdentityCluster(want, current),
        apply: withPodIdentityProfile,
        dryRun: false,
        busyTimeoutMs: request.busyTimeoutMs,
      };
      // A grant made moments ago may not be in effect yet when AKS checks it: AKS then refuses the write
      // (400 "Cluster identity has no assignment permission over identity ...") or reports the pod
      // identity Failed. az waits 30 s after granting; here the write is tried again after a growing
      // pause while AKS says the permission is missing. Only the waits count against the bound, so a
      // loaded agent gets as many tries as a fast one.
      const name = `${want.namespace}/${want.podIdentityName}`;
      let waitedMs = 0;
      let applied = false;
      for (let attempt = 0; ; attempt++) {
        let refusal: { code: string; text: string; propagation: boolean } | undefined;
        try {
          const result = await updateCluster(
            clusterClient(clients),
            request,
            attempt === 0 ? { ...options, initial: state.cluster } : options,
          );
          written ||= result.written;
          cluster = result.after;
          // The summary shows the change as first applied (a later write only assigns it again).
          plan = applied
            ? { ...plan, clusterChange: plan.clusterChange || result.written }
            : { ...plan, podIdentity: result.plan, clusterChange: result.written };
          applied = true;
          const binding = bindingIn(cluster, want);
          if (!binding || !isFailed(binding)) break;
          refusal = bindingFailure(binding);
          if (!refusal.propagation) {
            throw new TaskError(
              `AKS could not assign the managed identity '${state.identity.name}' to the pod identity '${name}' on ${describeCluster(request)}: ${refusal.text}. Fix the cause (see the cluster's activity log) and re-run; the task writes a failed pod identity again.`,
            );
          }
        } catch (error) {
          refusal ??= assignPermissionRefusal(error);
          if (!refusal) throw error;
        }
        const waitMs = backoffMs(attempt, 5000, 60_000);
        if (waitedMs + waitMs > ROLE_PROPAGATION_TIMEOUT_MS) {
          throw new TaskError(
            `AKS still could not use the managed identity '${state.identity.name}' for the pod identity '${name}' after ${ROLE_PROPAGATION_TIMEOUT_MS / 60_000} min (${refusal.text}): the Managed Identity Operator grant for the cluster's control-plane identity has not taken effect. Check that the grant exists on the identity, wait a few minutes and re-run.`,
          );
        }
        console.log(
          `AKS could not use the managed identity '${state.identity.name}' for the pod identity '${name}' yet (${refusal.code}): the Managed Identity Operator grant has not propagated. Writing the pod identity again in ${formatDuration(waitMs)}.`,
        );
        waitedMs += waitMs;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
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
