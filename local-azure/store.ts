import type { Directory } from "./directory";
import type { FaultInjector, OperationOutcome } from "./faults";
import { newGuid } from "./jwt";
import { Pending } from "./pending";
import type { ArmResource } from "./resources/arm-resource";
import { defaultKeyVault, KEY_VAULT_TYPE, keyVaultId, newSecretVersion, VAULT_SECRET_TYPE } from "./resources/key-vault";
import type { AccessPolicyEntry, SecretVersion, VaultNetworkAcls, VaultSecretRecord } from "./resources/key-vault";
import { defaultManagedCluster, managedClusterId } from "./resources/managed-cluster";
import { composeAssignment, evaluatePolicies, policyAssignmentId, type PolicyStateRecord } from "./resources/policy";
import { builtInPolicyCatalogue } from "./resources/policy-catalogue";
import type { DeepPartial } from "./resources/merge";
import { deepMerge } from "./resources/merge";

export type { ArmResource };

export type OperationStatus = "InProgress" | "Succeeded" | "Failed" | "Canceled";

/**
 * The 409 code a write on a resource gets while an operation runs on it. AKS answers
 * OperationNotAllowed, or EtagMismatch for the same situation (terraform-provider-azapi#889,
 * Azure/terraform-azurerm-aks#604).
 */
export type BusyCode = "OperationNotAllowed" | "EtagMismatch";

/** A long-running operation, as served at `.../providers/{ns}/locations/{location}/operations/{id}`. */
export interface Operation {
  id: string;
  resourceId: string;
  providerNamespace: string;
  location: string;
  /** Words AKS uses in its 409: "update managed cluster", "create managed cluster", ... */
  description: string;
  status: OperationStatus;
  startTime: Date;
  endTime?: Date;
  error?: { code: string; message: string };
  /**
   * Runs until this ends: status polls that answer InProgress and writes refused because of it are
   * its observations; a test may also release it. Never ends by elapsed time (see Pending).
   */
  pending: Pending;
  /** What a write on the resource gets while it runs. */
  busyCode: BusyCode;
  outcome?: OperationOutcome;
  /** Runs when the operation succeeds: makes the requested state visible. */
  onSucceeded?: () => void;
}

export interface StoreOptions {
  subscriptionId: string;
  tenantId: string;
  directory: Directory;
  faults: FaultInjector;
  operationPolls: number;
  defaultLocation: string;
}

/** Azure's limit of federated identity credentials on one user-assigned managed identity. */
export const MAX_FEDERATED_CREDENTIALS = 20;
export const FEDERATED_CREDENTIAL_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";
export type FeatureState = "NotRegistered" | "Registering" | "Registered" | "Unregistering" | "Unregistered" | "Pending";

const key = (id: string) => id.toLowerCase().replace(/\/+$/, "");

/**
 * The one resource store: ARM resources by id (case-insensitive, as ARM ids are), their eTags, and the
 * long-running operations running on them. Typed helpers for the resource kinds tests set up.
 */
export class ResourceStore {
  private readonly resources = new Map<string, ArmResource>();
  private readonly operations = new Map<string, Operation>();
  /** Latest policy compliance states by resource id, as the Azure Policy add-on last reported them. */
  private readonly policyStates = new Map<string, PolicyStateRecord[]>();
  /**
   * How many writes of a secret Key Vault refuses (409 ObjectIsBeingRecovered) right after it was
   * recovered, before the recovery settles. Real vaults do this for a while after a recover reports
   * done (azure-sdk-for-net#31581, terraform-provider-azurerm#12285); here the test sets how many, so
   * the spell ends by the task's own retries, not by time. Default 0.
   */
  secretRecoveryConflicts = 0;
  /**
   * How many authorization checks a new role assignment is not yet seen by: AKS assigning a pod
   * identity to the nodes, or the API server's Azure RBAC webhook answering a review. Role assignments
   * take effect late (up to about 10 minutes, Azure RBAC docs "Troubleshoot Azure RBAC"; "New role
   * assignments can take up to five minutes to propagate and be updated by the authorization server",
   * AKS docs entra-id-authorization.md), which is why `az aks pod-identity add` waits 30 s after its
   * Managed Identity Operator grant (aks-preview, _ensure_managed_identity_operator_permission). Each
   * new assignment gets a Pending observed by those checks; Infinity keeps it pending until the test
   * releases it (`roleAssignmentPropagation`). Default 0: in effect at once.
   */
  roleAssignmentPropagationChecks = 0;
  /** New role assignments (by id) that checks do not see yet. */
  private readonly unpropagated = new Map<string, Pending>();
  private lastTime = 0;

  constructor(private readonly options: StoreOptions) {
    for (const definition of builtInPolicyCatalogue()) this.put(definition);
  }

  get subscriptionId(): string {
    return this.options.subscriptionId;
  }

  get tenantId(): string {
    return this.options.tenantId;
  }

  get directory(): Directory {
    return this.options.directory;
  }

  // ---- generic ----

  put<T extends ArmResource>(resource: T): T {
    const copy = structuredClone(resource);
    this.resources.set(key(resource.id), copy);
    return structuredClone(copy);
  }

  get<T extends ArmResource = ArmResource>(id: string): T | undefined {
    const found = this.resources.get(key(id));
    return found === undefined ? undefined : (structuredClone(found) as T);
  }

  /** Direct children of `parentId` (e.g. a resource group id), optionally of one type. */
  list(parentId: string, type?: string): ArmResource[] {
    const prefix = `${key(parentId)}/`;
    return [...this.resources.entries()]
      .filter(([k, r]) => k.startsWith(prefix) && (type === undefined || r.type.toLowerCase() === type.toLowerCase()))
      .map(([, r]) => structuredClone(r));
  }

  /** Every resource of a type, wherever it lives (extension resources such as role assignments). */
  listByType(type: string): ArmResource[] {
    return [...this.resources.values()].filter((r) => r.type.toLowerCase() === type.toLowerCase()).map((r) => structuredClone(r));
  }

  delete(id: string): boolean {
    const k = key(id);
    let removed = this.resources.delete(k);
    for (const child of [...this.resources.keys()]) if (child.startsWith(`${k}/`)) removed = this.resources.delete(child) || removed;
    return removed;
  }

  /** Simulates an outside change: bumps the resource's eTag so a PUT carrying the old If-Match gets 412. */
  touch(id: string): string {
    const found = this.resources.get(key(id));
    if (!found) throw new Error(`store.touch: no resource ${id}`);
    const etag = newGuid();
    if ("etag" in found) found["etag"] = etag;
    else found["eTag"] = etag;
    return etag;
  }

  /** The local Azure's clock: real time, but every reading later than the one before, so two changes never share a timestamp. */
  now(): Date {
    this.lastTime = Math.max(Date.now(), this.lastTime + 1);
    return new Date(this.lastTime);
  }

  // ---- long-running operations ----

  /**
   * Starts an operation on a resource. It answers InProgress to `polls` status polls (default: the
   * local Azure's operationPolls) and completes with the last of them; a write refused because of it
   * counts like a poll, so an operation whose client lost the URL (a lost answer) still ends.
   */
  beginOperation(p: {
    resourceId: string;
    providerNamespace: string;
    location: string;
    description: string;
    polls?: number;
    pending?: Pending;
    busyCode?: BusyCode;
    onSucceeded?: () => void;
  }): Operation {
    const op: Operation = {
      id: newGuid(),
      resourceId: p.resourceId,
      providerNamespace: p.providerNamespace,
      location: p.location,
      description: p.description,
      status: "InProgress",
      startTime: this.now(),
      pending: p.pending ?? new Pending({ observations: p.polls ?? this.options.operationPolls }),
      busyCode: p.busyCode ?? "OperationNotAllowed",
      ...(p.onSucceeded ? { onSucceeded: p.onSucceeded } : {}),
    };
    const outcome = this.options.faults.takeOperationOutcome(p.resourceId);
    if (outcome) op.outcome = outcome;
    this.operations.set(op.id.toLowerCase(), op);
    this.setProvisioningState(
      p.resourceId,
      p.description.startsWith("create") ? "Creating" : p.description.startsWith("delete") ? "Deleting" : "Updating",
    );
    op.pending.onEnd(() => this.finish(op));
    return op;
  }

  /**
   * Makes a resource busy, as if someone else had started an update: writes on it are refused (409
   * `busyCode`) `refusals` times, then the operation completes; without `refusals` it runs until the
   * test calls `release()` on the returned operation's `pending`.
   */
  startOperation(resourceId: string, p: { refusals?: number; busyCode?: BusyCode } = {}): Operation {
    const resource = this.get(resourceId);
    if (!resource) throw new Error(`store.startOperation: no resource ${resourceId}`);
    const providerNamespace = /\/providers\/([^/]+)\//i.exec(resource.id)?.[1] ?? "Microsoft.Resources";
    return this.beginOperation({
      resourceId: resource.id,
      providerNamespace,
      location: resource.location ?? this.options.defaultLocation,
      description: "update managed cluster",
      pending: new Pending(p.refusals === undefined ? {} : { observations: p.refusals }),
      ...(p.busyCode ? { busyCode: p.busyCode } : {}),
    });
  }

  /** The operation still running on a resource, if any. */
  activeOperation(resourceId: string): Operation | undefined {
    for (const op of this.operations.values()) if (op.status === "InProgress" && key(op.resourceId) === key(resourceId)) return op;
    return undefined;
  }

  /** The operation that refuses a write on the resource now, if any; the refusal counts towards its end. */
  refuseWrite(resourceId: string): Operation | undefined {
    const op = this.activeOperation(resourceId);
    if (!op) return undefined;
    const refusing = { ...op };
    op.pending.observe();
    return refusing;
  }

  /** One status poll: the operation as this poll sees it (InProgress polls count towards its end). */
  pollOperation(operationId: string): Operation | undefined {
    const op = this.operations.get(operationId.toLowerCase());
    if (!op || op.status !== "InProgress") return op;
    const seen = { ...op };
    op.pending.observe();
    return seen;
  }

  /**
   * Ends an operation. Succeeded applies the requested state. Failed/Canceled leave the previous spec in place and
   * set provisioningState to Failed/Canceled, as AKS shows after a failed or aborted update.
   */
  private finish(op: Operation): void {
    op.endTime = this.now();
    if (op.outcome) {
      op.status = op.outcome.status;
      op.error = op.outcome.error;
      this.setProvisioningState(op.resourceId, op.outcome.status);
      return;
    }
    op.status = "Succeeded";
    op.onSucceeded?.();
    this.setProvisioningState(op.resourceId, "Succeeded");
  }

  private setProvisioningState(resourceId: string, state: string): void {
    const found = this.resources.get(key(resourceId));
    if (!found?.properties) return;
    found.properties["provisioningState"] = state;
    if ("eTag" in found) found["eTag"] = newGuid();
  }

  // ---- typed helpers ----

  resourceGroupId(name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${name}`;
  }

  addResourceGroup(name: string, location = this.options.defaultLocation): ArmResource {
    return this.put({
      id: this.resourceGroupId(name),
      name,
      type: "Microsoft.Resources/resourceGroups",
      location,
      properties: { provisioningState: "Succeeded" },
    });
  }

  getResourceGroup(name: string): ArmResource | undefined {
    return this.get(this.resourceGroupId(name));
  }

  /** Adds a running cluster shaped like the spec's ManagedClustersGet example; creates the resource group when missing. */
  addManagedCluster(resourceGroup: string, name: string, overrides: DeepPartial<ArmResource> = {}): ArmResource {
    const group =
      this.getResourceGroup(resourceGroup) ??
      this.addResourceGroup(resourceGroup, (overrides.location as string | undefined) ?? this.options.defaultLocation);
    const base = defaultManagedCluster({
      subscriptionId: this.subscriptionId,
      tenantId: this.tenantId,
      resourceGroup: group.name,
      name,
      location: (overrides.location as string | undefined) ?? group.location ?? this.options.defaultLocation,
    });
    const cluster = deepMerge(base, overrides) as ArmResource;
    this.registerClusterIdentities(cluster);
    return this.put(cluster);
  }

  /** A user-assigned managed identity (shape of the spec's IdentityGet example), registered as a principal. */
  addUserAssignedIdentity(resourceGroup: string, name: string, location = this.options.defaultLocation): ArmResource {
    if (!this.getResourceGroup(resourceGroup)) this.addResourceGroup(resourceGroup, location);
    const clientId = newGuid();
    const principalId = newGuid();
    const id = `${this.resourceGroupId(resourceGroup)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
    this.directory.addManagedIdentity({ clientId, objectId: principalId, resourceId: id });
    return this.put({
      id,
      name,
      type: "Microsoft.ManagedIdentity/userAssignedIdentities",
      location,
      tags: {},
      properties: { tenantId: this.tenantId, principalId, clientId, isolationScope: "None" },
    });
  }

  /** A federated identity credential on a user-assigned identity (shape of the spec's FederatedIdentityCredentialCreate example). */
  addFederatedIdentityCredential(
    identityId: string,
    name: string,
    p: { issuer: string; subject: string; audiences?: string[] },
  ): ArmResource {
    const identity = this.get(identityId);
    if (!identity) throw new Error(`store.addFederatedIdentityCredential: no identity ${identityId}`);
    return this.put({
      id: `${identity.id}/federatedIdentityCredentials/${name}`,
      name,
      type: FEDERATED_CREDENTIAL_TYPE,
      properties: { issuer: p.issuer, subject: p.subject, audiences: p.audiences ?? ["api://AzureADTokenExchange"] },
    });
  }

  featureId(namespace: string, name: string): string {
    return `/subscriptions/${this.subscriptionId}/providers/Microsoft.Features/providers/${namespace}/features/${name}`;
  }

  /** A preview feature's registration in the subscription; NotRegistered until set. */
  feature(namespace: string, name: string): ArmResource {
    return (
      this.get(this.featureId(namespace, name)) ?? {
        id: this.featureId(namespace, name),
        name: `${namespace}/${name}`,
        type: "Microsoft.Features/providers/features",
        properties: { state: "NotRegistered" },
      }
    );
  }

  setFeatureState(namespace: string, name: string, state: FeatureState): ArmResource {
    return this.put({ ...this.feature(namespace, name), properties: { state } });
  }

  isFeatureRegistered(namespace: string, name: string): boolean {
    return this.feature(namespace, name).properties?.["state"] === "Registered";
  }

  getManagedCluster(resourceGroup: string, name: string): ArmResource | undefined {
    return this.get(managedClusterId(this.subscriptionId, resourceGroup, name));
  }

  /** The cluster's control-plane and kubelet identities are principals that can hold role assignments. */
  registerClusterIdentities(cluster: ArmResource): void {
    const identity = cluster["identity"] as { principalId?: string } | undefined;
    if (identity?.principalId) this.directory.addManagedIdentity({ clientId: newGuid(), objectId: identity.principalId });
    const kubelet = (
      cluster.properties?.["identityProfile"] as
        { kubeletidentity?: { clientId?: string; objectId?: string; resourceId?: string } } | undefined
    )?.kubeletidentity;
    if (kubelet?.clientId && kubelet.objectId)
      this.directory.addManagedIdentity({
        clientId: kubelet.clientId,
        objectId: kubelet.objectId,
        ...(kubelet.resourceId ? { resourceId: kubelet.resourceId } : {}),
      });
  }

  // ---- role assignments ----

  /** A role assignment was just created: it stays unseen by `roleAssignmentPropagationChecks` checks. */
  notePropagating(assignmentId: string): void {
    const checks = this.roleAssignmentPropagationChecks;
    if (checks > 0) this.unpropagated.set(key(assignmentId), new Pending(checks === Infinity ? {} : { observations: checks }));
  }

  /** The propagation of a new role assignment, while checks do not see it yet (a test may release it). */
  roleAssignmentPropagation(assignmentId: string): Pending | undefined {
    return this.unpropagated.get(key(assignmentId));
  }

  /**
   * The role assignments in effect for `principalId` at `scope`: assigned at the scope or above it, and
   * propagated. The check counts towards the propagation of each assignment it could not see yet.
   */
  effectiveRoleAssignments(principalId: string, scope: string): { id: string; roleGuid: string }[] {
    const target = key(scope);
    const effective: { id: string; roleGuid: string }[] = [];
    for (const assignment of this.listByType("Microsoft.Authorization/roleAssignments")) {
      const p = assignment.properties as { scope?: string; principalId?: string; roleDefinitionId?: string };
      const at = key(p.scope ?? "");
      if (p.principalId?.toLowerCase() !== principalId.toLowerCase()) continue;
      if (target !== at && !target.startsWith(`${at}/`)) continue;
      const pending = this.unpropagated.get(key(assignment.id));
      if (pending?.observe()) continue;
      effective.push({ id: assignment.id, roleGuid: (p.roleDefinitionId ?? "").split("/").pop()!.toLowerCase() });
    }
    return effective;
  }

  /** Whether a service acting as `principalId` may use one of the roles (by definition GUID) at `scope` (see effectiveRoleAssignments). */
  hasEffectiveRole(principalId: string, scope: string, roleGuids: readonly string[]): boolean {
    return this.effectiveRoleAssignments(principalId, scope).some((a) => roleGuids.includes(a.roleGuid));
  }

  // ---- Azure Policy ----

  /** A custom policy definition (or initiative, with `policyDefinitions`) in the subscription. */
  addPolicyDefinition(name: string, properties: Record<string, unknown>): ArmResource {
    const kind = Array.isArray(properties["policyDefinitions"]) ? "policySetDefinitions" : "policyDefinitions";
    return this.put({
      id: `/subscriptions/${this.subscriptionId}/providers/Microsoft.Authorization/${kind}/${name}`,
      name,
      type: `Microsoft.Authorization/${kind}`,
      properties: { policyType: "Custom", metadata: {}, parameters: {}, ...properties },
    });
  }

  /** An assignment someone made (e.g. in the portal), as a PUT by `callerId` would have stored it. */
  addPolicyAssignment(scope: string, name: string, properties: Record<string, unknown>, callerId = newGuid()): ArmResource {
    const current = this.get(policyAssignmentId(scope, name));
    return this.put(
      composeAssignment({ scope, name, requested: { properties }, current, callerId, tenantId: this.tenantId, now: this.now() }),
    );
  }

  /** The add-on's sync: fresh compliance states for every assignment applying to the resource. */
  evaluatePolicies(resourceId: string, nonCompliant: readonly string[] = []): PolicyStateRecord[] {
    const records = evaluatePolicies(this, resourceId, nonCompliant, this.now());
    this.recordPolicyStates(resourceId, records);
    return records;
  }

  recordPolicyStates(resourceId: string, records: PolicyStateRecord[]): void {
    this.policyStates.set(key(resourceId), structuredClone(records));
  }

  /** Latest states of resources at or under `scope`. */
  policyStatesUnder(scope: string): PolicyStateRecord[] {
    const prefix = key(scope);
    return [...this.policyStates.entries()]
      .filter(([id]) => id === prefix || id.startsWith(`${prefix}/`))
      .flatMap(([, records]) => structuredClone(records));
  }

  // ---- key vaults ----

  /** A vault shaped like the spec's getVault example: access policies (default) or Azure RBAC, soft delete on. */
  addKeyVault(
    resourceGroup: string,
    name: string,
    p: {
      enableRbacAuthorization?: boolean;
      enableSoftDelete?: boolean;
      accessPolicies?: AccessPolicyEntry[];
      location?: string;
      networkAcls?: VaultNetworkAcls;
      /** Further vault properties as GET returns them (enablePurgeProtection, publicNetworkAccess, privateEndpointConnections, ...). */
      properties?: Record<string, unknown>;
    } = {},
  ): ArmResource {
    const location = p.location ?? this.options.defaultLocation;
    if (!this.getResourceGroup(resourceGroup)) this.addResourceGroup(resourceGroup, location);
    const vault = defaultKeyVault({
      subscriptionId: this.subscriptionId,
      tenantId: this.tenantId,
      resourceGroup,
      name,
      location,
      enableRbacAuthorization: p.enableRbacAuthorization ?? false,
      enableSoftDelete: p.enableSoftDelete ?? true,
      accessPolicies: p.accessPolicies ?? [],
      ...(p.networkAcls ? { networkAcls: p.networkAcls } : {}),
    });
    return this.put({ ...vault, properties: { ...vault.properties, ...p.properties } });
  }

  getKeyVault(resourceGroup: string, name: string): ArmResource | undefined {
    return this.get(keyVaultId(this.subscriptionId, resourceGroup, name));
  }

  /** Vault names are globally unique: the data plane finds its vault by the host name's first label. */
  keyVaultByName(name: string): ArmResource | undefined {
    return this.listByType(KEY_VAULT_TYPE).find((vault) => vault.name.toLowerCase() === name.toLowerCase());
  }

  /** The secret with all its versions (also while soft-deleted), or undefined when it never existed or was purged. */
  vaultSecret(vaultName: string, secretName: string): VaultSecretRecord | undefined {
    const vault = this.keyVaultByName(vaultName);
    return vault ? this.get<VaultSecretRecord>(`${vault.id}/secrets/${secretName}`) : undefined;
  }

  /** Adds a version (every set does); the caller checks soft-deleted names first. */
  setVaultSecret(
    vaultName: string,
    secretName: string,
    value: string,
    p: { contentType?: string; tags?: Record<string, string> } = {},
  ): SecretVersion {
    const vault = this.keyVaultByName(vaultName);
    if (!vault) throw new Error(`store.setVaultSecret: no vault ${vaultName}`);
    const existing = this.vaultSecret(vaultName, secretName);
    const now = Math.floor(Date.now() / 1000);
    const version: SecretVersion = { version: newSecretVersion(), value, enabled: true, created: now, updated: now, ...p };
    const record: VaultSecretRecord = existing ?? {
      id: `${vault.id}/secrets/${secretName}`,
      name: secretName,
      type: VAULT_SECRET_TYPE,
      properties: { versions: [] },
    };
    record.properties.versions.push(version);
    this.put(record);
    return version;
  }

  /** Deletes a secret: soft-deleted (recoverable) when the vault has soft delete, else gone. */
  deleteVaultSecret(vaultName: string, secretName: string): VaultSecretRecord | undefined {
    const record = this.vaultSecret(vaultName, secretName);
    if (!record || record.properties.deleted) return undefined;
    const vault = this.keyVaultByName(vaultName)!;
    if (vault.properties?.["enableSoftDelete"] === false) {
      this.delete(record.id);
      return record;
    }
    const now = Math.floor(Date.now() / 1000);
    const days = Number(vault.properties?.["softDeleteRetentionInDays"] ?? 90);
    record.properties.deleted = { deletedDate: now, scheduledPurgeDate: now + days * 86400 };
    return this.put(record);
  }

  /** Brings a soft-deleted secret back with all its versions. */
  recoverVaultSecret(vaultName: string, secretName: string): VaultSecretRecord | undefined {
    const record = this.vaultSecret(vaultName, secretName);
    if (!record?.properties.deleted) return undefined;
    delete record.properties.deleted;
    if (this.secretRecoveryConflicts > 0) record.properties.recovering = { writesRefused: this.secretRecoveryConflicts };
    return this.put(record);
  }

  /**
   * Whether a write of the secret meets a recovery that has not settled; counts the refusal, and the
   * recovery settles once it has refused as many writes as it was set to.
   */
  refuseWriteWhileRecovering(vaultName: string, secretName: string): boolean {
    const record = this.vaultSecret(vaultName, secretName);
    const recovering = record?.properties.recovering;
    if (!record || !recovering) return false;
    recovering.writesRefused--;
    if (recovering.writesRefused <= 0) delete record.properties.recovering;
    this.put(record);
    return true;
  }

  /** Disables (or enables) the secret's latest version, as `az keyvault secret set-attributes --enabled` does. */
  setVaultSecretEnabled(vaultName: string, secretName: string, enabled: boolean): void {
    const record = this.vaultSecret(vaultName, secretName);
    const latest = record?.properties.versions.at(-1);
    if (!record || !latest) throw new Error(`store.setVaultSecretEnabled: no secret ${secretName} in ${vaultName}`);
    latest.enabled = enabled;
    this.put(record);
  }
}
