import { after, before, describe, it } from "mocha";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Fixture } from "../harness/fixture";
import { logAnalyticsWorkspace, type ArmResource } from "../../local-azure/index";
import { cellName, type TaskName } from "./cells";

describe("test/reliability/bad-inputs", () => {
  /**
   * The bad-input matrix: malformed inputs for every task, each run as the agent runs the packaged
   * task. Every one must fail with a message that starts with the input's name, and nothing may be
   * written (no ARM write, no Key Vault write, the resources exactly as before).
   *
   * The per-task test files keep the cases that need a particular cluster (a private cluster, kubenet);
   * input-only cases live here, in one table.
   */

  let fx: Fixture;
  const RG = "rg-bad-inputs";
  let cluster: ArmResource;
  let identity: ArmResource;
  let vault: ArmResource;
  let workspace: ArmResource;
  let snapshot: ArmResource[];
  const ADMIN_GROUP = randomUUID();
  const DB_URL = `jdbc:postgresql://db.example:5432/todo?password=${randomUUID()}`;

  before(async () => {
    fx = await Fixture.start();
    cluster = fx.azure.store.addManagedCluster(RG, "aks-bad", {
      properties: { apiServerAccessProfile: { authorizedIPRanges: ["10.1.0.0/16"] }, networkProfile: { networkPlugin: "azure" } },
    });
    identity = fx.azure.store.addUserAssignedIdentity(RG, "id-bad");
    vault = fx.azure.store.addKeyVault(RG, "kv-bad-inputs", {
      accessPolicies: [
        { tenantId: fx.azure.tenantId, objectId: fx.principalObjectId(), permissions: { secrets: ["get", "list", "set", "recover"] } },
      ],
    });
    workspace = fx.azure.store.put(
      logAnalyticsWorkspace({ subscriptionId: fx.azure.subscriptionId, resourceGroup: RG, name: "law-bad-inputs", location: "westeurope" }),
    );
    snapshot = [cluster, identity, vault].map((r) => fx.azure.store.get(r.id)!);
  });
  after(async () => {
    await fx?.close();
  });

  type Inputs = Record<string, string | boolean | undefined>;

  interface BadInput {
    /** What is wrong, for the test name. */
    what: string;
    /** Merged over the task's valid inputs; undefined removes an input. */
    inputs?: Inputs | (() => Inputs);
    variables?: Record<string, string>;
    /** The input (or pipeline variable) the message must start with. */
    names: string;
    /** More of the message, when it matters. */
    says?: RegExp;
  }

  const long = (n: number, c = "a") => c.repeat(n);
  const subscriptionDefinition = (name: string) =>
    `/subscriptions/${fx.azure.subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/${name}`;

  const VALID: Record<TaskName, () => Inputs> = {
    RestrictApiServer: () => ({ resourceGroupName: RG, clusterName: "aks-bad", action: "add", authorizedIpRanges: "203.0.113.0/24" }),
    EnablePodIdentity: () => ({
      resourceGroupName: RG,
      clusterName: "aks-bad",
      identityMode: "podIdentity",
      identity: "id-bad",
      namespace: "todo",
      podIdentityName: "todo-app",
    }),
    KeyVaultSecrets: () => ({ keyVaultName: "kv-bad-inputs", resourceGroupName: RG, secrets: `db-url=${DB_URL}` }),
    AssignAksPolicies: () => ({ resourceGroupName: RG, clusterName: "aks-bad", policies: "noPrivilegedContainers", effect: "Deny" }),
    ConfigureAutoUpgrade: () => ({ resourceGroupName: RG, clusterName: "aks-bad", maintenanceWindow: "weekly Sunday 01:00 4h +00:00" }),
    EnableDefender: () => ({
      resourceGroupName: RG,
      clusterName: "aks-bad",
      logAnalyticsWorkspaceId: workspace.id,
      enableContainersPlan: "true",
    }),
    AksHardeningReport: () => ({ resourceGroupName: RG, clusterName: "aks-bad", keyVaultNames: "kv-bad-inputs", failOn: "error" }),
    ProtectKeyVault: () => ({
      resourceGroupName: RG,
      keyVaultName: "kv-bad-inputs",
      firewall: "denyByDefault",
      allowClusters: `${RG}/aks-bad`,
      allowedIpRanges: "203.0.113.0/24",
      permissionModel: "rbac",
    }),
    SecureClusterAccess: () => ({
      resourceGroupName: RG,
      clusterName: "aks-bad",
      adminGroupObjectIds: ADMIN_GROUP,
      clusterRoleGrants: "serviceConnection writer todo",
    }),
  };
  const workspaceIdWith = (group: string, name: string) =>
    `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${group}/providers/Microsoft.OperationalInsights/workspaces/${name}`;

  const CASES: Record<TaskName, BadInput[]> = {
    RestrictApiServer: [
      {
        what: "a CIDR with host bits set",
        inputs: { authorizedIpRanges: "192.0.2.1/24" },
        names: "authorizedIpRanges",
        says: /did you mean 192\.0\.2\.0\/24\?/,
      },
      { what: "an IPv6 range", inputs: { authorizedIpRanges: "2001:db8::/32" }, names: "authorizedIpRanges", says: /IPv6/ },
      { what: "a name instead of an address", inputs: { authorizedIpRanges: "office-vpn" }, names: "authorizedIpRanges" },
      { what: "a prefix length over 32", inputs: { authorizedIpRanges: "10.0.0.0/40" }, names: "authorizedIpRanges" },
      { what: "a negative prefix length", inputs: { authorizedIpRanges: "10.0.0.0/-1" }, names: "authorizedIpRanges" },
      { what: "an octet over 255", inputs: { authorizedIpRanges: "256.1.1.1" }, names: "authorizedIpRanges" },
      { what: "three octets", inputs: { authorizedIpRanges: "10.1.1" }, names: "authorizedIpRanges" },
      {
        what: "two bad entries are reported together",
        inputs: { authorizedIpRanges: "a.b.c.d, 10.0.0.0/33" },
        names: "authorizedIpRanges",
        says: /2 entries/,
      },
      {
        what: "0.0.0.0/0",
        inputs: { action: "set", authorizedIpRanges: "0.0.0.0/0" },
        names: "authorizedIpRanges",
        says: /action 'disable'/,
      },
      {
        what: "set with only whitespace",
        inputs: { action: "set", authorizedIpRanges: "  \n\t  " },
        names: "authorizedIpRanges",
        says: /is empty|is required/,
      },
      { what: "remove with nothing", inputs: { action: "remove", authorizedIpRanges: undefined }, names: "authorizedIpRanges" },
      {
        what: "a remove that would open the API server",
        inputs: { action: "remove", authorizedIpRanges: "10.1.0.0/16" },
        names: "authorizedIpRanges",
        says: /leave the list empty/,
      },
      {
        what: "201 ranges that cannot be joined",
        inputs: { action: "set", authorizedIpRanges: Array.from({ length: 201 }, (_, i) => `10.${i}.0.0/24`).join(",") },
        names: "authorizedIpRanges",
        says: /limit of 200/,
      },
      { what: "a huge value (100 KB)", inputs: { authorizedIpRanges: long(100_000, "9") }, names: "authorizedIpRanges" },
      {
        what: "a commented list with one bad entry: the entry and its line are named, the comments are not",
        inputs: { authorizedIpRanges: "# admins\n203.0.113.0/24 # office\noffice-vpn # the VPN\n" },
        names: "authorizedIpRanges",
        says: /^authorizedIpRanges: line 3: 'office-vpn' is not an IPv4 address or CIDR/,
      },
      {
        what: "ranges from a variable that is not defined",
        inputs: { authorizedIpRanges: "$(adminRanges)" },
        names: "authorizedIpRanges",
        says: /'\$\(adminRanges\)' was not expanded/,
      },
      { what: "an unknown action", inputs: { action: "replace" }, names: "action", says: /'set', 'add', 'remove', 'disable'/ },
      { what: "includeAgentIp that is not a boolean", inputs: { includeAgentIp: "1" }, names: "includeAgentIp" },
      { what: "an unknown agentIpScope", inputs: { includeAgentIp: true, agentIpScope: "forever" }, names: "agentIpScope" },
      {
        what: "an ftp agentIpServiceUrl",
        inputs: { includeAgentIp: true, agentIpServiceUrl: "ftp://ip.example" },
        names: "agentIpServiceUrl",
      },
      {
        what: "an agentIpServiceUrl that is no URL",
        inputs: { includeAgentIp: true, agentIpServiceUrl: "what is my ip" },
        names: "agentIpServiceUrl",
      },
      { what: "includeAgentIp with disable", inputs: { action: "disable", includeAgentIp: true }, names: "includeAgentIp" },
      { what: "dryRun that is not a boolean", inputs: { dryRun: "yes" }, names: "dryRun" },
      { what: "a cluster name starting with '-'", inputs: { clusterName: "-bad-" }, names: "clusterName" },
      { what: "a 64-character cluster name", inputs: { clusterName: long(64) }, names: "clusterName" },
      { what: "a resource group ending in '.'", inputs: { resourceGroupName: "rg." }, names: "resourceGroupName" },
      { what: "a 91-character resource group", inputs: { resourceGroupName: long(91) }, names: "resourceGroupName" },
      { what: "no service connection", inputs: { azureSubscription: " " }, names: "azureSubscription" },
      { what: "a service connection the pipeline does not have", inputs: { azureSubscription: randomUUID() }, names: "azureSubscription" },
      {
        what: "a busy timeout that is not a number",
        variables: { "AksHardening.ClusterBusyTimeoutSeconds": "soon" },
        names: "AksHardening.ClusterBusyTimeoutSeconds",
      },
      {
        what: "a request timeout of zero",
        variables: { "AksHardening.RequestTimeoutSeconds": "0" },
        names: "AksHardening.RequestTimeoutSeconds",
      },
      {
        what: "a retry delay of zero (a wait budget would never run out)",
        variables: { "AksHardening.RetryDelaySeconds": "0" },
        names: "AksHardening.RetryDelaySeconds",
      },
    ],
    EnablePodIdentity: [
      { what: "an unknown identityMode", inputs: { identityMode: "aadPodIdentity" }, names: "identityMode" },
      { what: "no identity", inputs: { identity: undefined }, names: "identity", says: /is required/ },
      { what: "an identity of whitespace", inputs: { identity: "   " }, names: "identity", says: /is required/ },
      {
        what: "a VM's resource ID as identity",
        inputs: { identity: "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/z" },
        names: "identity",
      },
      { what: "a two-character identity name", inputs: { identity: "ab" }, names: "identity" },
      { what: "an identity name with a space", inputs: { identity: "my identity" }, names: "identity" },
      {
        what: "an identity that is not a valid pod identity name, without podIdentityName",
        inputs: { identity: "ID_App", podIdentityName: undefined },
        names: "podIdentityName",
      },
      { what: "a namespace with upper case and '_'", inputs: { namespace: "Todo_App" }, names: "namespace" },
      { what: "a 64-character namespace", inputs: { namespace: long(64) }, names: "namespace" },
      { what: "no namespace", inputs: { namespace: undefined }, names: "namespace" },
      { what: "a pod identity name with a dot", inputs: { podIdentityName: "Todo.App" }, names: "podIdentityName" },
      { what: "a binding selector starting with '-'", inputs: { bindingSelector: "-sel" }, names: "bindingSelector" },
      { what: "a 64-character binding selector", inputs: { bindingSelector: long(64) }, names: "bindingSelector" },
      { what: "allowKubenet that is not a boolean", inputs: { allowKubenet: "maybe" }, names: "allowKubenet" },
      {
        what: "workload identity without a service account",
        inputs: { identityMode: "workloadIdentity", podIdentityName: undefined },
        names: "serviceAccountName",
      },
      {
        what: "a service account with a space",
        inputs: { identityMode: "workloadIdentity", podIdentityName: undefined, serviceAccountName: "Todo SA" },
        names: "serviceAccountName",
      },
      {
        what: "a one-character federated credential name",
        inputs: { identityMode: "workloadIdentity", podIdentityName: undefined, serviceAccountName: "sa", federatedCredentialName: "x" },
        names: "federatedCredentialName",
      },
      {
        what: "a 121-character federated credential name",
        inputs: {
          identityMode: "workloadIdentity",
          podIdentityName: undefined,
          serviceAccountName: "sa",
          federatedCredentialName: long(121),
        },
        names: "federatedCredentialName",
      },
      {
        what: "grantReaderOnNodeResourceGroup that is not a boolean",
        inputs: { grantReaderOnNodeResourceGroup: "yes" },
        names: "grantReaderOnNodeResourceGroup",
      },
      { what: "a cluster name starting with '-'", inputs: { clusterName: "-aks" }, names: "clusterName" },
      { what: "no resource group", inputs: { resourceGroupName: undefined }, names: "resourceGroupName" },
      {
        what: "a service account with podIdentity (an input of the other mode)",
        inputs: { serviceAccountName: "todo-sa" },
        names: "serviceAccountName",
        says: /identityMode 'workloadIdentity', but identityMode is 'podIdentity'/,
      },
      {
        what: "podIdentityName without identityMode (the default is Workload ID)",
        inputs: { identityMode: undefined, serviceAccountName: "todo-sa" },
        names: "podIdentityName",
        says: /\(the default\)\. Remove it for Workload ID, or set identityMode: podIdentity/,
      },
      {
        what: "an identity from a variable that is not defined",
        inputs: { identity: "$(identityName)" },
        names: "identity",
        says: /'\$\(identityName\)' was not expanded: no variable 'identityName' is defined .* Is it defined .*stageDependencies/,
      },
    ],
    KeyVaultSecrets: [
      { what: "a vault name with '--'", inputs: { keyVaultName: "kv--bad" }, names: "keyVaultName" },
      { what: "includeAgentIp that is not a boolean", inputs: { includeAgentIp: "yes" }, names: "includeAgentIp" },
      {
        what: "an http:// IP service for includeAgentIp",
        inputs: { includeAgentIp: true, agentIpServiceUrl: "http://ip.example" },
        names: "agentIpServiceUrl",
      },
      { what: "a two-character vault name", inputs: { keyVaultName: "kv" }, names: "keyVaultName" },
      { what: "a vault name starting with a digit", inputs: { keyVaultName: "1kv-app" }, names: "keyVaultName" },
      { what: "a 25-character vault name", inputs: { keyVaultName: `kv${long(23)}` }, names: "keyVaultName" },
      { what: "no vault name", inputs: { keyVaultName: undefined }, names: "keyVaultName" },
      {
        what: "an unknown secret permission",
        inputs: { grantTo: randomUUID(), secretPermissions: "get,read" },
        names: "secretPermissions",
      },
      {
        what: "secret permissions of separators only",
        inputs: { grantTo: randomUUID(), secretPermissions: " , ; " },
        names: "secretPermissions",
      },
      { what: "a grantee that is a name", inputs: { grantTo: "id-app" }, names: "grantTo" },
      { what: "a grantee that is a truncated GUID", inputs: { grantTo: "8f3c2a1e-1234" }, names: "grantTo" },
      {
        what: "a grantee resource ID of another type",
        inputs: { grantTo: "/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/z" },
        names: "grantTo",
      },
      { what: "a secret line without '='", inputs: { secrets: "db-url" }, names: "secrets", says: /line 1 has no '='/ },
      { what: "a secret line with no name", inputs: { secrets: `=${DB_URL}` }, names: "secrets", says: /line 1 has no name/ },
      { what: "a secret line with an empty value", inputs: { secrets: "db-url=   " }, names: "secrets", says: /empty value/ },
      {
        what: "an unexpanded macro (undefined variable)",
        inputs: { secrets: "db-url=$(notDefined)" },
        names: "secrets",
        says: /line 1 \('db-url'\): '\$\(notDefined\)' was not expanded/,
      },
      {
        what: "a grantee from a step output that has not run in this job",
        inputs: { grantTo: "$(identity.principalId)" },
        names: "grantTo",
        says: /'\$\(identity\.principalId\)' was not expanded.*output of a step named 'identity'.*earlier in the same job.*stageDependencies\.<stage>\.<job>\.outputs\['identity\.principalId'\]/,
      },
      {
        what: "a dotted name with nameMapping strict",
        inputs: { secrets: `spring.datasource.url=${DB_URL}` },
        names: "secrets",
        says: /nameMapping/,
      },
      { what: "a 128-character secret name", inputs: { secrets: `${long(128)}=${DB_URL}` }, names: "secrets" },
      { what: "a secret name with a space", inputs: { secrets: `db url=${DB_URL}` }, names: "secrets" },
      {
        what: "two names that map to one",
        inputs: { nameMapping: "dashes", secrets: `db.url=${DB_URL}\ndb_url=${DB_URL}` },
        names: "secrets",
        says: /all become the secret 'db-url'/,
      },
      { what: "a value over 25 KB", inputs: { secrets: `cert=${long(26 * 1024, "Q")}` }, names: "secrets", says: /25 KB/ },
      {
        what: "only comments and blank lines, no grantee",
        inputs: { secrets: "# nothing\n\n   " },
        names: "secrets",
        says: /nothing to do/,
      },
      { what: "an unknown name mapping", inputs: { nameMapping: "underscores" }, names: "nameMapping" },
      { what: "a resource group with '/'", inputs: { resourceGroupName: "rg/bad" }, names: "resourceGroupName" },
      { what: "dryRun that is not a boolean", inputs: { dryRun: "TRUEISH" }, names: "dryRun" },
    ],
    AssignAksPolicies: [
      {
        what: "resourceLimits without cpuLimit",
        inputs: { policies: "resourceLimits", memoryLimit: "1Gi" },
        names: "cpuLimit",
        says: /is required/,
      },
      { what: "resourceLimits without memoryLimit", inputs: { policies: "resourceLimits", cpuLimit: "1" }, names: "memoryLimit" },
      { what: "allowedImages without a regex", inputs: { policies: "allowedImages" }, names: "allowedImagesRegex" },
      {
        what: "a regex that does not compile",
        inputs: { policies: "allowedImages", allowedImagesRegex: "^myregistry\\.azurecr\\.io/(.+$" },
        names: "allowedImagesRegex",
      },
      {
        what: "a regex with look-ahead (not RE2)",
        inputs: { policies: "allowedImages", allowedImagesRegex: "^(?!docker\\.io).+$" },
        names: "allowedImagesRegex",
        says: /RE2/,
      },
      {
        what: "a regex with a back-reference (not RE2)",
        inputs: { policies: "allowedImages", allowedImagesRegex: "^(a+)\\1$" },
        names: "allowedImagesRegex",
        says: /RE2/,
      },
      {
        what: "a CPU quantity in words",
        inputs: { policies: "resourceLimits", cpuLimit: "500 millicores", memoryLimit: "1Gi" },
        names: "cpuLimit",
      },
      { what: "a zero CPU quantity", inputs: { policies: "resourceLimits", cpuLimit: "0m", memoryLimit: "1Gi" }, names: "cpuLimit" },
      { what: "a negative CPU quantity", inputs: { policies: "resourceLimits", cpuLimit: "-1", memoryLimit: "1Gi" }, names: "cpuLimit" },
      { what: "fractional millicores", inputs: { policies: "resourceLimits", cpuLimit: "0.5m", memoryLimit: "1Gi" }, names: "cpuLimit" },
      {
        what: "a memory quantity in MB",
        inputs: { policies: "resourceLimits", cpuLimit: "1", memoryLimit: "512MB" },
        names: "memoryLimit",
        says: /did you mean 512Mi\?/,
      },
      { what: "a zero memory quantity", inputs: { policies: "resourceLimits", cpuLimit: "1", memoryLimit: "0Gi" }, names: "memoryLimit" },
      {
        what: "a memory quantity in words",
        inputs: { policies: "resourceLimits", cpuLimit: "1", memoryLimit: "lots" },
        names: "memoryLimit",
      },
      { what: "an unknown policy key", inputs: { policies: "noPrivileged" }, names: "policies" },
      { what: "nothing to assign and the add-on not wanted", inputs: { policies: undefined, enableAddon: false }, names: "policies" },
      {
        what: "no policy named, the add-on wanted: the add-on alone enforces nothing",
        inputs: { policies: undefined, enableAddon: true },
        names: "policies",
        says: /^policies: is required: .*The add-on alone enforces nothing\./,
      },
      {
        what: "an excluded namespace with upper case",
        inputs: { excludedNamespaces: "kube-system, Monitoring" },
        names: "excludedNamespaces",
      },
      {
        what: "a commented list of definition IDs with one name in it",
        inputs: { customPolicyDefinitionIds: "# team policies\nrequire-team-label   # by name, not ID\n" },
        names: "customPolicyDefinitionIds",
        says: /^customPolicyDefinitionIds: line 2: 'require-team-label' is not a policy definition ID/,
      },
      { what: "an effect other than Audit or Deny", inputs: { effect: "Disabled" }, names: "effect" },
      { what: "an unknown enforcement mode", inputs: { enforcementMode: "Off" }, names: "enforcementMode" },
      {
        what: "a definition name instead of an ID",
        inputs: { customPolicyDefinitionIds: "require-team-label" },
        names: "customPolicyDefinitionIds",
      },
      {
        what: "a definition that does not exist",
        inputs: () => ({ customPolicyDefinitionIds: subscriptionDefinition("missing") }),
        names: "customPolicyDefinitionIds",
        says: /was not found/,
      },
      { what: "reportCompliance that is not a boolean", inputs: { reportCompliance: "yes" }, names: "reportCompliance" },
      { what: "enableAddon that is not a boolean", inputs: { enableAddon: "no" }, names: "enableAddon" },
    ],
    ConfigureAutoUpgrade: [
      {
        what: "a window of 3 hours (AKS: 4 to 24)",
        inputs: { maintenanceWindow: "weekly Sunday 01:00 3h" },
        names: "maintenanceWindow",
        says: /4 to 24 hours, not 3/,
      },
      {
        what: "a window of 25 hours",
        inputs: { nodeOsMaintenanceWindow: "daily 01:00 25h" },
        names: "nodeOsMaintenanceWindow",
        says: /4 to 24 hours, not 25/,
      },
      {
        what: "every 5 weeks (AKS: 1 to 4)",
        inputs: { maintenanceWindow: "every 5 weeks Monday 01:00 4h" },
        names: "maintenanceWindow",
        says: /every 1 to 4 weeks, not 5/,
      },
      {
        what: "every 8 days (AKS: 1 to 7)",
        inputs: { nodeOsMaintenanceWindow: "every 8 days 01:00 4h" },
        names: "nodeOsMaintenanceWindow",
        says: /every 1 to 7 days, not 8/,
      },
      {
        what: "every 7 months (AKS: 1 to 6)",
        inputs: { maintenanceWindow: "every 7 months day 1 01:00 4h" },
        names: "maintenanceWindow",
        says: /every 1 to 6 months, not 7/,
      },
      {
        what: "day 32 of the month",
        inputs: { maintenanceWindow: "monthly day 32 01:00 4h" },
        names: "maintenanceWindow",
        says: /day of the month from 1 to 31/,
      },
      {
        what: "a start at 24:00",
        inputs: { maintenanceWindow: "daily 24:00 4h" },
        names: "maintenanceWindow",
        says: /not a time from 00:00 to 23:59/,
      },
      {
        what: "a UTC offset of +15:00",
        inputs: { maintenanceWindow: "weekly Sunday 01:00 4h +15:00" },
        names: "maintenanceWindow",
        says: /not a UTC offset/,
      },
      {
        what: "a window without a duration",
        inputs: { nodeOsMaintenanceWindow: "weekly Sunday 01:00" },
        names: "nodeOsMaintenanceWindow",
        says: /duration \(4h to 24h\) is missing/,
      },
      {
        what: "an excepted range that ends before it starts",
        inputs: { maintenanceWindow: "weekly Sunday 01:00 4h except 2027-01-03..2026-12-20" },
        names: "maintenanceWindow",
        says: /ends before it starts/,
      },
      {
        what: "a recurrence AKS has not",
        inputs: { maintenanceWindow: "sometimes 01:00 4h" },
        names: "maintenanceWindow",
        says: /'sometimes' is not a recurrence\. Write a window as/,
      },
      {
        what: "an unknown upgradeChannel",
        inputs: { upgradeChannel: "weekly" },
        names: "upgradeChannel",
        says: /'patch', 'stable', 'rapid', 'node-image', 'none'/,
      },
      { what: "an unknown nodeOsUpgradeChannel", inputs: { nodeOsUpgradeChannel: "Weekly" }, names: "nodeOsUpgradeChannel" },
      {
        what: "node-image with SecurityPatch (AKS allows only NodeImage)",
        inputs: { upgradeChannel: "node-image", nodeOsUpgradeChannel: "SecurityPatch" },
        names: "nodeOsUpgradeChannel",
        says: /cannot be used with upgradeChannel 'node-image'/,
      },
    ],
    EnableDefender: [
      {
        what: "an Application Insights ID as the workspace",
        inputs: () => ({
          logAnalyticsWorkspaceId: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Insights/components/app`,
        }),
        names: "logAnalyticsWorkspaceId",
        says: /not a Log Analytics workspace resource ID/,
      },
      {
        what: "a workspace name of two characters",
        inputs: () => ({ logAnalyticsWorkspaceId: workspaceIdWith(RG, "ws") }),
        names: "logAnalyticsWorkspaceId",
        says: /workspace name/,
      },
      {
        what: "a workspace ID with a '..' group",
        inputs: () => ({ logAnalyticsWorkspaceId: workspaceIdWith("..", "law-bad-inputs") }),
        names: "logAnalyticsWorkspaceId",
      },
      {
        what: "a workspace ID whose subscription is not a GUID",
        inputs: { logAnalyticsWorkspaceId: "/subscriptions/prod/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law" },
        names: "logAnalyticsWorkspaceId",
        says: /subscription ID/,
      },
      {
        what: "a workspace that does not exist",
        inputs: () => ({ logAnalyticsWorkspaceId: workspaceIdWith(RG, "law-not-here") }),
        names: "logAnalyticsWorkspaceId",
        says: /'law-not-here' in resource group 'rg-bad-inputs' does not exist/,
      },
      {
        what: "an output that was not expanded",
        inputs: { logAnalyticsWorkspaceId: "$(monitoring.workspaceId)" },
        names: "logAnalyticsWorkspaceId",
        says: /was not expanded/,
      },
      { what: "enableContainersPlan that is not a boolean", inputs: { enableContainersPlan: "yes" }, names: "enableContainersPlan" },
      { what: "dryRun that is not a boolean", inputs: { dryRun: "maybe" }, names: "dryRun" },
      { what: "a cluster name starting with '-'", inputs: { clusterName: "-aks" }, names: "clusterName" },
      { what: "no cluster name", inputs: { clusterName: undefined }, names: "clusterName" },
    ],
    AksHardeningReport: [
      { what: "an unknown failOn", inputs: { failOn: "sometimes" }, names: "failOn" },
      { what: "failOn as a boolean", inputs: { failOn: "true" }, names: "failOn" },
      { what: "a check ID that does not exist", inputs: { skipChecks: "cluster.defenders: typo" }, names: "skipChecks", says: /IDs: / },
      { what: "a valid and an unknown check ID", inputs: { skipChecks: "cluster.version, network.firewall" }, names: "skipChecks" },
      { what: "a reason without a check ID", inputs: { skipChecks: ": we accept the risk" }, names: "skipChecks" },
      { what: "a vault name with '_'", inputs: { keyVaultNames: "kv_bad" }, names: "keyVaultNames" },
      { what: "a vault name of two characters", inputs: { keyVaultNames: "kv" }, names: "keyVaultNames" },
      { what: "a vault name over 24 characters", inputs: { keyVaultNames: `kv-${long(22)}` }, names: "keyVaultNames" },
      { what: "a vault name with '--'", inputs: { keyVaultNames: "kv--bad" }, names: "keyVaultNames" },
      {
        what: "an identity's resource ID as a vault",
        inputs: () => ({ keyVaultNames: identity.id }),
        names: "keyVaultNames",
        says: /resource ID/,
      },
      {
        what: "a vault that does not exist",
        inputs: { keyVaultNames: "kv-not-here" },
        names: "keyVaultNames",
        says: /there is no key vault/,
      },
      { what: "a cluster name starting with '-'", inputs: { clusterName: "-aks" }, names: "clusterName" },
      { what: "no cluster name", inputs: { clusterName: undefined }, names: "clusterName" },
      { what: "a resource group with '/'", inputs: { resourceGroupName: "rg/bad" }, names: "resourceGroupName" },
    ],
    ProtectKeyVault: [
      { what: "an unknown firewall mode", inputs: { firewall: "closed" }, names: "firewall" },
      {
        what: "a private range as an IP rule",
        inputs: { allowedIpRanges: "10.1.0.0/16" },
        names: "allowedIpRanges",
        says: /overlaps the private range 10\.0\.0\.0\/8.*allowClusters/,
      },
      { what: "a CIDR with host bits set", inputs: { allowedIpRanges: "198.51.100.7/24" }, names: "allowedIpRanges" },
      {
        what: "ranges with firewall unchanged",
        inputs: { firewall: "unchanged", allowClusters: undefined },
        names: "allowedIpRanges",
        says: /firewall is 'unchanged'/,
      },
      {
        what: "clusters with public access off",
        inputs: { firewall: "disablePublicAccess", allowedIpRanges: undefined },
        names: "allowClusters",
        says: /'disablePublicAccess'/,
      },
      { what: "a cluster without its resource group", inputs: { allowClusters: "aks-bad" }, names: "allowClusters" },
      { what: "a cluster name starting with '-'", inputs: { allowClusters: `${RG}/-aks` }, names: "allowClusters" },
      {
        what: "a virtual network's ID as the endpoint's subnet",
        inputs: () => ({
          privateEndpointSubnetId: `/subscriptions/${fx.azure.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet`,
        }),
        names: "privateEndpointSubnetId",
        says: /not a subnet's resource ID/,
      },
      { what: "an unknown permission model", inputs: { permissionModel: "accessPolicies" }, names: "permissionModel" },
      { what: "enablePurgeProtection that is not a boolean", inputs: { enablePurgeProtection: "always" }, names: "enablePurgeProtection" },
      { what: "bypassAzureServices that is not a boolean", inputs: { bypassAzureServices: "some" }, names: "bypassAzureServices" },
      { what: "a vault name with '_'", inputs: { keyVaultName: "kv_bad" }, names: "keyVaultName" },
      {
        what: "a negative role assignment wait",
        variables: { "AksHardening.RoleAssignmentWaitSeconds": "-5" },
        names: "AksHardening.RoleAssignmentWaitSeconds",
      },
    ],
    SecureClusterAccess: [
      { what: "an admin group given by its name", inputs: { adminGroupObjectIds: "aks-admins" }, names: "adminGroupObjectIds" },
      { what: "a grant with an unknown role", inputs: { clusterRoleGrants: "serviceConnection owner" }, names: "clusterRoleGrants" },
      {
        what: "a grant to a name instead of an object ID",
        inputs: { clusterRoleGrants: "deploy-team writer" },
        names: "clusterRoleGrants",
        says: /neither an object ID/,
      },
      {
        what: "a grant in a namespace that is no DNS label",
        inputs: { clusterRoleGrants: "serviceConnection writer Todo_App" },
        names: "clusterRoleGrants",
      },
      {
        what: "a grant line with four words",
        inputs: { clusterRoleGrants: "serviceConnection writer todo extra" },
        names: "clusterRoleGrants",
      },
      {
        what: "grants while Azure RBAC stays off",
        inputs: { azureRbac: "false" },
        names: "clusterRoleGrants",
        says: /take effect only with Azure RBAC/,
      },
      {
        what: "local accounts off with no administrator",
        inputs: { adminGroupObjectIds: undefined },
        names: "disableLocalAccounts",
        says: /would lock everyone out/,
      },
      { what: "azureRbac that is not a boolean", inputs: { azureRbac: "yes" }, names: "azureRbac" },
      { what: "disableLocalAccounts that is not a boolean", inputs: { disableLocalAccounts: "soon" }, names: "disableLocalAccounts" },
      { what: "dryRun that is not a boolean", inputs: { dryRun: "maybe" }, names: "dryRun" },
      { what: "a cluster name starting with '-'", inputs: { clusterName: "-aks" }, names: "clusterName" },
      {
        what: "a role assignment wait that is not a number",
        variables: { "AksHardening.RoleAssignmentWaitSeconds": "ten minutes" },
        names: "AksHardening.RoleAssignmentWaitSeconds",
      },
    ],
  };

  function writes() {
    return fx.azure.requests.filter(
      (r) => ["PUT", "PATCH", "DELETE"].includes(r.method) || (r.method === "POST" && !/\/(oauth2|oidctoken|queryResults)/i.test(r.path)),
    );
  }

  for (const [task, cases] of Object.entries(CASES) as [TaskName, BadInput[]][]) {
    describe(`${task}: bad inputs fail before any write, naming the input`, () => {
      for (const bad of cases) {
        it(cellName(task, "bad input", bad.what), async () => {
          const overrides = typeof bad.inputs === "function" ? bad.inputs() : (bad.inputs ?? {});
          const inputs = { ...VALID[task](), ...overrides };
          for (const [name, value] of Object.entries(inputs)) if (value === undefined) delete inputs[name];
          const run = await fx.run(task, {
            inputs,
            secrets: { dbUrl: DB_URL },
            ...(bad.variables ? { variables: bad.variables } : {}),
          });
          assert.equal(run.result, "Failed", `expected a failure\n${run.stdout.slice(-2000)}`);
          const message = run.resultMessage ?? "";
          assert.ok(message.startsWith(`${bad.names}: `), `the message names ${bad.names}: ${message.slice(0, 300)}`);
          assert.ok(!/[\r\n]/.test(message), "one line");
          assert.ok(message.length <= 1000, `a line a person can read (${message.length} characters)`);
          if (bad.says) assert.match(message, bad.says);
          assert.deepEqual(writes(), [], "no write at all");
        });
      }
    });
  }

  it("the matrix has at least 60 bad inputs, at least 10 for each task", () => {
    const counts = Object.values(CASES).map((cases) => cases.length);
    assert.ok(counts.every((n) => n >= 10));
    assert.ok(counts.reduce((a, b) => a + b) >= 60);
  });

  // A suite of its own, after the tasks' suites: mocha runs a suite's own tests before its child suites.
  describe("afterwards", () => {
    it("after every bad input, the cluster, identity and vault are exactly as before", () => {
      assert.deepEqual(
        [cluster, identity, vault].map((r) => fx.azure.store.get(r.id)),
        snapshot,
      );
    });
  });
});
