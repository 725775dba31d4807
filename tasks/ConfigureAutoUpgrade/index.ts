import { AzureClients } from "../../core/azure";
import { idOfCluster } from "../../core/cluster";
import { CallerPermissions, withPermissionWarnings } from "../../core/permissions";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { applyChannels, readState, writeWindows } from "./apply";
import { readRequest } from "./inputs";
import { planChannels, plannedWrites, planWindow } from "./plan";
import { autoUpgradeReport } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  const [cluster, configurations] = await readState(clients, request, request.windows);
  const windows = request.windows.map((wanted, i) => planWindow(wanted, configurations[i]));
  const clusterId = idOfCluster(cluster, request.connection.subscriptionId, request);
  const permissions = await new CallerPermissions(clients).check(
    plannedWrites(clusterId, planChannels(cluster, request.upgradeChannel, request.nodeOsUpgradeChannel), windows),
    { dryRun: request.dryRun },
  );

  // Windows first: a channel turned on must find its window in place.
  const written = request.dryRun ? [] : await writeWindows(clients, request, windows);
  const channels = await applyChannels(clients, request, { ...request, initial: cluster });

  const changed = channels.written || written.length > 0;
  const pending = !channels.plan.empty || windows.some((w) => w.action !== "unchanged");
  const outcome = changed ? "changed" : request.dryRun && pending ? "dryRun" : "unchanged";
  publishReport(withPermissionWarnings(autoUpgradeReport(request, request, { channels: channels.plan, windows }, outcome), permissions));
  setOutputs({
    changed: String(changed),
    upgradeChannel: channels.plan.upgradeChannel.after,
    nodeOsUpgradeChannel: channels.plan.nodeOsUpgradeChannel.after,
  });
});
