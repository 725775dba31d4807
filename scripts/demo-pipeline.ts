/**
 * The article's hardening pipeline, as data: the one definition that `npm run demo` runs (against a
 * cluster from the platform team's template, or with `--plain` against one as `az aks create` leaves
 * it), that test/extension/demo-pipeline.test.ts and plain-demo.test.ts check, and that
 * scripts/samples.ts renders into samples/azure-pipelines.yml and samples/classic-release.json.
 *
 * The article's order: a managed identity for the app's pods, Key Vault access and the database
 * secrets, the deployment, then the API server restricted and Azure Policy enforced. Before them, the
 * cluster's own settings that the deploy job relies on (Entra ID sign-in and the pipeline's own
 * Kubernetes role) or that no release should leave off (auto-upgrade, Defender). The API server step
 * sits at the start of the deploy job: it sets the permanent list and lets this agent in for the job
 * only (the post-job step closes it again), so the deployment can reach the API server.
 */
import type { LocalAzure } from "../local-azure/index";
import { addClusterOutboundIps, assignRole, logAnalyticsWorkspace } from "../local-azure/index";

/** The AzureRM service connection's name in the samples; the demo maps it to the local Azure. */
export const SERVICE_CONNECTION = "my-azure-connection";

/**
 * Stock Azure Pipelines tasks the pipelines use (not part of this extension): their task IDs for the
 * classic release, and the input that names their service connection, if any (microsoft/
 * azure-pipelines-tasks Tasks/AzureCLIV2/task.json `connectedServiceNameARM`, Tasks/KubeloginInstallerV0/task.json).
 */
export const STOCK_TASKS: Record<string, { id: string; connectionInput?: string }> = {
  "AzureCLI@2": { id: "46e4be58-730b-4389-8a2f-ea10b3e5e815", connectionInput: "connectedServiceNameARM" },
  "KubeloginInstaller@0": { id: "5eeaaa81-40b2-4918-8fc7-e2dfc2318902" },
};

export type Inputs = Record<string, string>;

export interface PipelineStep {
  /** `Task@major`. */
  task: string;
  /** Reference name: outputs are `$(<name>.<output>)` in the same job. */
  name?: string;
  displayName: string;
  inputs: Inputs;
  /** Shown above the step in the YAML sample. */
  comment?: string;
  /** Inputs that differ in the classic release (classic stages cannot pass outputs to each other). */
  classicInputs?: Inputs;
}

export interface PipelineJob {
  job: string;
  displayName: string;
  /**
   * The job reads files of the app's repository (the deploy manifests): YAML checks it out
   * (`checkout: self`), the classic release downloads the pipeline's artifact. Other jobs skip both.
   */
  usesSource?: boolean;
  /** Job variables; `$[ stageDependencies.<stage>.<job>.outputs['<step>.<output>'] ]` reads an earlier stage's output. */
  variables?: Record<string, string>;
  /** One job per matrix leg, each with the leg's variables, run as parallel jobs (at most `maxParallel` at once). */
  strategy?: { matrix: Record<string, Record<string, string>>; maxParallel: number };
  steps: PipelineStep[];
}

export interface PipelineStage {
  stage: string;
  displayName: string;
  dependsOn?: string;
  jobs: PipelineJob[];
}

/** The app's repository as a classic release's linked artifact (Azure Repos Git). */
export interface SourceArtifact {
  /** Downloaded to `$(System.DefaultWorkingDirectory)/<alias>`. */
  alias: string;
  repository: string;
  branch: string;
}

/** A value of the definition that a user must replace, or decide on, before the first run. */
export interface ValueToChange {
  /** Pipeline variables (or inputs, or the service connection) it covers. */
  names: string[];
  /** What it is and why it must be the user's own. */
  note: string;
}

export interface Pipeline {
  name: string;
  /** The sample's first line: what the pipeline does. */
  description: string;
  /** The command that runs it against the local Azure. */
  demoCommand: string;
  /** The repository holding the pipeline (YAML) and, for the classic release, linked as an artifact. */
  source: SourceArtifact;
  variables: Record<string, string>;
  /** Secret variables: set in the pipeline's UI or a variable group, never in the YAML. */
  secretVariables: Record<string, string>;
  /** Listed at the top of each sample: every variable is named here. */
  valuesToChange: ValueToChange[];
  stages: PipelineStage[];
}

const connection = { azureSubscription: SERVICE_CONNECTION };

/** Where a job's scripts find the repository's files: the checkout (YAML), the artifact (classic). */
const SOURCES_YAML = "$(Build.SourcesDirectory)";
const SOURCE = { alias: "_todo-app", repository: "todo-app", branch: "main" };
const SOURCES_CLASSIC = `$(System.DefaultWorkingDirectory)/${SOURCE.alias}`;

/** The workspace in the sample: a placeholder subscription, so that a pasted pipeline names a workspace the user must give. */
/**
 * The samples' values for the ranges and the admin group: placeholders the tasks refuse before their
 * first write (not an IPv4 range, not an object ID), so that a sample pasted unchanged can neither
 * replace a cluster's authorized ranges nor hand its administration to a group nobody chose. The
 * demo queues the pipeline with DEMO_VALUES instead.
 */
const PLACEHOLDER = {
  adminRanges: "REPLACE-with-your-admin-ranges",
  aksAdminGroupObjectId: "REPLACE-with-your-admin-group-object-id",
};

/** The demo's values for the samples' placeholders: documentation addresses and a made-up group of the local directory. */
export const DEMO_VALUES = {
  adminRanges: "203.0.113.0/24, 198.51.100.14",
  aksAdminGroupObjectId: "5f8e4b2a-7c1d-4e3f-9a6b-2d0c8e1f7a34",
};

const SAMPLE_WORKSPACE_ID =
  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/law-todo-app";

/**
 * The deploy job's sign-in once local accounts are off: the user kubeconfig of `az aks get-credentials`
 * runs kubelogin, which `convert-kubeconfig -l azurecli` points at the AzureCLI@2 step's own sign-in
 * (the service connection). docs/tasks/SecureClusterAccess.md, "Deploy steps after it".
 */
function deployScript(clientId: string, sources: string, lookUpClientId: boolean): string {
  return [
    "set -euo pipefail",
    ...(lookUpClientId ? ["identityClientId=$(az identity show -g $(resourceGroup) -n $(identityName) --query clientId -o tsv)"] : []),
    "az aks get-credentials --resource-group $(resourceGroup) --name $(clusterName) --overwrite-existing",
    "kubelogin convert-kubeconfig -l azurecli",
    "kubectl auth can-i create deployments --namespace $(appNamespace)",
    "kubectl create serviceaccount $(serviceAccount) --namespace $(appNamespace) --dry-run=client -o yaml | kubectl apply -f -",
    `kubectl annotate serviceaccount $(serviceAccount) --namespace $(appNamespace) --overwrite azure.workload.identity/client-id=${clientId}`,
    `kubectl apply --namespace $(appNamespace) -f ${sources}/deploy/`,
    "",
  ].join("\n");
}

/**
 * Checks that stay report-only by design: no task fixes them, because the fix is no release step.
 * network.policy on a cluster without an engine: turning one on reimages every node pool at once.
 */
export const REPORT_ONLY_CHECKS = ["network.policy"];

/** The gate's skip of the report-only check, with its reason (the demo runs the gate without it: it does not skip). */
export const REPORT_ONLY_SKIP =
  "network.policy: turning on a network policy engine reimages every node pool at once, a maintenance-window change rather than a release step (az aks update --network-dataplane cilium); delete this line once the cluster has an engine\n";

/** Defender's sensor sending to the pipeline's workspace, and the subscription's Containers plan: the same step in both pipelines. */
const defenderStep: PipelineStep = {
  task: "EnableDefender@1",
  name: "defender",
  displayName: "Defender for Containers' sensor and plan",
  inputs: {
    ...connection,
    resourceGroupName: "$(resourceGroup)",
    clusterName: "$(clusterName)",
    logAnalyticsWorkspaceId: "$(logAnalyticsWorkspaceId)",
    enableContainersPlan: "true",
  },
};

export const hardeningPipeline: Pipeline = {
  name: "AKS hardening",
  description: "the article's hardening steps as a multi-stage pipeline, with the cluster's access, upgrades and Defender before them.",
  demoCommand: "npm run demo",
  source: SOURCE,
  variables: {
    resourceGroup: "rg-todo-app",
    clusterName: "aks-todo-app",
    identityName: "id-todo-app",
    keyVaultName: "kv-todo-app",
    appNamespace: "todo",
    serviceAccount: "todo-app",
    ...PLACEHOLDER,
    logAnalyticsWorkspaceId: SAMPLE_WORKSPACE_ID,
    allowedImagesRegex: "^todoappregistry\\.azurecr\\.io/.+$",
    cpuLimit: "500m",
    memoryLimit: "512Mi",
  },
  secretVariables: {
    dbUrl: "JDBC URL of the app's database",
    dbUser: "database user",
    dbPassword: "database password",
  },
  valuesToChange: [
    {
      names: [SERVICE_CONNECTION],
      note: "the Azure Resource Manager service connection every task names in azureSubscription (the permissions it needs: docs/least-privilege.md of the extension)",
    },
    { names: ["resourceGroup", "clusterName"], note: "your AKS cluster" },
    { names: ["identityName"], note: "the app's user-assigned managed identity, in resourceGroup" },
    {
      names: ["keyVaultName"],
      note: "the app's key vault, in resourceGroup; the service connection writes its secrets (Key Vault Secrets Officer on an RBAC vault, or an access policy with get, list, set). ProtectKeyVault@1 then closes its network to all but the cluster: add anyone else who reads it to its allowClusters or allowedIpRanges",
    },
    {
      names: ["appNamespace", "serviceAccount"],
      note: "the app's namespace (it must exist: the deploy job may write in it, not create it) and its service account",
    },
    {
      names: ["adminRanges"],
      note: "every range that must reach the API server (your admins' networks, self-hosted agents): RestrictApiServer@1 uses them with action: set, which REPLACES the API server's authorized ranges; the placeholder is refused before any write",
    },
    {
      names: ["aksAdminGroupObjectId"],
      note: "the object ID of the Entra group whose members administer the cluster (az ad group show --group <name> --query id): SecureClusterAccess@1 turns on Entra ID (irreversible) and turns local accounts off; the placeholder is refused before any write",
    },
    {
      names: ["logAnalyticsWorkspaceId"],
      note: "the Log Analytics workspace Defender's sensor sends to (a placeholder subscription here); enableContainersPlan: true turns on the subscription's billed Defender for Containers plan",
    },
    {
      names: ["allowedImagesRegex", "cpuLimit", "memoryLimit"],
      note: "enforced in Deny: a new pod whose image does not match, or whose CPU or memory limit is above these, is refused",
    },
    {
      names: ["maintenanceWindow", "nodeOsMaintenanceWindow"],
      note: "when AKS may upgrade Kubernetes and the nodes' OS (ConfigureAutoUpgrade@1's inputs)",
    },
    {
      names: ["skipChecks"],
      note: "the Verify gate leaves out network.policy, with its reason; delete that line once the cluster has a network policy engine",
    },
  ],
  stages: [
    {
      stage: "Assess",
      displayName: "Hardening report (before)",
      jobs: [
        {
          job: "Assess",
          displayName: "Where the cluster stands before this release",
          steps: [
            {
              task: "AksHardeningReport@1",
              name: "before",
              displayName: "Hardening scorecard before the release",
              comment: "Read-only. A gate that reports without stopping (failOn: never); raise it to error once the cluster passes.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                keyVaultNames: "$(keyVaultName)",
                failOn: "never",
              },
            },
          ],
        },
      ],
    },
    {
      stage: "Cluster",
      displayName: "Cluster access, upgrades and Defender",
      jobs: [
        {
          job: "Cluster",
          displayName: "Entra ID sign-in, auto-upgrade, Defender for Containers",
          steps: [
            {
              task: "SecureClusterAccess@1",
              name: "access",
              displayName: "Entra ID with the admin group, Azure RBAC, no local accounts; the deploy job's role",
              comment:
                "Entra ID cannot be turned off again. The deploy job below signs in as this pipeline's service connection,\nwith the AKS RBAC Writer role in the app's namespace granted here.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                adminGroupObjectIds: "$(aksAdminGroupObjectId)",
                clusterRoleGrants: "serviceConnection writer $(appNamespace) # the deploy job's kubectl\n",
              },
            },
            {
              task: "ConfigureAutoUpgrade@1",
              name: "upgrades",
              displayName: "Patch releases and weekly node images, in maintenance windows",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                upgradeChannel: "patch",
                nodeOsUpgradeChannel: "NodeImage",
                maintenanceWindow: "weekly Sunday 01:00 4h +00:00",
                nodeOsMaintenanceWindow: "weekly Saturday 01:00 4h +00:00",
              },
            },
            {
              ...defenderStep,
              comment: "The plan is billed per vCore, for every cluster of the subscription; without it the sensor produces no detections.",
            },
          ],
        },
      ],
    },
    {
      stage: "IdentityAndSecrets",
      displayName: "Identity and Key Vault",
      dependsOn: "Cluster",
      jobs: [
        {
          job: "Identity",
          displayName: "Managed identity for the app's pods, secrets in Key Vault",
          steps: [
            {
              task: "EnablePodIdentity@1",
              name: "identity",
              displayName: "Workload ID for the app's pods",
              comment:
                "The article uses the AAD pod-identity add-on (identityMode: podIdentity, podIdentityName, grantReaderOnNodeResourceGroup: true);\nits successor, Workload ID, gives the pods the same managed identity.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                identityMode: "workloadIdentity",
                identity: "$(identityName)",
                namespace: "$(appNamespace)",
                serviceAccountName: "$(serviceAccount)",
              },
            },
            {
              task: "KeyVaultSecrets@1",
              name: "secrets",
              displayName: "Grant the identity get/list and write the database secrets",
              comment:
                "The article's az keyvault set-policy and secret set: db-url, db-user and db-password from secret variables.\nincludeAgentIp opens a vault whose firewall denies by default to this agent until the job ends.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                keyVaultName: "$(keyVaultName)",
                grantTo: "$(identity.principalId)",
                secretPermissions: "get,list",
                secrets: "db-url=$(dbUrl)\ndb-user=$(dbUser)\ndb-password=$(dbPassword)\n",
                includeAgentIp: "true",
              },
            },
            {
              task: "ProtectKeyVault@1",
              name: "vaultNetwork",
              displayName: "Close the vault's network to all but the cluster",
              comment:
                "The vault's firewall denies by default and lets the cluster's egress in. After the secrets step, whose\nincludeAgentIp lets this agent write through the closed firewall on the next run.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                keyVaultName: "$(keyVaultName)",
                firewall: "denyByDefault",
                allowClusters: "$(resourceGroup)/$(clusterName)",
              },
            },
          ],
        },
      ],
    },
    {
      stage: "Deploy",
      displayName: "Deploy the app",
      dependsOn: "IdentityAndSecrets",
      jobs: [
        {
          job: "Deploy",
          displayName: "Deploy through a restricted API server",
          usesSource: true,
          variables: { identityClientId: "$[ stageDependencies.IdentityAndSecrets.Identity.outputs['identity.clientId'] ]" },
          steps: [
            {
              task: "RestrictApiServer@1",
              name: "apiServer",
              displayName: "Restrict the API server; let this agent in for the job",
              comment: "The article's --api-server-authorized-ip-ranges, plus this agent until the job ends (a post-job step removes it).",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                action: "set",
                authorizedIpRanges: "$(adminRanges)",
                includeAgentIp: "true",
                agentIpScope: "job",
              },
            },
            {
              task: "KubeloginInstaller@0",
              displayName: "Install kubelogin",
              comment: "Microsoft-hosted images carry az and kubectl but not kubelogin, which Entra ID sign-in needs.",
              inputs: { kubeloginVersion: "latest" },
            },
            {
              task: "AzureCLI@2",
              displayName: "Deploy the app",
              comment:
                "Your deployment: the API server now admits this agent, and kubectl signs in through kubelogin as the service\nconnection (local accounts are off, so get-credentials --admin is refused). The manifests are the repository's deploy/ folder.",
              inputs: {
                ...connection,
                scriptType: "bash",
                scriptLocation: "inlineScript",
                inlineScript: deployScript("$(identityClientId)", SOURCES_YAML, false),
              },
              classicInputs: {
                // Classic release stages cannot read another stage's outputs: look the client ID up instead.
                inlineScript: deployScript('"$identityClientId"', SOURCES_CLASSIC, true),
              },
            },
          ],
        },
      ],
    },
    {
      stage: "Policies",
      displayName: "Azure Policy",
      dependsOn: "Deploy",
      jobs: [
        {
          job: "Policies",
          displayName: "Enforce the article's policies",
          steps: [
            {
              task: "AssignAksPolicies@1",
              name: "policies",
              displayName: "No privileged containers, CPU/memory limits, trusted registry (Deny)",
              comment: "The article's governance: the Azure Policy add-on and three built-in policies, enforced.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                enableAddon: "true",
                policies: "noPrivilegedContainers,resourceLimits,allowedImages",
                effect: "Deny",
                cpuLimit: "$(cpuLimit)",
                memoryLimit: "$(memoryLimit)",
                allowedImagesRegex: "$(allowedImagesRegex)",
                reportCompliance: "true",
              },
            },
          ],
        },
      ],
    },
    {
      stage: "Verify",
      displayName: "Hardening report (after)",
      dependsOn: "Policies",
      jobs: [
        {
          job: "Verify",
          displayName: "Proof that the hardening is in place",
          steps: [
            {
              task: "AksHardeningReport@1",
              name: "after",
              displayName: "Hardening scorecard after the release (gate)",
              comment:
                "Fails the release if a check fails. A skipped check is named with its reason; network.policy stays report-only\n(no task turns on a network policy engine: it reimages every node pool).",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                keyVaultNames: "$(keyVaultName)",
                failOn: "error",
                skipChecks: REPORT_ONLY_SKIP,
              },
            },
          ],
        },
      ],
    },
  ],
};

/** The agent's public IP in the demo (not among the admin ranges, so the job adds and removes it). */
export const DEMO_AGENT_IP = "198.51.100.200";

/**
 * In the demo a newly authorized address reaches the API server only after two of the agent's
 * connection attempts were dropped (AKS applies authorized ranges late), and each attempt gives up
 * after half a second instead of ten, so the wait shows without slowing the demo down.
 */
export const DEMO_BLOCKED_PROBES = 2;
export const DEMO_VARIABLES = { "AksHardening.ApiServerProbeTimeoutSeconds": "0.5" };

/**
 * What the demo changes in the sample's pipeline, and why. The gate runs without the sample's
 * `skipChecks` for network.policy: the demo shows every verdict (the template cluster passes it; the
 * plain one fails it, report-only by design, and the plain demo reports instead of gating).
 */
export const DEMO_GATE_INPUTS: Inputs = { skipChecks: "" };

/** The demo's Log Analytics workspace (the sample's placeholder names another subscription). */
const DEMO_WORKSPACE = { resourceGroup: "rg-monitoring", name: "law-todo-app" };

/** The pipeline's variables as the demo queues it: its ranges and admin group, and the local subscription's workspace. */
export function demoPipelineVariables(azure: LocalAzure): Record<string, string> {
  return {
    ...DEMO_VALUES,
    logAnalyticsWorkspaceId: `/subscriptions/${azure.subscriptionId}/resourceGroups/${DEMO_WORKSPACE.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${DEMO_WORKSPACE.name}`,
  };
}

/** Key Vault Secrets Officer: what the service connection needs to write secrets in an RBAC vault. */
const KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";

/**
 * The settings the platform team's cluster template gives every cluster, field names as
 * ManagedCluster in the 2026-04-01 spec: Entra ID with the admin group, Azure RBAC and no local
 * accounts; Azure CNI Overlay with Cilium as network policy engine and dataplane (Azure Network Policy
 * Manager retires: Linux 30 Sep 2028); the patch channel and weekly node images; Defender's sensor
 * sending to the team's workspace. What the pipeline adds to it: the deploy job's own role, the
 * maintenance windows, the Containers plan, Workload ID, the app's secrets, ranges and policies.
 */
export function platformTemplate(azure: LocalAzure): Record<string, unknown> {
  return {
    aadProfile: {
      managed: true,
      enableAzureRBAC: true,
      adminGroupObjectIDs: [DEMO_VALUES.aksAdminGroupObjectId],
      tenantID: azure.tenantId,
    },
    disableLocalAccounts: true,
    networkProfile: { networkPlugin: "azure", networkPluginMode: "overlay", networkPolicy: "cilium", networkDataplane: "cilium" },
    autoUpgradeProfile: { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" },
    securityProfile: {
      defender: {
        logAnalyticsWorkspaceResourceId: demoPipelineVariables(azure).logAnalyticsWorkspaceId,
        securityMonitoring: { enabled: true },
      },
    },
  };
}

/**
 * A cluster as `az aks create -g <group> -n <name>` leaves it, on top of the local Azure's running
 * cluster (the spec example's shape): az's own defaults (azure-cli acs/custom.py aks_create:
 * disable_local_accounts False, enable_aad False, enable_azure_rbac False, enable_oidc_issuer False,
 * auto_upgrade_channel None, network_policy None; Kubernetes RBAC on) and AKS's for what az leaves
 * unset: Azure CNI Overlay from Kubernetes 1.30 (azure-rest-api-specs#30845; `az aks create` → `azure`,
 * overlay in Azure/AKS#4897), no network policy engine, the node OS channel NodeImage (API 2023-06-01
 * and later: MicrosoftDocs/azure-docs#114101, #123236), the auto-upgrade channel none ("Default setting
 * if left unchanged", AKS docs auto-upgrade-cluster), no authorized ranges, no add-ons, no Defender.
 * Its version is the region's default (1.33 in the local Azure), below 1.34, where AKS turns the OIDC
 * issuer on for new clusters (AKS docs use-oidc-issuer, prerequisites).
 */
export const AZ_AKS_CREATE_CLUSTER = {
  networkProfile: {
    networkPlugin: "azure",
    networkPluginMode: "overlay",
    networkDataplane: "azure",
    loadBalancerSku: "standard",
    outboundType: "loadBalancer",
    podCidr: "10.244.0.0/16",
    serviceCidr: "10.0.0.0/16",
    dnsServiceIP: "10.0.0.10",
  },
  enableRBAC: true,
  disableLocalAccounts: false,
  autoUpgradeProfile: { upgradeChannel: "none", nodeOSUpgradeChannel: "NodeImage" },
  oidcIssuerProfile: { enabled: false },
  securityProfile: {},
  addonProfiles: {},
};

/** A cluster and the outbound public IP AKS gives it in the node resource group (what ProtectKeyVault@1 reads to let the cluster in). */
function addCluster(azure: LocalAzure, resourceGroup: string, name: string, properties: Record<string, unknown>): void {
  addClusterOutboundIps(azure.store, azure.store.addManagedCluster(resourceGroup, name, { properties }));
}

function addDemoWorkspace(azure: LocalAzure): void {
  azure.store.addResourceGroup(DEMO_WORKSPACE.resourceGroup);
  azure.store.put(logAnalyticsWorkspace({ subscriptionId: azure.subscriptionId, ...DEMO_WORKSPACE, location: "westeurope" }));
}

/** The resources both demos start from besides the cluster and the vault: the app's identity, the admin group, the workspace. */
function seedCommon(azure: LocalAzure): void {
  const v = hardeningPipeline.variables;
  azure.store.addUserAssignedIdentity(v.resourceGroup!, v.identityName!);
  azure.store.directory.addUserOrGroup("Group", DEMO_VALUES.aksAdminGroupObjectId);
  addDemoWorkspace(azure);
  azure.publicIp = DEMO_AGENT_IP;
  azure.apiServers.propagationProbes = DEMO_BLOCKED_PROBES;
}

/**
 * What `npm run demo` starts from in the local Azure: the cluster (the platform template, API server
 * open to every address), the app's user-assigned identity, the admin group and the team's workspace,
 * and the key vault (soft delete and purge protection on) whose access policy lets the pipeline's
 * service connection (`connectionObjectId`) write secrets.
 */
export function seedLocalAzure(azure: LocalAzure, connectionObjectId: string): void {
  const v = hardeningPipeline.variables;
  seedCommon(azure);
  addCluster(azure, v.resourceGroup!, v.clusterName!, platformTemplate(azure));
  azure.store.addKeyVault(v.resourceGroup!, v.keyVaultName!, {
    properties: { enablePurgeProtection: true },
    accessPolicies: [
      { tenantId: azure.tenantId, objectId: connectionObjectId, permissions: { secrets: ["get", "list", "set", "recover"] } },
    ],
  });
}

/**
 * What `npm run demo -- --plain` starts from: the cluster as `az aks create` leaves it, and a new key
 * vault as Key Vault 2026-02-01 creates it (Azure RBAC, public access, the firewall allowing every
 * address, purge protection off), on which the service connection holds Key Vault Secrets Officer
 * (an RBAC vault gives its creator no data access).
 */
export function seedPlain(azure: LocalAzure, connectionObjectId: string): void {
  const v = hardeningPipeline.variables;
  seedCommon(azure);
  addCluster(azure, v.resourceGroup!, v.clusterName!, structuredClone(AZ_AKS_CREATE_CLUSTER));
  const vault = azure.store.addKeyVault(v.resourceGroup!, v.keyVaultName!, { enableRbacAuthorization: true });
  assignRole(azure.store, { principalId: connectionObjectId, roleDefinitionId: KEY_VAULT_SECRETS_OFFICER, scope: vault.id });
}

/** Whether the cluster's API server lets the agent in now (its ranges in force, not just written). */
export function apiServerAdmitsAgent(azure: LocalAzure): boolean {
  const v = hardeningPipeline.variables;
  const fqdn = azure.store.getManagedCluster(v.resourceGroup!, v.clusterName!)?.properties?.["fqdn"];
  return typeof fqdn === "string" && azure.apiServers.admitsAgent(fqdn);
}

/**
 * The fleet variant: a platform team hardens several clusters in one stage. The database secrets are
 * written once to the team's vault; then a matrix runs the cluster tasks on every cluster as parallel jobs
 * (one agent each): Entra ID sign-in, auto-upgrade and Defender, Workload ID for the cluster's own
 * identity, that identity's read access on the shared vault, the admin ranges, and the policies. One identity per cluster: Microsoft Entra refuses
 * federated credentials written concurrently under one managed identity (workload identity federation
 * considerations, "concurrent updates"), which parallel jobs sharing an identity would do.
 */
export const FLEET_CLUSTERS = {
  westeurope: { resourceGroup: "rg-aks-weu", clusterName: "aks-todo-weu", identityName: "id-todo-weu" },
  northeurope: { resourceGroup: "rg-aks-neu", clusterName: "aks-todo-neu", identityName: "id-todo-neu" },
  eastus: { resourceGroup: "rg-aks-eus", clusterName: "aks-todo-eus", identityName: "id-todo-eus" },
} as const;

export const fleetPipeline: Pipeline = {
  name: "AKS hardening, fleet",
  description:
    "the cluster tasks over several clusters in one stage, as parallel jobs (a matrix leg per cluster), each leg scored before and after.\n" +
    "Add a cluster by adding a leg; each leg needs one parallel job (Organization settings → Parallel jobs) to run at the same time.",
  demoCommand: "npm run demo -- --fleet",
  source: SOURCE,
  variables: {
    vaultResourceGroup: "rg-platform",
    keyVaultName: "kv-todo-fleet",
    appNamespace: "todo",
    serviceAccount: "todo-app",
    ...PLACEHOLDER,
    logAnalyticsWorkspaceId: SAMPLE_WORKSPACE_ID,
    allowedImagesRegex: hardeningPipeline.variables.allowedImagesRegex!,
    cpuLimit: hardeningPipeline.variables.cpuLimit!,
    memoryLimit: hardeningPipeline.variables.memoryLimit!,
  },
  secretVariables: hardeningPipeline.secretVariables,
  valuesToChange: [
    hardeningPipeline.valuesToChange[0]!,
    {
      names: ["matrix"],
      note: "one leg per cluster: its resourceGroup, clusterName and the user-assigned managed identity (identityName) of its app; list the same clusters in the vault step's allowClusters",
    },
    {
      names: ["vaultResourceGroup", "keyVaultName"],
      note: "the team's key vault; the service connection writes its secrets (Key Vault Secrets Officer on an RBAC vault, or an access policy with get, list, set)",
    },
    {
      names: ["appNamespace", "serviceAccount"],
      note: "the app's namespace and service account on every cluster (the subject its identity's federated credential trusts)",
    },
    ...hardeningPipeline.valuesToChange.filter((value) =>
      ["adminRanges", "aksAdminGroupObjectId", "logAnalyticsWorkspaceId", "allowedImagesRegex"].includes(value.names[0]!),
    ),
  ],
  stages: [
    {
      stage: "Secrets",
      displayName: "Database secrets in the team's vault",
      jobs: [
        {
          job: "Secrets",
          displayName: "Write the database secrets once",
          steps: [
            {
              task: "KeyVaultSecrets@1",
              name: "secrets",
              displayName: "Write the database secrets",
              comment: "includeAgentIp: the vault step below closes the vault; from then on this agent writes through it for the job only.",
              inputs: {
                ...connection,
                resourceGroupName: "$(vaultResourceGroup)",
                keyVaultName: "$(keyVaultName)",
                secrets: "db-url=$(dbUrl)\ndb-user=$(dbUser)\ndb-password=$(dbPassword)\n",
                includeAgentIp: "true",
              },
            },
            {
              task: "ProtectKeyVault@1",
              name: "vaultNetwork",
              displayName: "Close the team's vault to all but the fleet's clusters",
              comment: "One line per cluster of the matrix below.",
              inputs: {
                ...connection,
                resourceGroupName: "$(vaultResourceGroup)",
                keyVaultName: "$(keyVaultName)",
                firewall: "denyByDefault",
                allowClusters: Object.entries(FLEET_CLUSTERS)
                  .map(([leg, c]) => `${c.resourceGroup}/${c.clusterName} # ${leg}\n`)
                  .join(""),
              },
            },
          ],
        },
      ],
    },
    {
      stage: "Harden",
      displayName: "Harden every cluster",
      dependsOn: "Secrets",
      jobs: [
        {
          job: "Harden",
          displayName: "Harden a cluster",
          strategy: {
            maxParallel: Object.keys(FLEET_CLUSTERS).length,
            matrix: Object.fromEntries(Object.entries(FLEET_CLUSTERS).map(([leg, cluster]) => [leg, { ...cluster }])),
          },
          steps: [
            {
              task: "AksHardeningReport@1",
              name: "before",
              displayName: "Hardening scorecard of this cluster, before",
              comment: "Read-only, report only (failOn: never): where this cluster stands before the job hardens it.",
              inputs: { ...connection, resourceGroupName: "$(resourceGroup)", clusterName: "$(clusterName)", failOn: "never" },
            },
            {
              task: "SecureClusterAccess@1",
              name: "access",
              displayName: "Entra ID with the admin group, Azure RBAC, no local accounts",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                adminGroupObjectIds: "$(aksAdminGroupObjectId)",
              },
            },
            {
              task: "ConfigureAutoUpgrade@1",
              name: "upgrades",
              displayName: "Patch releases and weekly node images",
              inputs: { ...connection, resourceGroupName: "$(resourceGroup)", clusterName: "$(clusterName)" },
            },
            defenderStep,
            {
              task: "EnablePodIdentity@1",
              name: "identity",
              displayName: "Workload ID for the app's pods",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                identity: "$(identityName)",
                namespace: "$(appNamespace)",
                serviceAccountName: "$(serviceAccount)",
              },
            },
            {
              task: "KeyVaultSecrets@1",
              name: "vaultAccess",
              displayName: "Let the cluster's identity read the secrets",
              inputs: {
                ...connection,
                resourceGroupName: "$(vaultResourceGroup)",
                keyVaultName: "$(keyVaultName)",
                grantTo: "$(identity.principalId)",
              },
            },
            {
              task: "RestrictApiServer@1",
              name: "apiServer",
              displayName: "Restrict the API server to the admin ranges",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                action: "set",
                authorizedIpRanges: "$(adminRanges)",
              },
            },
            {
              task: "AssignAksPolicies@1",
              name: "policies",
              displayName: "No privileged containers, CPU/memory limits, trusted registry (Deny)",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                policies: "noPrivilegedContainers,resourceLimits,allowedImages",
                effect: "Deny",
                cpuLimit: "$(cpuLimit)",
                memoryLimit: "$(memoryLimit)",
                allowedImagesRegex: "$(allowedImagesRegex)",
              },
            },
            {
              task: "AksHardeningReport@1",
              name: "after",
              displayName: "Hardening scorecard of this cluster, after",
              comment: "The same scorecard after the job: its outputs (passed, failed, failedChecks) are this cluster's proof.",
              inputs: { ...connection, resourceGroupName: "$(resourceGroup)", clusterName: "$(clusterName)", failOn: "never" },
            },
          ],
        },
      ],
    },
  ],
};

/**
 * The fleet's clusters (as `az aks create` leaves them) and identities, the admin group and the
 * workspace, and the team's vault (with an access policy of someone else the runs must keep).
 */
export function seedFleet(azure: LocalAzure, connectionObjectId: string, bystanderObjectId: string): void {
  azure.store.directory.addUserOrGroup("Group", DEMO_VALUES.aksAdminGroupObjectId);
  addDemoWorkspace(azure);
  for (const cluster of Object.values(FLEET_CLUSTERS)) {
    addCluster(azure, cluster.resourceGroup, cluster.clusterName, structuredClone(AZ_AKS_CREATE_CLUSTER));
    azure.store.addUserAssignedIdentity(cluster.resourceGroup, cluster.identityName);
  }
  azure.store.addKeyVault(fleetPipeline.variables.vaultResourceGroup!, fleetPipeline.variables.keyVaultName!, {
    accessPolicies: [
      { tenantId: azure.tenantId, objectId: connectionObjectId, permissions: { secrets: ["get", "list", "set", "recover"] } },
      { tenantId: azure.tenantId, objectId: bystanderObjectId, permissions: { secrets: ["get"], keys: ["get"] } },
    ],
  });
}
