import type { WorkspaceRef } from "./inputs";

/**
 * The Log Analytics workspace `az aks update --enable-defender` uses when it is given none: azure-cli's
 * AKSManagedClusterContext.get_defender_config (acs/managed_cluster_decorator.py) calls
 * ensure_default_log_analytics_workspace_for_monitoring (acs/addonconfiguration.py) with the cluster's
 * resource group. That maps the resource group's region to a workspace region and a region code
 * (tables below, per cloud; an unlisted region falls back to the cloud's first), and names the workspace
 * `DefaultWorkspace-<subscription>-<code>` in resource group `DefaultResourceGroup-<code>`. azure-cli
 * creates the group and the workspace when they are missing; this task does not (see index.ts).
 */
interface CloudRule {
  regionMap: Record<string, string>;
  codes: Record<string, string>;
  fallbackRegion: string;
  fallbackCode: string;
}

const PUBLIC_REGION_CODES: Record<string, string> = {
  australiasoutheast: "ASE",
  australiaeast: "EAU",
  australiacentral: "CAU",
  australiacentral2: "CBR2",
  brazilsouth: "CQ",
  brazilsoutheast: "BRSE",
  canadacentral: "CCA",
  canadaeast: "YQ",
  centralindia: "CID",
  centralus: "CUS",
  eastasia: "EA",
  eastus: "EUS",
  eastus2: "EUS2",
  eastus2euap: "EAP",
  francecentral: "PAR",
  francesouth: "MRS",
  germanywestcentral: "DEWC",
  japaneast: "EJP",
  japanwest: "OS",
  jioindiacentral: "JINC",
  jioindiawest: "JINW",
  koreacentral: "SE",
  koreasouth: "PS",
  northcentralus: "NCUS",
  northeurope: "NEU",
  norwayeast: "NOE",
  norwaywest: "NOW",
  qatarcentral: "QAC",
  southafricanorth: "JNB",
  southcentralus: "SCUS",
  southindia: "MA",
  southeastasia: "SEA",
  swedencentral: "SEC",
  switzerlandnorth: "CHN",
  switzerlandwest: "CHW",
  uaecentral: "AUH",
  uaenorth: "DXB",
  uksouth: "SUK",
  ukwest: "WUK",
  usgovvirginia: "USGV",
  westcentralus: "WCUS",
  westeurope: "WEU",
  westus: "WUS",
  westus2: "WUS2",
  westus3: "USW3",
};

/** Regions whose workspaces azure-cli puts in another region; every other listed region maps to itself. */
const PUBLIC_REGION_MOVES: Record<string, string> = {
  germanynorth: "germanywestcentral",
  southafricawest: "southafricanorth",
  westindia: "centralindia",
  centraluseuap: "eastus2euap",
};
const PUBLIC_SAME_REGION = Object.keys(PUBLIC_REGION_CODES).filter((r) => !["usgovvirginia", "eastus2euap"].includes(r));

const CLOUDS: Record<string, CloudRule> = {
  azurecloud: {
    regionMap: { ...Object.fromEntries(PUBLIC_SAME_REGION.map((r) => [r, r])), eastus2euap: "eastus2euap", ...PUBLIC_REGION_MOVES },
    codes: PUBLIC_REGION_CODES,
    fallbackRegion: "eastus",
    fallbackCode: "EUS",
  },
  azurechinacloud: {
    regionMap: { chinaeast: "chinaeast2", chinaeast2: "chinaeast2", chinanorth: "chinaeast2", chinanorth2: "chinaeast2" },
    codes: { chinaeast: "EAST2", chinaeast2: "EAST2", chinanorth: "EAST2", chinanorth2: "EAST2" },
    fallbackRegion: "chinaeast2",
    fallbackCode: "EAST2",
  },
  azureusgovernment: {
    regionMap: { usgovvirginia: "usgovvirginia", usgovtexas: "usgovvirginia", usgovarizona: "usgovarizona" },
    codes: { usgovvirginia: "USGV", usgovarizona: "PHX" },
    fallbackRegion: "usgovvirginia",
    fallbackCode: "USGV",
  },
};

export interface DefaultWorkspace extends WorkspaceRef {
  /** The region azure-cli would create it in. */
  region: string;
}

/** The default workspace for a cluster whose resource group is in `resourceGroupLocation`; undefined in a cloud azure-cli has no rule for. */
export function defaultWorkspace(
  environment: string | undefined,
  subscriptionId: string,
  resourceGroupLocation: string,
): DefaultWorkspace | undefined {
  const cloud = CLOUDS[(environment ?? "AzureCloud").toLowerCase()];
  if (!cloud) return undefined;
  const location = resourceGroupLocation.toLowerCase().replace(/\s+/g, "");
  const region = cloud.regionMap[location] ?? cloud.fallbackRegion;
  const code = cloud.codes[region] ?? cloud.fallbackCode;
  const resourceGroupName = `DefaultResourceGroup-${code}`;
  const name = `DefaultWorkspace-${subscriptionId}-${code}`;
  return {
    id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.OperationalInsights/workspaces/${name}`,
    subscriptionId,
    resourceGroupName,
    name,
    region,
  };
}
