import { AzureClients } from "../../core/azure";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { applyPlan, readCurrentState } from "./apply";
import { readRequest } from "./inputs";
import { planEnablePodIdentity } from "./plan";
import { podIdentityReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  const state = await readCurrentState(clients, request);
  const plan = planEnablePodIdentity(request, state);
  const result =
    plan.empty || request.dryRun ? { plan, cluster: state.cluster, written: false } : await applyPlan(clients, request, state, plan);

  const outcome = result.written ? "changed" : request.dryRun && !plan.empty ? "dryRun" : "unchanged";
  const issuerUrl = result.cluster.oidcIssuerProfile?.enabled ? result.cluster.oidcIssuerProfile.issuerURL : undefined;
  publishReport(podIdentityReport(request, state.identity, result.plan, outcome, issuerUrl));
  setOutputs({
    clientId: state.identity.clientId,
    principalId: state.identity.principalId,
    bindingSelector: request.mode === "podIdentity" ? request.bindingSelector : "",
    oidcIssuerUrl: issuerUrl ?? "",
    changed: String(result.written),
  });
});
