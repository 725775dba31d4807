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
  stages: PipelineStage[];
}

const connection = { azureSubscription: SERVICE_CONNECTION };

/** Where a job's scripts find the repository's files: the checkout (YAML), the artifact (classic). */
const SOURCES_YAML = "$(Build.SourcesDirectory)";
const SOURCE = { alias: "_todo-app", repository: "todo-app", branch: "main" };
const SOURCES_CLASSIC = `$(System.DefaultWorkingDirectory)/${SOURCE.alias}`;

export const hardeningPipeline: Pipeline = {
  name: "AKS hardening",
  description: "the article's hardening steps as a multi-stage pipeline.",
  demoCommand: "npm run demo",
  source: SOURCE,
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
              task: "AzureCLI@2",
              displayName: "Deploy the app (placeholder)",
              comment: "Your deployment: the API server now admits this agent. The manifests are the repository's deploy/ folder.",
              inputs: {
                ...connection,
                scriptType: "bash",
                scriptLocation: "inlineScript",
                inlineScript: [
                  "az aks get-credentials -g $(resourceGroup) -n $(clusterName) --overwrite-existing",
                  "kubectl create namespace $(appNamespace) --dry-run=client -o yaml | kubectl apply -f -",
                  "kubectl create serviceaccount $(serviceAccount) -n $(appNamespace) --dry-run=client -o yaml | kubectl apply -f -",
                  "kubectl annotate serviceaccount $(serviceAccount) -n $(appNamespace) --overwrite azure.workload.identity/client-id=$(identityClientId)",
                  `kubectl apply -n $(appNamespace) -f ${SOURCES_YAML}/deploy/`,
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
                  `kubectl apply -n $(appNamespace) -f ${SOURCES_CLASSIC}/deploy/`,
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
 * What the pipeline starts from in the local Azure: the cluster (Azure CNI, API server open to every
 * address), the app's user-assigned identity, and the key vault whose access policy lets the pipeline's
 * service connection (`connectionObjectId`) write secrets.
 */
export function seedLocalAzure(azure: LocalAzure, connectionObjectId: string): void {
  const v = hardeningPipeline.variables;
  azure.store.addManagedCluster(v.resourceGroup!, v.clusterName!, { properties: { networkProfile: { networkPlugin: "azure" } } });
  azure.store.addUserAssignedIdentity(v.resourceGroup!, v.identityName!);
  azure.store.addKeyVault(v.resourceGroup!, v.keyVaultName!, {
    accessPolicies: [
      { tenantId: azure.tenantId, objectId: connectionObjectId, permissions: { secrets: ["get", "list", "set", "recover"] } },
    ],
  });
  azure.publicIp = DEMO_AGENT_IP;
  azure.apiServers.propagationProbes = DEMO_BLOCKED_PROBES;
}

/** Whether the cluster's API server lets the agent in now (its ranges in force, not just written). */
export function apiServerAdmitsAgent(azure: LocalAzure): boolean {
  const v = hardeningPipeline.variables;
  const fqdn = azure.store.getManagedCluster(v.resourceGroup!, v.clusterName!)?.properties?.["fqdn"];
  return typeof fqdn === "string" && azure.apiServers.admitsAgent(fqdn);
}

/**
 * The fleet variant: a platform team hardens several clusters in one stage. The database secrets are
 * written once to the team's vault; then a matrix runs the four tasks on every cluster as parallel jobs
 * (one agent each): Workload ID for the cluster's own identity, that identity's read access on the
 * shared vault, the admin ranges, and the policies. One identity per cluster: Microsoft Entra refuses
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
    "the four tasks over several clusters in one stage, as parallel jobs (a matrix leg per cluster).\n" +
    "Add a cluster by adding a leg; each leg needs one parallel job (Organization settings → Parallel jobs) to run at the same time.",
  demoCommand: "npm run demo -- --fleet",
  source: SOURCE,
  variables: {
    vaultResourceGroup: "rg-platform",
    keyVaultName: "kv-todo-fleet",
    appNamespace: "todo",
    serviceAccount: "todo-app",
    adminRanges: "203.0.113.0/24, 198.51.100.14",
  },
  secretVariables: hardeningPipeline.secretVariables,
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
              inputs: {
                ...connection,
                resourceGroupName: "$(vaultResourceGroup)",
                keyVaultName: "$(keyVaultName)",
                secrets: "db-url=$(dbUrl)\ndb-user=$(dbUser)\ndb-password=$(dbPassword)\n",
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
                cpuLimit: "500m",
                memoryLimit: "512Mi",
                allowedImagesRegex: "^todoappregistry\\.azurecr\\.io/.+$",
              },
            },
          ],
        },
      ],
    },
  ],
};

/** The fleet's clusters and identities, and the team's vault (with an access policy of someone else the runs must keep). */
export function seedFleet(azure: LocalAzure, connectionObjectId: string, bystanderObjectId: string): void {
  for (const cluster of Object.values(FLEET_CLUSTERS)) {
    azure.store.addManagedCluster(cluster.resourceGroup, cluster.clusterName, {
      properties: { networkProfile: { networkPlugin: "azure" } },
    });
    azure.store.addUserAssignedIdentity(cluster.resourceGroup, cluster.identityName);
  }
  azure.store.addKeyVault(fleetPipeline.variables.vaultResourceGroup!, fleetPipeline.variables.keyVaultName!, {
    accessPolicies: [
      { tenantId: azure.tenantId, objectId: connectionObjectId, permissions: { secrets: ["get", "list", "set", "recover"] } },
      { tenantId: azure.tenantId, objectId: bystanderObjectId, permissions: { secrets: ["get"], keys: ["get"] } },
    ],
  });
}
