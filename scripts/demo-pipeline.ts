/**
 * The article's hardening pipeline, as data: the one definition that `npm run demo` runs, that
 * test/extension/demo-pipeline.test.ts checks, and that scripts/samples.ts renders into
 * samples/azure-pipelines.yml and samples/classic-release.json.
 *
 * The article's order: a managed identity for the app's pods, Key Vault access and the database
 * secrets, the deployment, then the API server restricted and Azure Policy enforced. The API server
 * step sits at the start of the deploy job: it sets the permanent list and lets this agent in for the
 * job only (the post-job step closes it again), so the deployment can reach the API server.
 */
import type { LocalAzure } from "../local-azure/index";

/** The AzureRM service connection's name in the samples; the demo maps it to the local Azure. */
export const SERVICE_CONNECTION = "my-azure-connection";

/** AzureCLI@2, the stock task the deploy placeholder uses (not part of this extension). */
export const AZURE_CLI_TASK_ID = "46e4be58-730b-4389-8a2f-ea10b3e5e815";

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
  /** Job variables; `$[ stageDependencies.<stage>.<job>.outputs['<step>.<output>'] ]` reads an earlier stage's output. */
  variables?: Record<string, string>;
  steps: PipelineStep[];
}

export interface PipelineStage {
  stage: string;
  displayName: string;
  dependsOn?: string;
  jobs: PipelineJob[];
}

export interface Pipeline {
  name: string;
  variables: Record<string, string>;
  /** Secret variables: set in the pipeline's UI or a variable group, never in the YAML. */
  secretVariables: Record<string, string>;
  stages: PipelineStage[];
}

const connection = { azureSubscription: SERVICE_CONNECTION };

export const hardeningPipeline: Pipeline = {
  name: "AKS hardening",
  variables: {
    resourceGroup: "rg-todo-app",
    clusterName: "aks-todo-app",
    identityName: "id-todo-app",
    keyVaultName: "kv-todo-app",
    appNamespace: "todo",
    serviceAccount: "todo-app",
    adminRanges: "203.0.113.0/24, 198.51.100.14",
  },
  secretVariables: {
    dbUrl: "JDBC URL of the app's database",
    dbUser: "database user",
    dbPassword: "database password",
  },
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
      stage: "IdentityAndSecrets",
      displayName: "Identity and Key Vault",
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
              comment: "The article's az keyvault set-policy and secret set: db-url, db-user and db-password from secret variables.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                keyVaultName: "$(keyVaultName)",
                grantTo: "$(identity.principalId)",
                secretPermissions: "get,list",
                secrets: "db-url=$(dbUrl)\ndb-user=$(dbUser)\ndb-password=$(dbPassword)\n",
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
              task: "AzureCLI@2",
              displayName: "Deploy the app (placeholder)",
              comment: "Your deployment: the API server now admits this agent.",
              inputs: {
                ...connection,
                scriptType: "bash",
                scriptLocation: "inlineScript",
                inlineScript: [
                  "az aks get-credentials -g $(resourceGroup) -n $(clusterName) --overwrite-existing",
                  "kubectl create namespace $(appNamespace) --dry-run=client -o yaml | kubectl apply -f -",
                  "kubectl create serviceaccount $(serviceAccount) -n $(appNamespace) --dry-run=client -o yaml | kubectl apply -f -",
                  "kubectl annotate serviceaccount $(serviceAccount) -n $(appNamespace) --overwrite azure.workload.identity/client-id=$(identityClientId)",
                  "kubectl apply -n $(appNamespace) -f deploy/",
                  "",
                ].join("\n"),
              },
              classicInputs: {
                // Classic release stages cannot read another stage's outputs: look the client ID up instead.
                inlineScript: [
                  "identityClientId=$(az identity show -g $(resourceGroup) -n $(identityName) --query clientId -o tsv)",
                  "az aks get-credentials -g $(resourceGroup) -n $(clusterName) --overwrite-existing",
                  "kubectl create namespace $(appNamespace) --dry-run=client -o yaml | kubectl apply -f -",
                  "kubectl create serviceaccount $(serviceAccount) -n $(appNamespace) --dry-run=client -o yaml | kubectl apply -f -",
                  'kubectl annotate serviceaccount $(serviceAccount) -n $(appNamespace) --overwrite azure.workload.identity/client-id="$identityClientId"',
                  "kubectl apply -n $(appNamespace) -f deploy/",
                  "",
                ].join("\n"),
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
                cpuLimit: "500m",
                memoryLimit: "512Mi",
                allowedImagesRegex: "^todoappregistry\\.azurecr\\.io/.+$",
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
                "Fails the release if a check fails. The vault's network checks are skipped with their reason: this pipeline's\nagent writes the secrets over the vault's public endpoint.",
              inputs: {
                ...connection,
                resourceGroupName: "$(resourceGroup)",
                clusterName: "$(clusterName)",
                keyVaultNames: "$(keyVaultName)",
                failOn: "error",
                skipChecks:
                  "keyVault.network, keyVault.privateEndpoint: the Microsoft-hosted agent writes the secrets over the vault's public endpoint; close it once the agents run in the VNet\n",
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
 * The settings the platform team's cluster template gives every cluster, which this pipeline does not
 * change: Entra ID with Azure RBAC and no local accounts, a network policy engine, an auto-upgrade
 * channel and Defender for Containers (field names as ManagedCluster in the 2026-06-01 spec).
 */
export const PLATFORM_TEMPLATE = {
  aadProfile: { managed: true, enableAzureRBAC: true, adminGroupObjectIDs: ["5f8e4b2a-7c1d-4e3f-9a6b-2d0c8e1f7a34"] },
  disableLocalAccounts: true,
  networkProfile: { networkPlugin: "azure", networkPolicy: "azure" },
  autoUpgradeProfile: { upgradeChannel: "stable", nodeOSUpgradeChannel: "NodeImage" },
  securityProfile: {
    defender: {
      logAnalyticsWorkspaceResourceId:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/law-platform",
      securityMonitoring: { enabled: true },
    },
  },
};

/**
 * What the pipeline starts from in the local Azure: the cluster (the platform template, Azure CNI, API
 * server open to every address), the app's user-assigned identity, and the key vault (soft delete and
 * purge protection on) whose access policy lets the pipeline's service connection (`connectionObjectId`)
 * write secrets.
 */
export function seedLocalAzure(azure: LocalAzure, connectionObjectId: string): void {
  const v = hardeningPipeline.variables;
  azure.store.addManagedCluster(v.resourceGroup!, v.clusterName!, { properties: structuredClone(PLATFORM_TEMPLATE) });
  azure.store.addUserAssignedIdentity(v.resourceGroup!, v.identityName!);
  azure.store.addKeyVault(v.resourceGroup!, v.keyVaultName!, {
    properties: { enablePurgeProtection: true },
    accessPolicies: [
      { tenantId: azure.tenantId, objectId: connectionObjectId, permissions: { secrets: ["get", "list", "set", "recover"] } },
    ],
  });
  azure.publicIp = DEMO_AGENT_IP;
}
