import * as tl from "azure-pipelines-task-lib/task";
import { AzureClients } from "../../core/azure";
import { describeCluster } from "../../core/cluster";
import { TaskError } from "../../core/errors";
import { untrustedWarning } from "../../core/job-scoped-access/ledger";
import { setOutputs, uploadSummary } from "../../core/report";
import { runTask } from "../../core/run";
import { readState } from "./apply";
import { readRequest } from "./inputs";
import { counted } from "./checks";
import { countResults, gateFailure, resultKey, scorecard } from "./plan";
import { renderScorecard } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  const state = await readState(clients, request);
  for (const hold of state.untrustedHolds) tl.warning(untrustedWarning(hold, describeCluster(request)));
  const results = scorecard({
    facts: state.facts,
    vaults: state.vaults,
    target: { resourceGroupName: request.resourceGroupName, clusterName: request.clusterName, now: new Date() },
    skip: request.skipChecks,
  });

  const counts = countResults(results);
  const gate = gateFailure(results, request.failOn);
  const card = renderScorecard(request, results, counts, gate);
  for (const line of card.log) console.log(line);
  uploadSummary(card.title, card.markdown);
  const unknown = results.filter((r) => r.status === "unknown");
  if (unknown.length) {
    tl.warning(
      `${counted(unknown.length, "check")} could not be read and ${unknown.length === 1 ? "is" : "are"} unknown: ${unknown.map(resultKey).join(", ")}. The summary says why for each: a read permission it names (Reader on the cluster, its resource group and the vaults has them all), or the error Azure answered.`,
    );
  }
  setOutputs({
    passed: String(counts.passed),
    failed: String(counts.failed),
    warnings: String(counts.warnings),
    failedChecks: results
      .filter((r) => r.status === "fail")
      .map(resultKey)
      .join(","),
    changed: "false",
  });
  if (gate) throw new TaskError(gate);
});
