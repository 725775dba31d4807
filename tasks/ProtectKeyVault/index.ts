import { AzureClients } from "../../core/azure";
import { CallerPermissions, withPermissionWarnings } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { applyPlan, readState } from "./apply";
import { readRequest } from "./inputs";
import { approvedPrivateEndpoints, planMigration, planNetwork, plannedWrites, planPurgeProtection, vaultPatch } from "./plan";
import { protectReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  const { vault, target, egress, assignments } = await readState(clients, request);
  const network = planNetwork(request, target, vault, egress);
  const purge = planPurgeProtection(request, vault);
  const migration = planMigration(request, target, vault, assignments);
  const patch = vaultPatch(network, purge, migration);
  const permissions = await new CallerPermissions(clients).check(plannedWrites(target, patch, migration), { dryRun: request.dryRun });

  const pending = patch !== undefined || migration.grants.length > 0;
  const applied =
    pending && !request.dryRun
      ? await applyPlan(clients, target, { migration, patch, roleAssignmentWaitMs: request.roleAssignmentWaitMs })
      : undefined;
  const changed = applied !== undefined && (applied.vault !== undefined || applied.grants.some((g) => g.outcome === "created"));
  const after = applied?.vault ?? vault;

  publishReport(
    withPermissionWarnings(
      protectReport({
        request,
        target,
        network,
        purge,
        migration,
        egress,
        ...(applied ? { grants: applied.grants } : {}),
        outcome: changed ? "changed" : request.dryRun && pending ? "dryRun" : "unchanged",
      }),
      permissions,
    ),
  );
  setOutputs({
    changed: String(changed),
    defaultAction: after.properties.networkAcls?.defaultAction ?? "Allow",
    publicNetworkAccess: after.properties.publicNetworkAccess ?? "Enabled",
    privateEndpointId: approvedPrivateEndpoints(after)[0] ?? "",
  });
});
