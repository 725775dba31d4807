import * as tl from "azure-pipelines-task-lib/task";
import { AzureClients, readTogether } from "../../core/azure";
import { idOfCluster } from "../../core/cluster";
import { CallerPermissions, withPermissionWarnings } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { applyAddon, listClusterAssignments, readClusterState, readDefinitions, readPolicyStates, writeAssignments } from "./apply";
import { readRequest } from "./inputs";
import {
  assignmentSources,
  describeSource,
  planAddon,
  planAssignments,
  plannedWrites,
  resolveAssignment,
  summarizeCompliance,
  unusedInputs,
} from "./plan";
import { policyReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  // Every definition is read and every parameter checked against it before anything is written.
  // The definitions, the cluster and its assignments do not depend on each other: read together.
  const sources = assignmentSources(request.policies, request.customPolicyDefinitionIds);
  const [definitions, cluster, existing] = await readTogether([
    readDefinitions(clients, sources),
    readClusterState(clients, request),
    listClusterAssignments(clients, request),
  ]);
  const wanted = sources.map((source, i) => resolveAssignment(request, source, definitions[i]!));

  const plan = planAssignments(wanted, existing);
  const clusterId = idOfCluster(cluster, request.connection.subscriptionId, request);
  const permissions = await new CallerPermissions(clients).check(plannedWrites(clusterId, planAddon(cluster, request.enableAddon), plan), {
    dryRun: request.dryRun,
  });

  // The assignments are written once the add-on is on: a cluster update that fails leaves them as they were.
  const addon = await applyAddon(clients, request, { ...request, initial: cluster });
  const written = request.dryRun ? [] : await writeAssignments(clients, { id: clusterId, location: addon.before.location }, plan.changes);

  const ours = plan.changes.filter((c) => c.action === "unchanged" || written.some((w) => w.name === c.wanted.name));
  const assignmentIds = ours.map((c) => written.find((w) => w.name === c.wanted.name)?.id ?? c.before!.id);

  let compliance;
  if (request.reportCompliance) {
    const rows = ours.map((c, i) => {
      const changedAt = written.find((w) => w.name === c.wanted.name)?.changedAt ?? c.before?.changedAt;
      return {
        id: assignmentIds[i]!,
        name: c.wanted.name,
        title: describeSource(c.wanted.source, c.wanted.definition),
        ...(changedAt ? { changedAt } : {}),
      };
    });
    const states = await readPolicyStates(clients, clusterId, assignmentIds);
    if ("error" in states) {
      tl.warning(`The compliance report is missing: ${states.error}`);
      compliance = states;
    } else {
      compliance = summarizeCompliance(rows, states, addon.plan);
    }
  }

  const changed = addon.written || written.length > 0;
  const outcome = changed ? "changed" : request.dryRun && !(addon.plan.empty && plan.empty) ? "dryRun" : "unchanged";
  publishReport(
    withPermissionWarnings(
      policyReport(
        request,
        request,
        {
          addon: addon.plan,
          plan,
          ...(compliance ? { compliance } : {}),
          unusedInputs: unusedInputs(request.values, wanted),
          identities: plan.changes
            .filter((c) => c.wanted.remediation && c.action !== "nameTaken")
            .map((c) => {
              const principalId = written.find((w) => w.name === c.wanted.name)?.principalId ?? c.before?.identity?.principalId;
              return { name: c.wanted.name, remediation: c.wanted.remediation!, ...(principalId ? { principalId } : {}) };
            }),
          clusterId,
        },
        outcome,
      ),
      permissions,
    ),
  );
  setOutputs({ policyAssignmentIds: assignmentIds.join(","), changed: String(changed) });
});
