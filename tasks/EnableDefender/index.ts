import { AzureClients, readTogether } from "../../core/azure";
import { clusterClient, idOfCluster, readCluster } from "../../core/cluster";
import { CallerPermissions, withPermissionWarnings } from "../../core/permissions";
import { InputError, TaskError } from "../../core/errors";
import { publishReport, setOutputs } from "../../core/report";
import { runTask } from "../../core/run";
import { applySensor, readPlanState, resourceGroupLocation, workspaceExists, writeContainersPlan } from "./apply";
import { defaultWorkspace } from "./default-workspace";
import { readRequest } from "./inputs";
import { currentSensor, planContainersPlan, plannedWrites, planSensor } from "./plan";
import { defenderReport, type WorkspaceChoice } from "./report";

void runTask(async () => {
  const request = readRequest();
  const clients = new AzureClients(request.connection);

  // The resource group's region matters only when neither the input nor the cluster names a workspace:
  // its read goes out with the others, and its failure counts only then.
  const location = request.workspace ? undefined : resourceGroupLocation(clients, request);
  location?.catch(() => undefined);
  const [cluster, pricing, typedExists] = await readTogether([
    readCluster(clusterClient(clients), request),
    readPlanState(clients),
    request.workspace ? workspaceExists(clients, request.workspace) : undefined,
  ] as const);

  const choice = await chooseWorkspace(cluster, typedExists, location);
  const plan = planContainersPlan(pricing, request.enableContainersPlan);
  if (request.enableContainersPlan && !pricing.ok) throw new TaskError(pricing.reason);
  const clusterId = idOfCluster(cluster, request.connection.subscriptionId, request);
  const permissions = await new CallerPermissions(clients).check(
    plannedWrites(clusterId, request.connection.subscriptionId, planSensor(cluster, choice.id), plan),
    { dryRun: request.dryRun },
  );

  if (!request.dryRun) await writeContainersPlan(clients, plan);
  const sensor = await applySensor(clients, request, { ...request, workspaceId: choice.id, initial: cluster });

  const changed = sensor.written || (plan.write && !request.dryRun);
  const pending = !sensor.plan.empty || plan.write;
  const outcome = changed ? "changed" : request.dryRun && pending ? "dryRun" : "unchanged";
  publishReport(
    withPermissionWarnings(
      defenderReport(request, request, { sensor: sensor.plan, workspace: choice, plan, pricing }, outcome),
      permissions,
    ),
  );
  setOutputs({ changed: String(changed), workspaceId: choice.id, containersPlan: plan.after });

  /**
   * The workspace typed; else the cluster's own (a re-run never moves it); else the one
   * `az aks update --enable-defender` would use — only if it exists: azure-cli creates a resource
   * group and a workspace (in a region of its choosing) when they are missing, and this task creates
   * nothing it was not asked to.
   */
  async function chooseWorkspace(
    current: typeof cluster,
    exists: boolean | undefined,
    region: Promise<string> | undefined,
  ): Promise<WorkspaceChoice> {
    if (request.workspace) {
      if (!exists) {
        throw new InputError(
          "logAnalyticsWorkspaceId",
          `the Log Analytics workspace '${request.workspace.name}' in resource group '${request.workspace.resourceGroupName}' does not exist (or the service connection cannot see it). Check the resource ID, or create the workspace first.`,
        );
      }
      return { id: request.workspace.id, source: "input" };
    }
    const own = currentSensor(current).workspaceId;
    if (own) return { id: own, source: "cluster" };
    const fallback = defaultWorkspace(request.connection.environment, request.connection.subscriptionId, await region!);
    if (!fallback) {
      throw new InputError(
        "logAnalyticsWorkspaceId",
        `is required in this cloud ('${request.connection.environment ?? "unknown"}'): az aks update --enable-defender has no default workspace rule for it. Enter the resource ID of the Log Analytics workspace the sensor sends its data to.`,
      );
    }
    if (!(await workspaceExists(clients, fallback))) {
      throw new TaskError(
        `No logAnalyticsWorkspaceId was given, and the workspace az aks update --enable-defender would use, '${fallback.name}' in resource group '${fallback.resourceGroupName}' (region ${fallback.region}), does not exist. This task creates nothing it was not asked to (az would create that resource group and workspace): set logAnalyticsWorkspaceId to a workspace of yours, or create it first: az group create -n ${fallback.resourceGroupName} -l ${fallback.region} && az monitor log-analytics workspace create -g ${fallback.resourceGroupName} -n ${fallback.name} -l ${fallback.region}`,
      );
    }
    return { id: fallback.id, source: "default" };
  }
});
