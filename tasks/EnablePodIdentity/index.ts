import { AzureClients } from "../../core/azure";
import { idOfCluster } from "../../core/cluster";
import { CallerPermissions, withPermissionWarnings } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { applyPlan, readCurrentState } from "./apply";
import { readRequest } from "./inputs";
import { planEnablePodIdentity, plannedWrites } from "./plan";
import { podIdentityReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  const permissions = new CallerPermissions(clients);
  const state = await readCurrentState(clients, request, permissions);
  const plan = planEnablePodIdentity(request, state);
  const check = await permissions.check(
    plannedWrites(plan, idOfCluster(state.cluster, request.connection.subscriptionId, request), state.identity),
    { dryRun: request.dryRun },
  );
  const result =
    plan.empty || request.dryRun ? { plan, cluster: state.cluster, written: false } : await applyPlan(clients, request, state, plan);

  const outcome = result.written ? "changed" : request.dryRun && !plan.empty ? "dryRun" : "unchanged";
  const issuerUrl = result.cluster.oidcIssuerProfile?.enabled ? result.cluster.oidcIssuerProfile.issuerURL : undefined;
  publishReport(withPermissionWarnings(podIdentityReport(request, state.identity, result.plan, outcome, issuerUrl), check));
  setOutputs({
    clientId: state.identity.clientId,
    principalId: state.identity.principalId,
    bindingSelector: request.mode === "podIdentity" ? request.bindingSelector : "",
    oidcIssuerUrl: issuerUrl ?? "",
    changed: String(result.written),
  });
});
