import { AzureClients } from "../../core/azure";
import { idOfCluster } from "../../core/cluster";
import { TaskError } from "../../core/errors";
import { CallerPermissions, withPermissionWarnings } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import type { RoleGrantResult } from "../../core/roles";
import { runTask } from "../../core/run";
import { accessCheckFor, proveAccess, type AccessProof } from "./api-server";
import { applyAccess, readCurrentState } from "./apply";
import { readRequest } from "./inputs";
import { planClusterAccess, plannedWrites, type PlannedGrant } from "./plan";
import { accessOutputs, accessReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  const state = await readCurrentState(clients, request);
  // Refusals (lock-out, no Kubernetes RBAC, grants without Azure RBAC) are thrown here, before any write.
  let plan = planClusterAccess(state.want, state.cluster);
  const planEmpty = plan.empty && state.grants.every((g) => g.plan.empty);
  const clusterId = idOfCluster(state.cluster, request.connection.subscriptionId, request);
  const permissions = await new CallerPermissions(clients).check(plannedWrites(clusterId, plan, state.grants), { dryRun: request.dryRun });

  let grantResults: ReadonlyMap<PlannedGrant, RoleGrantResult> = new Map();
  let clusterWritten = false;
  let fqdn = state.cluster.fqdn;
  if (!request.dryRun && !planEmpty) {
    const result = await applyAccess(clients, request, state, plan);
    grantResults = result.grantResults;
    clusterWritten = result.cluster.written;
    plan = result.cluster.plan;
    fqdn = result.cluster.after.fqdn ?? fqdn;
  }
  const changed = clusterWritten || [...grantResults.values()].some((r) => r.outcome === "created");

  // The pipeline's own grants: where this run made them (or changed how the cluster signs in), the
  // API server is asked until it allows them, so the deploy steps after this one can use them.
  const own = state.grants.filter((g) => g.request.principal.kind === "serviceConnection");
  const toProve = changed ? own.filter((g) => !g.plan.empty || clusterWritten) : [];
  const proofs: AccessProof[] = await Promise.all(
    toProve.map((g) =>
      proveAccess(clients, request, fqdn, accessCheckFor(g.request.role, g.request.namespace), request.roleAssignmentWaitMs),
    ),
  );

  const outcome = changed ? "changed" : request.dryRun && !planEmpty ? "dryRun" : "unchanged";
  publishReport(
    withPermissionWarnings(
      accessReport({
        request,
        plan,
        grants: state.grants,
        grantResults,
        proofs,
        outcome,
        unprovedExisting: !request.dryRun && own.length > toProve.length,
      }),
      permissions,
    ),
  );
  setOutputs(accessOutputs(clusterWritten ? plan.after : plan.before, changed));
  const notInEffect = proofs.find((p) => p.outcome === "notInEffect");
  if (notInEffect) throw new TaskError(notInEffect.message);
});
