import { AzureClients } from "../../core/azure";
import { CallerPermissions, withPermissionWarnings } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { applyPlan, readState } from "./apply";
import { readRequest } from "./inputs";
import { approvedPrivateEndpoints, planMigration, planNetwork, plannedWrites, planPurgeProtection, vaultPatch } from "./plan";
import { planPrivateEndpoint, privateEndpointWrites } from "./private-endpoint";
import { protectReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  const { vault, target, egress, assignments, privateEndpoint: endpointState } = await readState(clients, request);
  const endpoint = endpointState ? planPrivateEndpoint(target, endpointState, clients.connection.subscriptionId) : undefined;
  const network = planNetwork(request, target, vault, egress, endpoint !== undefined);
  const purge = planPurgeProtection(request, vault);
  const migration = planMigration(request, target, vault, assignments);
  const patch = vaultPatch(network, purge, migration);
  const writes = plannedWrites(target, patch, migration, endpoint ? privateEndpointWrites(target, endpoint) : []);
  const permissions = await new CallerPermissions(clients).check(writes, { dryRun: request.dryRun });

  const pending = writes.length > 0;
  const applied =
    pending && !request.dryRun
      ? await applyPlan(clients, target, {
          migration,
          patch,
          roleAssignmentWaitMs: request.roleAssignmentWaitMs,
          replanNetwork: (current) => planNetwork(request, target, current, egress, endpoint !== undefined),
          ...(endpoint && request.privateEndpointSubnetId
            ? { privateEndpoint: { plan: endpoint, subnetId: request.privateEndpointSubnetId } }
            : {}),
        })
      : undefined;
  const changed =
    applied !== undefined &&
    (applied.vault !== undefined || applied.grants.some((g) => g.outcome === "created") || endpoint?.empty === false);
  const after = applied?.vault ?? vault;
  const endpointStatus = applied?.privateEndpointStatus ?? endpoint?.connectionStatus;

  publishReport(
    withPermissionWarnings(
      protectReport({
        request,
        target,
        network,
        purge,
        migration,
        egress,
        ...(endpoint ? { endpoint: { plan: endpoint, ...(endpointStatus ? { status: endpointStatus } : {}) } } : {}),
        ...(applied ? { grants: applied.grants } : {}),
        outcome: changed ? "changed" : request.dryRun && pending ? "dryRun" : "unchanged",
      }),
      permissions,
    ),
  );
  const approved = approvedPrivateEndpoints(after);
  setOutputs({
    changed: String(changed),
    defaultAction: after.properties.networkAcls?.defaultAction ?? "Allow",
    publicNetworkAccess: after.properties.publicNetworkAccess ?? "Enabled",
    privateEndpointId:
      endpoint && endpointStatus?.toLowerCase() === "approved" && !request.dryRun ? endpoint.endpointId : (approved[0] ?? ""),
  });
});
