import { clusterWrite, type ManagedCluster } from "../../core/cluster";
import { InputError, TaskError } from "../../core/errors";
import { describeChange } from "../../core/report";
import { isResourceGroupName } from "../../core/names";
import type { UserAssignedIdentity } from "../../core/identity";
import type { PlannedWrite } from "../../core/permissions";
import { roleGrantWrite, type RoleGrant, type RoleGrantPlan } from "../../core/roles";
import type { EnablePodIdentityRequest, IdentityMode } from "./inputs";

/** The preview feature the pod-identity add-on needs on the subscription (the article's `az feature register`). */
export const POD_IDENTITY_FEATURE = { namespace: "Microsoft.ContainerService", name: "EnablePodIdentityPreview" } as const;
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
/** Azure's limit of federated identity credentials per user-assigned managed identity. */
export const MAX_FEDERATED_CREDENTIALS = 20;

export type PodIdentityProfile = NonNullable<ManagedCluster["podIdentityProfile"]>;
export type PodIdentityEntry = NonNullable<PodIdentityProfile["userAssignedIdentities"]>[number];

export interface FederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

/** What was read from Azure before planning. */
export interface CurrentState {
  identity: UserAssignedIdentity;
  cluster: ManagedCluster;
  /** The role grants the request needs, each already compared with the assignments that exist. */
  grants: RoleGrantPlan[];
  /** workloadIdentity: the identity's federated credentials. */
  credentials?: FederatedCredential[];
  /** podIdentity: the subscription's registration state of the preview feature; undefined when it could not be read. */
  podIdentityFeatureState?: string;
}

/** The pod-identity add-on's part of the cluster. */
export interface PodIdentityClusterPlan {
  readonly empty: boolean;
  enableAddon: boolean;
  /** kubenet consent (allowNetworkPluginKubenet) set by this run. */
  setKubenetConsent: boolean;
  kubenet: boolean;
  entry: PodIdentityEntry;
  /**
   * `reassign`: the binding is there as wanted but AKS reports it Failed (e.g. it could not use the
   * identity because the Managed Identity Operator grant had not propagated yet): written again so
   * AKS assigns it again.
   */
  entryAction: "add" | "update" | "reassign" | "none";
  /** The pod identity of the same name and namespace before, when it is updated. */
  replaced?: PodIdentityEntry;
  /** The whole profile to write: every other pod identity and exception as it was. */
  profile: PodIdentityProfile;
  warnings: string[];
}

/** Workload ID's part of the cluster. */
export interface WorkloadClusterPlan {
  readonly empty: boolean;
  enableOidcIssuer: boolean;
  enableWorkloadIdentity: boolean;
  /** The issuer as read; unknown until the OIDC issuer is enabled. */
  issuerUrl?: string;
}

export interface FederatedCredentialPlan {
  readonly empty: boolean;
  action: "create" | "update" | "none";
  want: FederatedCredential;
  /** The credential of the same name before, when it is updated. */
  existing?: FederatedCredential;
  /** Another credential that already trusts the same issuer and subject. */
  coveredBy?: string;
  /** How many credentials the identity has before this run. */
  count: number;
}

export interface EnablePodIdentityPlan {
  readonly empty: boolean;
  mode: IdentityMode;
  /** True when the cluster itself must be written. */
  clusterChange: boolean;
  podIdentity?: PodIdentityClusterPlan;
  workload?: WorkloadClusterPlan;
  credential?: FederatedCredentialPlan;
  grants: RoleGrantPlan[];
  warnings: string[];
  notes: string[];
}

/** The add-on is deprecated: the warning gives the Workload ID inputs that replace this binding. */
export function deprecationWarning(request: Pick<EnablePodIdentityRequest, "namespace" | "bindingSelector" | "podIdentityName">): string {
  return (
    "The AAD pod-identity add-on is deprecated (its open-source project was archived on 2023-10-02) and gets no fixes. " +
    `To move to Microsoft Entra Workload ID, run this task with identityMode: workloadIdentity, the same identity and namespace '${request.namespace}', ` +
    `and serviceAccountName: <the service account the pods run as> instead of podIdentityName and bindingSelector; ` +
    `then annotate that service account with azure.workload.identity/client-id, give the pods the label azure.workload.identity/use: "true" ` +
    `instead of aadpodidbinding: ${request.bindingSelector}, and remove the pod identity '${request.podIdentityName}'.`
  );
}

export function subjectFor(namespace: string, serviceAccountName: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

/** The cluster's control-plane identity: the principal `az aks pod-identity add` makes Managed Identity Operator on the identity. */
export function controlPlanePrincipal(cluster: ManagedCluster): { principalId: string; description: string } {
  const identity = cluster.identity;
  const type = identity?.type?.toLowerCase();
  if (type === "systemassigned" && identity?.principalId) {
    return { principalId: identity.principalId, description: "the cluster's control-plane identity (system-assigned)" };
  }
  if (type === "userassigned") {
    const [resourceId, value] = Object.entries(identity?.userAssignedIdentities ?? {})[0] ?? [];
    if (value?.principalId) {
      return {
        principalId: value.principalId,
        description: `the cluster's control-plane identity (${resourceId?.split("/").pop() ?? "user-assigned"})`,
      };
    }
  }
  throw new TaskError(
    "The cluster has no managed identity (it uses a service principal), and the pod-identity add-on requires one. Move the cluster to a managed identity (az aks update --enable-managed-identity), or use identityMode: workloadIdentity.",
  );
}

/** The role grants a request needs, from the identity and the cluster as read. Pure. */
export function wantedGrants(
  request: Pick<EnablePodIdentityRequest, "mode" | "grantReaderOnNodeResourceGroup">,
  identity: UserAssignedIdentity,
  cluster: ManagedCluster,
  subscriptionId: string,
): RoleGrant[] {
  const grants: RoleGrant[] = [];
  if (request.mode === "podIdentity") {
    const operator = controlPlanePrincipal(cluster);
    grants.push({
      role: "Managed Identity Operator",
      scope: identity.resourceId,
      principalId: operator.principalId,
      principalDescription: operator.description,
      principalType: "ServicePrincipal",
    });
  }
  if (request.grantReaderOnNodeResourceGroup) {
    if (!cluster.nodeResourceGroup)
      throw new TaskError("The cluster reports no node resource group yet; re-run once it has finished provisioning.");
    // It becomes a segment of the role assignment's URL: a '.' or '..' from Azure would point it elsewhere.
    if (!isResourceGroupName(cluster.nodeResourceGroup))
      throw new TaskError(
        `The cluster reports the node resource group '${cluster.nodeResourceGroup}', which is not a valid resource group name; nothing was written.`,
      );
    grants.push({
      role: "Reader",
      scope: `/subscriptions/${subscriptionId}/resourceGroups/${cluster.nodeResourceGroup}`,
      principalId: identity.principalId,
      principalDescription: `the managed identity '${identity.name}'`,
      principalType: "ServicePrincipal",
    });
  }
  return grants;
}

export interface PodIdentityWant {
  podIdentityName: string;
  namespace: string;
  bindingSelector: string;
  allowKubenet: boolean;
  identity: UserAssignedIdentity;
}

/**
 * The add-on and the pod identity on the cluster as it is. Pure. Every other pod identity and every
 * exception is kept exactly as read; a pod identity of the same name and namespace bound to another
 * identity (or selector) is replaced in place.
 */
export function planPodIdentityCluster(want: PodIdentityWant, cluster: ManagedCluster): PodIdentityClusterPlan {
  controlPlanePrincipal(cluster);
  const current = cluster.podIdentityProfile ?? {};
  const kubenet = cluster.networkProfile?.networkPlugin?.toLowerCase() === "kubenet";
  const warnings: string[] = [];
  let setKubenetConsent = false;
  if (kubenet && current.allowNetworkPluginKubenet !== true) {
    if (!want.allowKubenet) {
      throw new InputError(
        "allowKubenet",
        "the cluster uses the kubenet network plugin, where the pod-identity add-on is exposed to ARP spoofing: a pod can intercept other pods' token requests and act as their identities. AKS refuses the add-on on kubenet without consent. Use identityMode: workloadIdentity (recommended), move the cluster to Azure CNI, or set allowKubenet: true to accept the risk.",
      );
    }
    setKubenetConsent = true;
  }
  if (kubenet) {
    warnings.push(
      "The cluster uses kubenet: with the pod-identity add-on, a pod that has the NET_RAW capability can ARP-spoof and obtain tokens of other pods' identities. Drop NET_RAW from workloads (e.g. with AssignAksPolicies) or move to Workload ID.",
    );
  }

  const entry: PodIdentityEntry = {
    name: want.podIdentityName,
    namespace: want.namespace,
    bindingSelector: want.bindingSelector,
    identity: { resourceId: want.identity.resourceId, clientId: want.identity.clientId, objectId: want.identity.principalId },
  };
  const entries = current.userAssignedIdentities ?? [];
  const index = entries.findIndex((e) => e.name === entry.name && e.namespace === entry.namespace);
  const existing = index >= 0 ? entries[index] : undefined;
  const entryAction = !existing ? "add" : !sameEntry(existing, entry) ? "update" : isFailed(existing) ? "reassign" : "none";
  const userAssignedIdentities =
    entryAction === "add" ? [...entries, entry] : entryAction === "update" ? entries.map((e, i) => (i === index ? entry : e)) : entries;

  const enableAddon = current.enabled !== true;
  const profile: PodIdentityProfile = {
    ...current,
    enabled: true,
    ...(kubenet ? { allowNetworkPluginKubenet: true } : {}),
    userAssignedIdentities,
    // As aks-preview does (_fill_defaults_for_pod_identity_exceptions): AKS answers an exception whose
    // podLabels was {} with null, and a PUT that sends that null back is refused.
    userAssignedIdentityExceptions: (current.userAssignedIdentityExceptions ?? []).map((exception) =>
      exception.podLabels === null || exception.podLabels === undefined ? { ...exception, podLabels: {} } : exception,
    ),
  };
  return {
    empty: !enableAddon && !setKubenetConsent && entryAction === "none",
    enableAddon,
    setKubenetConsent,
    kubenet,
    entry,
    entryAction,
    ...(entryAction === "update" && existing ? { replaced: existing } : {}),
    profile,
    warnings,
  };
}

/** AKS could not assign the identity to the nodes; its provisioningInfo says why. */
export function isFailed(entry: PodIdentityEntry): boolean {
  return entry.provisioningState?.toLowerCase() === "failed";
}

function sameEntry(a: PodIdentityEntry, b: PodIdentityEntry): boolean {
  const lower = (text?: string) => text?.toLowerCase() ?? "";
  return (
    lower(a.identity.resourceId) === lower(b.identity.resourceId) &&
    lower(a.identity.clientId) === lower(b.identity.clientId) &&
    lower(a.identity.objectId) === lower(b.identity.objectId) &&
    (a.bindingSelector || a.name) === b.bindingSelector
  );
}

export function withPodIdentityProfile(cluster: ManagedCluster, plan: PodIdentityClusterPlan): ManagedCluster {
  return { ...cluster, podIdentityProfile: plan.profile };
}

/** The OIDC issuer and workload identity on the cluster as it is. Pure. */
export function planWorkloadCluster(cluster: ManagedCluster): WorkloadClusterPlan {
  const enableOidcIssuer = cluster.oidcIssuerProfile?.enabled !== true;
  const enableWorkloadIdentity = cluster.securityProfile?.workloadIdentity?.enabled !== true;
  const issuerUrl = cluster.oidcIssuerProfile?.enabled === true ? cluster.oidcIssuerProfile.issuerURL : undefined;
  return {
    empty: !enableOidcIssuer && !enableWorkloadIdentity,
    enableOidcIssuer,
    enableWorkloadIdentity,
    ...(issuerUrl ? { issuerUrl } : {}),
  };
}

/** Both switches in one write: AKS refuses workload identity without the OIDC issuer. */
export function withWorkloadIdentity(cluster: ManagedCluster): ManagedCluster {
  return {
    ...cluster,
    oidcIssuerProfile: { ...cluster.oidcIssuerProfile, enabled: true },
    securityProfile: { ...cluster.securityProfile, workloadIdentity: { ...cluster.securityProfile?.workloadIdentity, enabled: true } },
  };
}

/**
 * The federated credential against the identity's credentials. Pure. A credential of another name that
 * already trusts the same issuer and subject does the job (Azure refuses a second one). A new credential
 * over Azure's limit of 20 fails here, before any write.
 */
export function planFederatedCredential(
  want: FederatedCredential,
  existing: readonly FederatedCredential[],
  identityName: string,
): FederatedCredentialPlan {
  const count = existing.length;
  const sameName = existing.find((c) => c.name.toLowerCase() === want.name.toLowerCase());
  const sameTrust = existing.find((c) => c.issuer === want.issuer && c.subject === want.subject);
  if (sameTrust && sameTrust !== sameName) {
    if (!sameTrust.audiences.includes(want.audiences[0]!)) {
      throw new TaskError(
        `The federated credential '${sameTrust.name}' on the managed identity '${identityName}' trusts the same issuer and subject but not the audience ${want.audiences[0]}, and Azure allows one credential per issuer and subject. Set its audience to ${want.audiences[0]} or delete it, then re-run.`,
      );
    }
    return { empty: true, action: "none", want, coveredBy: sameTrust.name, count };
  }
  if (sameName) {
    const same =
      sameName.issuer === want.issuer && sameName.subject === want.subject && sameName.audiences.join(",") === want.audiences.join(",");
    return same ? { empty: true, action: "none", want, count } : { empty: false, action: "update", want, existing: sameName, count };
  }
  if (count >= MAX_FEDERATED_CREDENTIALS) {
    throw new TaskError(
      `The managed identity '${identityName}' already has ${count} federated identity credentials, Azure's limit per identity, so '${want.name}' cannot be added. Delete one it no longer needs (az identity federated-credential delete --identity-name ${identityName} ...), or use another identity for this service account.`,
    );
  }
  return { empty: false, action: "create", want, count };
}

export function credentialFor(
  request: Pick<EnablePodIdentityRequest, "federatedCredentialName" | "namespace" | "serviceAccountName">,
  issuerUrl: string,
): FederatedCredential {
  return {
    name: request.federatedCredentialName,
    issuer: issuerUrl,
    subject: subjectFor(request.namespace, request.serviceAccountName),
    audiences: [TOKEN_EXCHANGE_AUDIENCE],
  };
}

/**
 * The whole run's plan. Pure. Fails (before any write) when the cluster cannot take the change or the
 * subscription lacks the preview feature the add-on needs.
 */
export function planEnablePodIdentity(request: EnablePodIdentityRequest, state: CurrentState): EnablePodIdentityPlan {
  const warnings: string[] = [];
  const notes: string[] = [];
  const plan = { mode: request.mode, grants: state.grants, warnings, notes };
  const grantsEmpty = state.grants.every((g) => g.empty);
  for (const grant of state.grants) {
    if (grant.empty && grant.existing && grant.existing.scope.toLowerCase() !== grant.grant.scope.toLowerCase()) {
      notes.push(`'${grant.grant.role}' for ${grant.grant.principalDescription} is inherited from ${grant.existing.scope}.`);
    }
  }

  if (request.mode === "podIdentity") {
    const podIdentity = planPodIdentityCluster(
      {
        podIdentityName: request.podIdentityName,
        namespace: request.namespace,
        bindingSelector: request.bindingSelector,
        allowKubenet: request.allowKubenet,
        identity: state.identity,
      },
      state.cluster,
    );
    warnings.push(...podIdentity.warnings, deprecationWarning(request));
    if (podIdentity.replaced) {
      warnings.push(
        describeChange(request.dryRun, {
          done: `The pod identity '${request.namespace}/${request.podIdentityName}' was bound to ${describeEntry(podIdentity.replaced)}; it is now bound to the managed identity '${state.identity.name}'. Pods selecting it get the new identity's tokens.`,
          planned: `The pod identity '${request.namespace}/${request.podIdentityName}' is bound to ${describeEntry(podIdentity.replaced)}; a real run would bind it to the managed identity '${state.identity.name}', and pods selecting it would get the new identity's tokens.`,
        }),
      );
    }
    if (podIdentity.entryAction === "reassign") {
      notes.push(
        `AKS reports the pod identity '${request.namespace}/${request.podIdentityName}' Failed; ${describeChange(request.dryRun, { done: "it is written again", planned: "a real run would write it again" })} so AKS assigns the identity again.`,
      );
    }
    if (!podIdentity.empty) checkPodIdentityFeature(state.podIdentityFeatureState, request.connection.subscriptionId, warnings);
    return { ...plan, empty: podIdentity.empty && grantsEmpty, clusterChange: !podIdentity.empty, podIdentity };
  }

  const workload = planWorkloadCluster(state.cluster);
  // Without an issuer yet (OIDC off), no existing credential can trust it: planning against an empty
  // issuer still finds a name clash or the 20-credential limit before the cluster is written.
  const credential = planFederatedCredential(
    credentialFor(request, workload.issuerUrl ?? ""),
    state.credentials ?? [],
    state.identity.name,
  );
  if (credential.coveredBy) {
    notes.push(
      `The federated credential '${credential.coveredBy}' already trusts ${credential.want.subject} from this cluster's issuer; '${request.federatedCredentialName}' is not created.`,
    );
  }
  if (credential.action === "update" && credential.existing && workload.issuerUrl) {
    warnings.push(
      describeChange(request.dryRun, {
        done: `The federated credential '${credential.existing.name}' trusted ${credential.existing.subject} from ${credential.existing.issuer}; it now trusts ${credential.want.subject} from this cluster's issuer.`,
        planned: `The federated credential '${credential.existing.name}' trusts ${credential.existing.subject} from ${credential.existing.issuer}; a real run would make it trust ${credential.want.subject} from this cluster's issuer.`,
      }),
    );
  }
  return {
    ...plan,
    empty: workload.empty && credential.empty && grantsEmpty,
    clusterChange: !workload.empty,
    workload,
    credential,
  };
}

function checkPodIdentityFeature(state: string | undefined, subscriptionId: string, warnings: string[]): void {
  const { namespace, name } = POD_IDENTITY_FEATURE;
  if (state === undefined) {
    warnings.push(
      `Could not read whether the subscription has registered the preview feature ${namespace}/${name} (the service connection may lack Microsoft.Features/providers/features/read); AKS refuses the add-on without it.`,
    );
    return;
  }
  if (state.toLowerCase() === "registered") return;
  throw new TaskError(
    `The pod-identity add-on needs the preview feature ${namespace}/${name} on subscription ${subscriptionId}, and its state is ${state}. Register it with 'az feature register --namespace ${namespace} --name ${name}', wait until 'az feature show --namespace ${namespace} --name ${name}' says Registered, run 'az provider register --namespace ${namespace}', then re-run this task.`,
  );
}

function describeEntry(entry: PodIdentityEntry): string {
  const name = entry.identity.resourceId?.split("/").pop() ?? entry.identity.clientId ?? "another identity";
  return `the managed identity '${name}'${entry.bindingSelector && entry.bindingSelector !== entry.name ? ` (selector ${entry.bindingSelector})` : ""}`;
}

/** The writes the plan makes: the cluster, the federated credential (at its identity) and each missing role grant. */
export function plannedWrites(plan: EnablePodIdentityPlan, clusterId: string, identity: UserAssignedIdentity): PlannedWrite[] {
  const credential = plan.credential;
  return [
    ...(plan.clusterChange
      ? [
          clusterWrite(
            clusterId,
            plan.mode === "podIdentity"
              ? "turn on the pod-identity add-on and write the pod identity"
              : "turn on the OIDC issuer and workload identity",
          ),
        ]
      : []),
    ...(credential && !credential.empty
      ? [
          {
            action: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
            scope: identity.resourceId,
            purpose: `${credential.action} the federated credential '${credential.want.name}'`,
          },
        ]
      : []),
    ...plan.grants.filter((g) => !g.empty).map(roleGrantWrite),
  ];
}
