import * as tl from "azure-pipelines-task-lib/task";
import { createOrUpdate, get } from "@azure/arm-containerservice/api/managedClusters";
import type { ManagedCluster } from "@azure/arm-containerservice";
import { createContainerService, type ContainerServiceContext } from "@azure/arm-containerservice/api";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { AzureClients } from "./azure";
import { azureErrorDetails, describeFailure, TaskError } from "./errors";
import type { PlannedWrite } from "./permissions";
import { firstPauseMs, formatDuration, WaitBudget } from "./wait-budget";

export type { ManagedCluster };

export interface ClusterRef {
  resourceGroupName: string;
  clusterName: string;
}

/** A plan for one managed cluster: what the task wants to change, derived from the cluster as read. */
export interface ClusterPlan {
  /** True when the cluster already is as wanted: nothing is written. */
  readonly empty: boolean;
}

export interface ClusterUpdateOptions<P extends ClusterPlan> {
  /** Pure: the plan for the cluster as it is now. May throw TaskError when the change is impossible. */
  plan(cluster: ManagedCluster): P;
  /** The cluster to PUT: the one read, with only the planned change made. */
  apply(cluster: ManagedCluster, plan: P): ManagedCluster;
  /** Runs right before the write, e.g. to leave state for a post-job step. */
  beforeWrite?(plan: P): void;
  dryRun: boolean;
  /** The cluster as the task already read it: planned first instead of reading it again. */
  initial?: ManagedCluster;
  /** How long to wait, in all, for another operation on the cluster to finish (409 OperationNotAllowed or EtagMismatch). */
  busyTimeoutMs: number;
}

export interface ClusterUpdateResult<P extends ClusterPlan> {
  /** The cluster as read before the write that was made (or would have been). */
  before: ManagedCluster;
  /** The cluster after the write; `before` when nothing was written. */
  after: ManagedCluster;
  plan: P;
  written: boolean;
  /** A write was refused on the way (a stale eTag, a busy cluster): someone else changed the cluster meanwhile. */
  contended: boolean;
}

/** A stale `If-Match` means someone changed the cluster between our read and our write: re-read and re-plan, a few times. */
const MAX_STALE_ETAG_RETRIES = 5;
/** Longest pause between tries while the cluster is busy, when Azure gives no `Retry-After`. */
const MAX_BUSY_POLL_MS = 15_000;
/** core-lro's own pause between polls of an operation whose answers carry no `Retry-After`. */
const OPERATION_POLL_MS = 2000;

export function clusterClient(clients: AzureClients): ContainerServiceContext {
  return clients.client("containerService", () => {
    const options = clients.armOptions();
    return createContainerService(clients.credential, clients.connection.subscriptionId, {
      ...options,
      additionalPolicies: [...options.additionalPolicies, { policy: podLabelsDefaultPolicy, position: "perCall" }],
    });
  });
}

/**
 * AKS answers a pod-identity exception whose podLabels map is empty with null (aks-preview fills {}
 * back before every PUT for that reason: _fill_defaults_for_pod_identity_exceptions), and
 * @azure/arm-containerservice cannot read such a cluster at all (its deserializer takes
 * Object.entries of podLabels). The answer is given {} there before the client reads it, so every
 * task can read the cluster and a PUT sends {} back.
 */
const podLabelsDefaultPolicy: PipelinePolicy = {
  name: "podIdentityExceptionPodLabels",
  async sendRequest(request, next) {
    const response = await next(request);
    const text = response.bodyAsText;
    if (!text || !text.includes('"userAssignedIdentityExceptions"')) return response;
    try {
      const body = JSON.parse(text) as { value?: unknown[] } & Record<string, unknown>;
      for (const cluster of Array.isArray(body.value) ? body.value : [body]) {
        const profile = (cluster as { properties?: { podIdentityProfile?: { userAssignedIdentityExceptions?: unknown } } }).properties
          ?.podIdentityProfile;
        const exceptions = profile?.userAssignedIdentityExceptions;
        if (!Array.isArray(exceptions)) continue;
        for (const exception of exceptions as { podLabels?: unknown }[]) {
          if (exception && typeof exception === "object" && (exception.podLabels === null || exception.podLabels === undefined)) {
            exception.podLabels = {};
          }
        }
      }
      response.bodyAsText = JSON.stringify(body);
    } catch {
      // Not JSON: the client reports it as it would have.
    }
    return response;
  },
};

/** The cluster's ARM resource ID, for calls made at its scope (policy assignments, policy states). */
export function clusterResourceId(subscriptionId: string, ref: ClusterRef): string {
  return `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(ref.resourceGroupName)}/providers/Microsoft.ContainerService/managedClusters/${encodeURIComponent(ref.clusterName)}`;
}

/** The operation a cluster PUT is. */
export const CLUSTER_WRITE_ACTION = "Microsoft.ContainerService/managedClusters/write";

/** The cluster PUT a plan will make, for the permission check before the first write (core/permissions.ts). */
export function clusterWrite(clusterId: string, purpose: string): PlannedWrite {
  return { action: CLUSTER_WRITE_ACTION, scope: clusterId, purpose };
}

/** The ID of a cluster as read (ARM always answers one; the SDK's type leaves it optional). */
export function idOfCluster(cluster: ManagedCluster, subscriptionId: string, ref: ClusterRef): string {
  return cluster.id ?? clusterResourceId(subscriptionId, ref);
}

export function describeCluster(ref: ClusterRef): string {
  return `managed cluster '${ref.clusterName}' in resource group '${ref.resourceGroupName}'`;
}

export async function readCluster(client: ContainerServiceContext, ref: ClusterRef): Promise<ManagedCluster> {
  try {
    return await get(client, ref.resourceGroupName, ref.clusterName);
  } catch (error) {
    throw new TaskError(
      describeFailure(error, { action: `read ${describeCluster(ref)}`, permission: "Microsoft.ContainerService/managedClusters/read" }),
    );
  }
}

/**
 * Read, plan, and write a managed cluster only when the plan is not empty. The write is the whole
 * cluster as read with just the planned change (PUT replaces the resource), conditioned on the
 * eTag that was read so a concurrent change is never overwritten; the long-running operation is
 * awaited. A busy cluster is waited for, a stale eTag re-read and re-planned, both bounded.
 */
export async function updateCluster<P extends ClusterPlan>(
  client: ContainerServiceContext,
  ref: ClusterRef,
  options: ClusterUpdateOptions<P>,
): Promise<ClusterUpdateResult<P>> {
  const busyBudget = new WaitBudget(options.busyTimeoutMs);
  let staleRetries = 0;
  let initial = options.initial;
  /** The cluster as first read: the "before" of a change that landed although its answer was lost. */
  let firstRead: ManagedCluster | undefined;
  /** Why the last write was refused, when this run has sent one: it may have landed all the same. */
  let refusedWrite: string | undefined;
  for (;;) {
    const before = initial ?? (await readCluster(client, ref));
    initial = undefined;
    firstRead ??= before;
    const plan = options.plan(before);
    if (plan.empty && refusedWrite && firstRead !== before) {
      // Our PUT was answered 412 or busy, and the cluster now is as planned: either our PUT landed and
      // its answer was lost (the pipeline's retry then met our own write: the eTag it moved, or the
      // operation it started), or another run made the same change at the same moment. Either way the
      // cluster changed during this run, so say so rather than report "no change".
      const firstPlan = options.plan(firstRead);
      if (!firstPlan.empty) {
        console.log(
          `${describeCluster(ref)} already has the change after a write was refused (${refusedWrite}): this run's earlier write landed although its answer was lost, or another run made the same change.`,
        );
        return { before: firstRead, after: before, plan: firstPlan, written: true, contended: true };
      }
    }
    if (plan.empty || options.dryRun) return { before, after: before, plan, written: false, contended: refusedWrite !== undefined };

    options.beforeWrite?.(plan);
    try {
      const after = await createOrUpdate(client, ref.resourceGroupName, ref.clusterName, options.apply(before, plan), {
        ...(before.eTag ? { ifMatch: before.eTag } : {}),
        updateIntervalInMs: firstPauseMs(OPERATION_POLL_MS),
      });
      return { before, after, plan, written: true, contended: refusedWrite !== undefined };
    } catch (error) {
      const { status, code } = azureErrorDetails(error);
      if (status === 412 && staleRetries < MAX_STALE_ETAG_RETRIES) {
        staleRetries++;
        refusedWrite = "412";
        tl.debug(`The cluster changed since it was read (412); reading it again (${staleRetries}/${MAX_STALE_ETAG_RETRIES}).`);
        continue;
      }
      if (isBusy(status, code)) {
        refusedWrite = `409 ${code}`;
        const waitMs = busyWaitMs(error, options.busyTimeoutMs);
        if (!busyBudget.allows(waitMs)) {
          throw new TaskError(
            `Another operation is still running on ${describeCluster(ref)} after waiting ${formatDuration(options.busyTimeoutMs)}; ` +
              `wait for it to finish (see the cluster's activity log) and re-run, or raise the pipeline variable AksHardening.ClusterBusyTimeoutSeconds.`,
          );
        }
        console.log(`Another operation is running on ${describeCluster(ref)}; trying again in ${formatDuration(waitMs)}.`);
        await busyBudget.wait(waitMs);
        continue;
      }
      // Azure's own error stays attached, for callers that recognise a refusal they can wait out.
      throw new TaskError(describeWriteFailure(error, ref), { cause: error });
    }
  }
}

/**
 * AKS refuses a write while another operation runs on the cluster with 409 OperationNotAllowed, or
 * with 409 EtagMismatch "Operation is not allowed: Another operation (...) is in progress, please wait
 * for it to finish before starting a new operation" (terraform-provider-azapi#889,
 * Azure/terraform-azurerm-aks#354 and #604). Both mean: wait, re-read, re-plan. A stale If-Match is 412.
 */
function isBusy(status: number | undefined, code: string | undefined): boolean {
  return status === 409 && (code === "OperationNotAllowed" || code === "EtagMismatch");
}

function busyWaitMs(error: unknown, busyTimeoutMs: number): number {
  const header = (error as { response?: { headers?: { get(name: string): string | undefined } } }).response?.headers?.get("retry-after");
  const seconds = header === undefined ? NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  return firstPauseMs(Math.min(MAX_BUSY_POLL_MS, Math.max(500, busyTimeoutMs / 10)));
}

function describeWriteFailure(error: unknown, ref: ClusterRef): string {
  const message = error instanceof Error ? error.message : String(error);
  // core-lro reports a Failed operation as "The long-running operation has failed. <code>. <message>".
  const failed = /^The long-running operation has failed\.?\s*(.*)$/s.exec(message);
  if (failed) {
    const reason = (failed[1] || "the operation failed without details").trim().replace(/\.+$/, "");
    return `Azure could not complete the update of ${describeCluster(ref)}: ${reason}. Check the cluster's activity log, fix the cause and re-run.`;
  }
  if (/canceled/i.test(message) && !azureErrorDetails(error).status) {
    return `The update of ${describeCluster(ref)} was canceled in Azure before it finished; re-run the task to apply it.`;
  }
  return describeFailure(error, {
    action: `update ${describeCluster(ref)}`,
    permission: CLUSTER_WRITE_ACTION,
  });
}
