import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError } from "../../core/errors";
import { readBoolean, readClusterName, readResourceGroupName, readSecondsVariable, readString } from "../../core/inputs";
import { checkResourceIdSegments, RESOURCE_GROUP_SEGMENT, SUBSCRIPTION_SEGMENT, type SegmentRule } from "../../core/names";

export interface WorkspaceRef {
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
}

export interface EnableDefenderRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  /** The workspace typed; undefined: the cluster's own, else the one `az aks update --enable-defender` would choose. */
  workspace?: WorkspaceRef;
  enableContainersPlan: boolean;
  dryRun: boolean;
  busyTimeoutMs: number;
}

export function readRequest(): EnableDefenderRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  const clusterName = readClusterName();
  const typed = readString("logAnalyticsWorkspaceId");
  const workspace = typed === undefined ? undefined : parseWorkspaceId(typed);
  return {
    connection,
    resourceGroupName,
    clusterName,
    ...(workspace ? { workspace } : {}),
    enableContainersPlan: readBoolean("enableContainersPlan", false),
    dryRun: readBoolean("dryRun", false),
    busyTimeoutMs: readSecondsVariable("AksHardening.ClusterBusyTimeoutSeconds", 1200) * 1000,
  };
}

const WORKSPACE_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.OperationalInsights\/workspaces\/([^/]+)$/i;
/** Log Analytics workspace names: 4-63 letters, digits and '-', starting and ending with a letter or digit. */
const WORKSPACE_SEGMENT: SegmentRule = {
  what: "workspace name",
  test: (s) => /^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$/.test(s),
  rule: "4-63 letters, digits and '-', starting and ending with a letter or digit",
};

export function parseWorkspaceId(typed: string): WorkspaceRef {
  const id = typed.trim().replace(/\/+$/, "");
  const match = WORKSPACE_ID.exec(id);
  if (!match) {
    throw new InputError(
      "logAnalyticsWorkspaceId",
      `'${typed}' is not a Log Analytics workspace resource ID; use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name> (Azure portal > the workspace > Properties > Resource ID).`,
    );
  }
  const [, subscriptionId, resourceGroupName, name] = match as unknown as [string, string, string, string];
  checkResourceIdSegments("logAnalyticsWorkspaceId", id, [
    [subscriptionId, SUBSCRIPTION_SEGMENT],
    [resourceGroupName, RESOURCE_GROUP_SEGMENT],
    [name, WORKSPACE_SEGMENT],
  ]);
  return { id, subscriptionId, resourceGroupName, name };
}
