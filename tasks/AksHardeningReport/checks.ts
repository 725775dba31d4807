import type { ManagedCluster } from "../../core/cluster";
import { sameEntry } from "../../core/job-scoped-access/addresses";
import type { Hold } from "../../core/job-scoped-access/ledger";
import { holdState } from "../../core/job-scoped-access/plan";
import { parameterKey, referencedParameter } from "../../core/policy-assignments";
import { BUILT_IN_POLICIES, type PolicyKey } from "../AssignAksPolicies/catalogue";

/**
 * The scorecard's checks: a table of small pure functions of what was read. Adding a check is
 * adding a row here (and its pass, warn and fail cases to the tests). plan.ts runs them.
 *
 * Each check follows a rule Microsoft publishes, cited beside it: a built-in Azure Policy definition
 * (github.com/Azure/azure-policy at f4a50bac, built-in-policies/…), a REST spec
 * (github.com/Azure/azure-rest-api-specs, path and commit) or a docs page (MicrosoftDocs/azure-aks-docs
 * at fb060abe, or its learn.microsoft.com address). Each fix names this extension's task and the inputs
 * that fix the finding; an `az` command only where no task does it, with the reason it is done by hand.
 */

export type Verdict = "pass" | "warn" | "fail";

export const AREAS = ["API server", "Identity", "Policy", "Network", "Key Vault", "Cluster"] as const;
export type Area = (typeof AREAS)[number];

/** How to fix a finding: this extension's task with the inputs that fix it, else why it is done by hand and the `az` command. */
export interface Fix {
  task?: { name: string; inputs: Record<string, string> };
  /** Why no task of this extension makes the change (it is left to a person, on purpose). */
  byHand?: string;
  command?: string;
}

export interface Finding {
  status: Verdict;
  /** One line, plain text (values from Azure are quoted as they are; the report escapes them). */
  finding: string;
  fix?: Fix;
}

/**
 * What a read returned, or why it is missing: `permission` when Azure refused it (403), otherwise the
 * sentence that says what went wrong. Either way the checks that need it are unknown, with that reason.
 */
export type Read<T> = { ok: true; value: T } | { ok: false; reason: string; permission?: string };

export interface UpgradeProfileFacts {
  /** The control plane's version (major.minor.patch). */
  kubernetesVersion: string;
  upgrades: { kubernetesVersion: string; isPreview: boolean }[];
}

/** One major.minor release AKS offers in the cluster's region. */
export interface SupportedVersion {
  version: string;
  isPreview: boolean;
  supportPlans: string[];
}

/** An initiative as the checks need it: its parameters' defaults and, per member definition, the values it passes. */
export interface InitiativeFacts {
  parameterDefaults: Record<string, unknown>;
  members: { definitionId: string; parameters: Record<string, unknown> }[];
}

/** A policy assignment that applies to the cluster (made at it or above it). */
export interface AssignmentFacts {
  id: string;
  name: string;
  displayName?: string;
  scope: string;
  policyDefinitionId: string;
  /** The values the assignment gives its definition's (or initiative's) parameters. */
  parameters: Record<string, unknown>;
  /** For an initiative, as read; absent for a single definition, or an initiative that no longer exists. */
  initiative?: InitiativeFacts;
  enforcementMode: string;
  changedAt?: Date;
}

/** Parameter defaults of policy definitions, by lower-case definition ID: only those an effect falls back on are read. */
export type DefinitionDefaults = Record<string, Record<string, unknown>>;

export interface PolicyStateFacts {
  policyAssignmentId: string;
  complianceState: string;
  timestamp?: Date;
}

/** The subscription's Defender for Containers plan (Microsoft.Security/pricings/Containers). */
export interface ContainersPlanFacts {
  pricingTier: string;
}

export interface ClusterFacts {
  cluster: Read<ManagedCluster>;
  upgradeProfile: Read<UpgradeProfileFacts>;
  supportedVersions: Read<SupportedVersion[]>;
  assignments: Read<AssignmentFacts[]>;
  definitionDefaults: Read<DefinitionDefaults>;
  policyStates: Read<PolicyStateFacts[]>;
  containersPlan: Read<ContainersPlanFacts>;
  /** The trusted job-scoped access holds on the cluster (resource links; core/job-scoped-access/ledger.ts). */
  jobScopedHolds: Read<Hold[]>;
}
export type ClusterReadKey = keyof ClusterFacts;

/** A key vault as the checks need it (Microsoft.KeyVault/vaults properties, 2026-02-01). */
export interface VaultFacts {
  name: string;
  resourceGroupName: string;
  id: string;
  enableRbacAuthorization: boolean;
  enablePurgeProtection: boolean;
  publicNetworkAccess?: string;
  networkAcls?: { defaultAction?: string; ipRules: string[] };
  privateEndpointConnections: { id?: string; status?: string }[];
}

/** Where the checks point their fixes. */
export interface Target {
  resourceGroupName: string;
  clusterName: string;
  /** The report's own time: to tell a job-scoped agent IP whose job is over, and a retirement that has passed. */
  now: Date;
}

export type ReadValues = { [K in ClusterReadKey]?: ClusterFacts[K] extends Read<infer T> ? T : never };

interface CheckBase {
  id: string;
  area: Area;
  /** What the check wants in place, for the table. */
  title: string;
}

export interface ClusterCheck extends CheckBase {
  kind: "cluster";
  /** Reads without which the check cannot say anything. */
  reads: ClusterReadKey[];
  /** Reads that refine the verdict when they were made. */
  uses?: ClusterReadKey[];
  evaluate(values: ReadValues, target: Target): Finding;
}

export interface VaultCheck extends CheckBase {
  kind: "vault";
  evaluate(vault: VaultFacts, target: Target): Finding;
}

export type Check = ClusterCheck | VaultCheck;

const az = (target: Target, args: string) => `az aks update -g ${target.resourceGroupName} -n ${target.clusterName} ${args}`;

/** "1 range", "3 ranges": a count with its noun as a person writes it. */
export function counted(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

/** An IPv4 address or CIDR as authorized IP ranges and vault IP rules hold them; anything else in the list is a service tag. */
const IPV4_ENTRY = /^\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?$/;

function prefixOf(cidr: string): number {
  const prefix = /\/(\d{1,2})$/.exec(cidr)?.[1];
  return prefix === undefined ? 32 : Number(prefix);
}

/** The day a retirement takes effect (AKS docs: "Starting on <date>, AKS no longer supports …"), at 00:00 UTC. */
const day = (iso: string) => new Date(`${iso}T00:00:00Z`);
const longDate = (date: Date) => date.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** The Kubernetes policies of the article: privileged containers, CPU/memory limits, allowed images. */
export const ARTICLE_POLICIES: PolicyKey[] = ["noPrivilegedContainers", "resourceLimits", "allowedImages"];

function versionParts(version: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function addonEnabled(cluster: ManagedCluster): boolean {
  const profiles = cluster.addonProfiles ?? {};
  const key = Object.keys(profiles).find((k) => k.toLowerCase() === "azurepolicy");
  return key !== undefined && profiles[key]?.enabled === true;
}

/** The assignment's latest results: those newer than its last change (older ones describe what was assigned before). */
function freshStates(assignment: AssignmentFacts, states: readonly PolicyStateFacts[]): PolicyStateFacts[] {
  return states.filter(
    (s) =>
      s.policyAssignmentId.toLowerCase() === assignment.id.toLowerCase() &&
      (!assignment.changedAt || !s.timestamp || s.timestamp.getTime() >= assignment.changedAt.getTime()),
  );
}

function scopeName(scope: string): string {
  if (/\/providers\/Microsoft\.ContainerService\/managedClusters\//i.test(scope)) return "the cluster";
  if (/\/resourceGroups\/[^/]+$/i.test(scope)) return `resource group ${scope.split("/").pop()}`;
  if (/^\/subscriptions\/[^/]+$/i.test(scope)) return "the subscription";
  return scope;
}

/** A parameter's value by name, as Azure Policy matches names: in any case. */
function parameterValue(values: Record<string, unknown>, name: string): unknown {
  const key = parameterKey(values, name);
  return key === undefined ? undefined : values[key];
}

/** The definitions an assignment applies: its own, or its initiative's members. */
export function memberDefinitionIds(assignment: AssignmentFacts): string[] {
  if (assignment.initiative) return assignment.initiative.members.map((m) => m.definitionId);
  return /\/policySetDefinitions\//i.test(assignment.policyDefinitionId) ? [] : [assignment.policyDefinitionId];
}

/** Where an effect comes from, so the finding can say why an assignment with no `effect` still denies. */
export interface ResolvedEffect {
  /** Undefined when an ARM expression computes it, or the definition's default could not be read. */
  value?: string;
  from: string;
}

/**
 * The effect a definition gets through an assignment, as Azure Policy resolves it: the assignment's
 * `effect`, else the definition's default (for the three article built-ins that is Deny: ContainerNoPrivilege.json
 * 9.2.0, ContainerResourceLimits.json 9.3.0, ContainerAllowedImages.json 9.3.0). Through an initiative,
 * the member's `effect` value: fixed, or `[parameters('x')]` bound to the assignment's `x` or else the
 * initiative's default for `x`; a member that passes no effect leaves the definition's default.
 */
export function resolveEffect(assignment: AssignmentFacts, definitionId: string, defaults: DefinitionDefaults | undefined): ResolvedEffect {
  const definitionDefault = (): ResolvedEffect => {
    const own = defaults?.[definitionId.toLowerCase()];
    const value = own ? parameterValue(own, "effect") : undefined;
    return typeof value === "string"
      ? { value, from: "the definition's default" }
      : { from: "the definition's default, which could not be read" };
  };
  if (!assignment.initiative) {
    const given = parameterValue(assignment.parameters, "effect");
    return typeof given === "string" ? { value: given, from: "set by the assignment" } : definitionDefault();
  }
  const member = assignment.initiative.members.find((m) => m.definitionId.toLowerCase() === definitionId.toLowerCase());
  const passed = member ? parameterValue(member.parameters, "effect") : undefined;
  if (passed === undefined) return definitionDefault();
  if (typeof passed !== "string") return { from: "an initiative value that is not text" };
  const name = referencedParameter(passed);
  if (name === undefined) {
    return passed.trim().startsWith("[")
      ? { from: `the initiative's expression ${passed}` }
      : { value: passed, from: "fixed by the initiative" };
  }
  const given = parameterValue(assignment.parameters, name);
  if (typeof given === "string") return { value: given, from: "set by the assignment" };
  const initiativeDefault = parameterValue(assignment.initiative.parameterDefaults, name);
  return typeof initiativeDefault === "string"
    ? { value: initiativeDefault, from: "the initiative's default" }
    : { from: `the initiative's parameter '${name}', which has no default` };
}

/** The article's built-ins whose effect falls back on their definition's default in these assignments: the definitions to read. */
export function definitionsWithDefaultEffect(assignments: readonly AssignmentFacts[]): string[] {
  const needed = new Set<string>();
  for (const assignment of assignments) {
    for (const key of ARTICLE_POLICIES) {
      const id = BUILT_IN_POLICIES[key].definitionId;
      if (!memberDefinitionIds(assignment).some((m) => m.toLowerCase() === id.toLowerCase())) continue;
      if (resolveEffect(assignment, id, undefined).from.startsWith("the definition's default")) needed.add(id);
    }
  }
  return [...needed];
}

const denies = (assignment: AssignmentFacts, effect: ResolvedEffect) =>
  effect.value?.toLowerCase() === "deny" && assignment.enforcementMode !== "DoNotEnforce";

/** The inputs of AssignAksPolicies@1 that assign these built-ins in Deny, with placeholders for the values only the user knows. */
function assignInDeny(keys: readonly PolicyKey[]): Fix {
  return {
    task: {
      name: "AssignAksPolicies@1",
      inputs: {
        policies: keys.join(","),
        effect: "Deny",
        ...(keys.includes("resourceLimits") ? { cpuLimit: "<e.g. 500m>", memoryLimit: "<e.g. 512Mi>" } : {}),
        ...(keys.includes("allowedImages") ? { allowedImagesRegex: "<e.g. ^myregistry\\.azurecr\\.io/.+$>" } : {}),
      },
    },
  };
}

/** A node pool's OS, as the spec's OSType (Linux when unset). */
const hasWindowsPool = (cluster: ManagedCluster) => (cluster.agentPoolProfiles ?? []).some((p) => p.osType?.toLowerCase() === "windows");
const hasLinuxPool = (cluster: ManagedCluster) =>
  (cluster.agentPoolProfiles ?? []).length === 0 || (cluster.agentPoolProfiles ?? []).some((p) => p.osType?.toLowerCase() !== "windows");

/*
 * Network policy engines (learn.microsoft.com/azure/aks/use-network-policies; MicrosoftDocs/azure-aks-docs
 * fb060abe articles/aks/use-network-policies.md and its includes): Azure Network Policy Manager is no longer
 * supported on Linux nodes from 30 September 2028 and on Windows nodes from 30 September 2026; Cilium is
 * recommended (Linux only). kubenet is no longer supported from 31 March 2028 (includes/kubenet-retirement.md).
 * Installing an engine reimages every node pool at once; changing one goes through `none` ("Change cluster
 * network policy"); Cilium replaces NPM or Calico in place and enforces only once every node is reimaged
 * (update-azure-cni.md, migrate-from-npm-to-cilium-network-policy.md).
 */
const NPM_LINUX_END = day("2028-09-30");
const NPM_WINDOWS_END = day("2026-09-30");
const KUBENET_END = day("2028-03-31");
const REIMAGES_ALL_POOLS =
  "report-only, as it reimages every node pool at the same time (nodes are replaced as in an upgrade): run it in a planned maintenance window, not in a release";

/** How to reach Cilium from where the cluster is, as commands (update-azure-cni.md: kubenet moves to Azure CNI Overlay first, in its own operation). */
function toCilium(target: Target, plugin: string): string {
  const dataplane = az(target, "--network-dataplane cilium");
  if (plugin.toLowerCase() !== "kubenet") return dataplane;
  return `${az(target, "--network-plugin azure --network-plugin-mode overlay")} (irreversible), then ${dataplane}`;
}

/*
 * Auto-upgrade, as the two built-ins count it (Azure/azure-policy f4a50bac):
 * 5c345cdf-2049-47e0-b8fe-b0e96bc2df35 "Azure Kubernetes Service Clusters should enable cluster auto-upgrade"
 * (Kubernetes/AKS_Autoupgrade_Cluster_Audit.json 1.0.0): compliant when autoUpgradeProfile.upgradeChannel is
 * one of rapid, stable, patch (its default allowedClusterAutoUpgradeChannels); unset is non-compliant.
 * 04408ca5-aa10-42ce-8536-98955cdddd4c "… should enable node os auto-upgrade" (AKS_Autoupgrade_NodeOS_Audit.json
 * 1.0.0): compliant when upgradeChannel is node-image, or nodeOSUpgradeChannel is NodeImage or SecurityPatch
 * (allowedNodeOsUpgradeChannels); an unset nodeOSUpgradeChannel is non-compliant. Field names and values:
 * ManagedClusterAutoUpgradeProfile, UpgradeChannel and NodeOSUpgradeChannel in azure-rest-api-specs
 * specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-04-01/managedClusters.json
 * (119645cb).
 */
const CLUSTER_CHANNELS = ["rapid", "stable", "patch"];
const NODE_OS_CHANNELS = ["nodeimage", "securitypatch"];

export const CHECKS: readonly Check[] = [
  {
    // AKS docs: api-server-authorized-ip-ranges.md (CIDRs; a private cluster has no public endpoint) and
    // api-server-service-tags.md (preview: a service tag such as AzureCloud in the list admits every address of that tag).
    kind: "cluster",
    id: "apiServer.access",
    area: "API server",
    title: "Private cluster, or authorized IP ranges",
    reads: ["cluster"],
    uses: ["jobScopedHolds"],
    evaluate: ({ cluster, jobScopedHolds }, target) => {
      const access = cluster!.apiServerAccessProfile;
      if (access?.enablePrivateCluster) return { status: "pass", finding: "Private cluster: the API server has no public endpoint." };
      const entries = access?.authorizedIPRanges ?? [];
      const ranges = entries.filter((r) => IPV4_ENTRY.test(r));
      const tags = entries.filter((r) => !IPV4_ENTRY.test(r));
      const restrict = (authorizedIpRanges: string): Fix => ({
        task: { name: "RestrictApiServer@1", inputs: { action: "set", authorizedIpRanges } },
      });
      if (entries.length === 0 || ranges.some((r) => prefixOf(r) === 0)) {
        return {
          status: "fail",
          finding: "The API server accepts connections from every address: no authorized IP ranges are set.",
          fix: restrict("<your admin ranges>"),
        };
      }
      const allOfAzure = tags.filter((t) => /^AzureCloud(\.|$)/i.test(t));
      if (allOfAzure.length) {
        return {
          status: "fail",
          finding: `The authorized ranges hold the service tag ${allOfAzure.join(", ")}: it admits every public address of Azure${allOfAzure.some((t) => t.includes(".")) ? " in that region" : ""}, any tenant's virtual machine or service included.`,
          fix: restrict(`<your admin ranges, without ${allOfAzure.join(", ")}>`),
        };
      }
      const problems: string[] = [];
      if (tags.length)
        problems.push(`the service tag ${tags.join(", ")} admits every address of that service, shared by all its customers`);
      const broad = ranges.filter((r) => prefixOf(r) < 16);
      if (broad.length) problems.push(`${counted(broad.length, "range")} broader than /16: ${broad.join(", ")}`);
      // Only a trusted hold whose job is over (a resource link, never a tag) makes an address "left behind".
      const leftBehind = [
        ...new Set(
          (jobScopedHolds ?? [])
            .filter((hold) => holdState(hold, { agent: "", job: "", now: target.now }) === "leftover")
            .filter((hold) => ranges.some((range) => sameEntry(range, hold.address)))
            .map((hold) => hold.address),
        ),
      ];
      if (leftBehind.length)
        problems.push(
          `${leftBehind.length === 1 ? "a job-scoped agent IP" : "job-scoped agent IPs"} left behind after their job: ${leftBehind.join(", ")}`,
        );
      if (problems.length) {
        return {
          status: "warn",
          finding: `Authorized IP ranges are set, but ${problems.join("; ")}.`,
          fix:
            leftBehind.length && !tags.length && !broad.length
              ? { task: { name: "RestrictApiServer@1", inputs: { action: "remove", authorizedIpRanges: leftBehind.join(", ") } } }
              : restrict(`<your admin ranges, /16 or narrower${tags.length ? `, without ${tags.join(", ")}` : ""}>`),
        };
      }
      const widest = Math.min(...ranges.map(prefixOf));
      return { status: "pass", finding: `${counted(ranges.length, "authorized IP range")}, the widest a /${widest}.` };
    },
  },
  {
    // AKS docs use-azure-ad-pod-identity.md: the pod-identity add-on was patched and supported through September 2025;
    // workload-identity-migrate-from-pod-identity.md is the migration. Workload ID: workload-identity-overview.md.
    kind: "cluster",
    id: "identity.workloadIdentity",
    area: "Identity",
    title: "Workload ID and the OIDC issuer on; no pod-identity add-on",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const oidc = cluster!.oidcIssuerProfile?.enabled === true;
      const workloadIdentity = cluster!.securityProfile?.workloadIdentity?.enabled === true;
      const migrate = {
        name: "EnablePodIdentity@1",
        inputs: {
          identityMode: "workloadIdentity",
          identity: "<managed identity>",
          namespace: "<namespace>",
          serviceAccountName: "<service account>",
        },
      };
      const podIdentity = cluster!.podIdentityProfile;
      if (podIdentity?.enabled) {
        const identities = podIdentity.userAssignedIdentities ?? [];
        const bindings = identities.map((b) => `${b.namespace}/${b.name}`);
        // With one binding the fix can name its identity and namespace; with several, each is migrated the same way.
        const only = identities.length === 1 ? identities[0] : undefined;
        if (only?.identity?.resourceId) {
          migrate.inputs.identity = only.identity.resourceId;
          migrate.inputs.namespace = only.namespace;
        }
        return {
          status: "fail",
          finding: `The AAD pod-identity add-on, supported only through September 2025, is on${bindings.length ? ` with ${counted(bindings.length, "binding")} to migrate to Workload ID: ${bindings.join(", ")}` : " (no bindings)"}${oidc && workloadIdentity ? "; Workload ID is on" : ""}.`,
          fix: {
            task: migrate,
            byHand: "no task turns the add-on off: do it once every binding runs on Workload ID",
            command: az(target, "--disable-pod-identity"),
          },
        };
      }
      if (oidc && workloadIdentity) return { status: "pass", finding: "Workload ID and the OIDC issuer are on." };
      return {
        status: "fail",
        finding: `Workload ID is off (OIDC issuer ${oidc ? "on" : "off"}, workload identity ${workloadIdentity ? "on" : "off"}): pods have no Entra identity of their own.`,
        fix: { task: migrate },
      };
    },
  },
  {
    // Built-in 993c2fcd-2b29-49d2-9eb0-df2c3a730c32 "Azure Kubernetes Service Clusters should have local authentication
    // methods disabled" (Kubernetes/AKS_DisableLocalAccounts_Deny.json 1.0.1): compliant when disableLocalAccounts is true.
    kind: "cluster",
    id: "identity.localAccounts",
    area: "Identity",
    title: "Local accounts disabled",
    reads: ["cluster"],
    evaluate: ({ cluster }): Finding => {
      if (cluster!.disableLocalAccounts === true)
        return { status: "pass", finding: "Local accounts are disabled: every sign-in goes through Entra ID." };
      if (cluster!.aadProfile?.managed === true) {
        return {
          status: "warn",
          finding: "Local accounts are enabled: the cluster-admin kubeconfig (a client certificate) bypasses Entra ID.",
          fix: { task: { name: "SecureClusterAccess@1", inputs: { disableLocalAccounts: "true" } } },
        };
      }
      return {
        status: "fail",
        finding: "Local accounts are the only way in: without Entra ID integration every kubeconfig is a shared certificate.",
        fix: {
          task: { name: "SecureClusterAccess@1", inputs: { adminGroupObjectIds: "<Entra group object ID>", disableLocalAccounts: "true" } },
        },
      };
    },
  },
  {
    // AKS docs enable-authentication-microsoft-entra-id.md (AKS-managed Entra ID); the legacy integration with your own
    // server and client apps is deprecated (spec ManagedClusterAADProfile clientAppID/serverAppID "(DEPRECATED)",
    // aka.ms/aks/aad-legacy; 2026-04-01 managedClusters.json).
    kind: "cluster",
    id: "identity.entraId",
    area: "Identity",
    title: "Microsoft Entra ID integration (AKS-managed)",
    reads: ["cluster"],
    evaluate: ({ cluster }) => {
      const aad = cluster!.aadProfile;
      const secure = { task: { name: "SecureClusterAccess@1", inputs: { adminGroupObjectIds: "<Entra group object ID>" } } };
      if (aad?.managed === true) {
        const groups = aad.adminGroupObjectIDs?.length ?? 0;
        return { status: "pass", finding: `AKS-managed Entra ID integration is on (${counted(groups, "admin group")}).` };
      }
      if (aad) {
        return {
          status: "warn",
          finding: "The legacy (deprecated) Entra ID integration with your own server and client apps is in use.",
          fix: secure,
        };
      }
      return {
        status: "fail",
        finding: "No Entra ID integration: users sign in with certificates, not their Entra identities.",
        fix: secure,
      };
    },
  },
  {
    // AKS docs manage-azure-rbac.md (aadProfile.enableAzureRBAC); a cluster created without Kubernetes RBAC cannot
    // get it later (spec ManagedClusterProperties.enableRBAC).
    kind: "cluster",
    id: "identity.azureRbac",
    area: "Identity",
    title: "Azure RBAC for Kubernetes authorization",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      if (cluster!.aadProfile?.enableAzureRbac === true) {
        return { status: "pass", finding: "Azure RBAC authorizes Kubernetes requests (access is granted with Azure role assignments)." };
      }
      if (cluster!.enableRbac !== false) {
        return {
          status: "warn",
          finding: "Kubernetes RBAC only: access is granted inside the cluster, not with Azure role assignments.",
          fix: {
            task: {
              name: "SecureClusterAccess@1",
              inputs: {
                ...(cluster!.aadProfile?.managed === true ? {} : { adminGroupObjectIds: "<Entra group object ID>" }),
                azureRbac: "true",
              },
            },
          },
        };
      }
      return {
        status: "fail",
        finding: "Kubernetes RBAC is disabled: every authenticated user can do everything.",
        fix: {
          byHand: "Kubernetes RBAC cannot be turned on in an existing cluster: move the workloads to a new cluster",
          command: `az aks create -g ${target.resourceGroupName} -n <new cluster> --enable-aad --enable-azure-rbac`,
        },
      };
    },
  },
  {
    // Built-in 0a15ec92-a229-4763-bb14-0ea34a568f8d "Azure Policy Add-on for Kubernetes service (AKS) should be installed
    // and enabled on your clusters" (Kubernetes/AKS_AzurePolicyAddOn_Audit.json): addonProfiles.azurepolicy.enabled. Without an
    // assignment it enforces nothing, so the fix assigns the article's built-ins too.
    kind: "cluster",
    id: "policy.addon",
    area: "Policy",
    title: "Azure Policy add-on on",
    reads: ["cluster"],
    uses: ["assignments"],
    evaluate: ({ cluster, assignments }): Finding => {
      if (!addonEnabled(cluster!)) {
        return {
          status: "fail",
          finding: "The Azure Policy add-on is off: no policy is enforced or reported inside the cluster.",
          fix: assignInDeny(ARTICLE_POLICIES),
        };
      }
      if (assignments && assignments.length === 0) {
        return {
          status: "warn",
          finding: "The Azure Policy add-on is on, but no policy is assigned to the cluster or above it: it enforces nothing.",
          fix: assignInDeny(ARTICLE_POLICIES),
        };
      }
      return {
        status: "pass",
        finding: `The Azure Policy add-on is on${assignments ? `; ${counted(assignments.length, "assignment")} ${assignments.length === 1 ? "applies" : "apply"} to the cluster` : ""}.`,
      };
    },
  },
  {
    // The three built-ins (95edb821…, e345eecc…, febd0533…; Kubernetes/ContainerNoPrivilege.json 9.2.0,
    // ContainerResourceLimits.json 9.3.0, ContainerAllowedImages.json 9.3.0 at azure-policy f4a50bac) default
    // `effect` to Deny: an assignment that does not set it denies. See resolveEffect for initiatives.
    kind: "cluster",
    id: "policy.builtIns",
    area: "Policy",
    title: "No privileged containers, CPU/memory limits, allowed images: assigned in Deny",
    reads: ["assignments", "definitionDefaults"],
    evaluate: ({ assignments, definitionDefaults }) => {
      const found = ARTICLE_POLICIES.map((key) => {
        const definitionId = BUILT_IN_POLICIES[key].definitionId;
        const candidates = assignments!
          .filter((a) => memberDefinitionIds(a).some((m) => m.toLowerCase() === definitionId.toLowerCase()))
          .map((assignment) => ({ assignment, effect: resolveEffect(assignment, definitionId, definitionDefaults) }));
        // Any assignment that denies is enough; otherwise the first one is described.
        return { key, ...(candidates.find((c) => denies(c.assignment, c.effect)) ?? candidates[0]) };
      });
      const describe = (f: (typeof found)[number]) => {
        const a = f.assignment!;
        return `${f.key}: ${f.effect!.value ?? "effect unknown"} (${f.effect!.from})${a.enforcementMode === "DoNotEnforce" ? " in DoNotEnforce" : ""} via '${a.displayName ?? a.name}' at ${scopeName(a.scope)}`;
      };
      const missing = found.filter((f) => !f.assignment).map((f) => f.key);
      if (missing.length) {
        const present = found.filter((f) => f.assignment);
        return {
          status: "fail",
          finding: `Not assigned to the cluster or above it: ${missing.join(", ")}${present.length ? `; assigned: ${present.map(describe).join("; ")}` : ""}.`,
          fix: assignInDeny(missing),
        };
      }
      const notDenying = found.filter((f) => !denies(f.assignment!, f.effect!));
      if (notDenying.length) {
        return {
          status: "warn",
          finding: `All three are assigned, but these do not deny: ${notDenying.map(describe).join("; ")}.`,
          fix: assignInDeny(notDenying.map((f) => f.key)),
        };
      }
      return { status: "pass", finding: `All three are assigned in Deny: ${found.map(describe).join("; ")}.` };
    },
  },
  {
    // Policy Insights latest policy states (azure-rest-api-specs policyinsights policyStates, queryResults); the add-on
    // reports about every 15 minutes (AKS docs use-azure-policy.md), so results older than an assignment's change are stale.
    kind: "cluster",
    id: "policy.compliance",
    area: "Policy",
    title: "Workloads comply with the assigned policies",
    reads: ["cluster", "assignments", "policyStates"],
    evaluate: ({ cluster, assignments, policyStates }, target) => {
      if (!addonEnabled(cluster!)) {
        return {
          status: "warn",
          finding: "Not evaluated: the Azure Policy add-on is off.",
          fix: {
            task: { name: "AssignAksPolicies@1", inputs: { ...assignInDeny(ARTICLE_POLICIES).task!.inputs, reportCompliance: "true" } },
          },
        };
      }
      if (assignments!.length === 0) {
        return {
          status: "warn",
          finding: "Not evaluated: no policy is assigned to the cluster or above it.",
          fix: assignInDeny(ARTICLE_POLICIES),
        };
      }
      const fresh = assignments!.flatMap((a) => freshStates(a, policyStates!));
      const pending = assignments!.filter((a) => freshStates(a, policyStates!).length === 0);
      const later = {
        byHand: "no task can hurry Azure Policy: the add-on reports about every 15 minutes after an assignment changes",
        command: `az policy state trigger-scan -g ${target.resourceGroupName} (or run this report again later)`,
      };
      if (fresh.length === 0) {
        return {
          status: "warn",
          finding:
            "Not evaluated yet: Azure Policy has no results newer than the assignments' last change (the add-on reports about every 15 minutes). Missing results are not compliance.",
          fix: later,
        };
      }
      const count = (state: string) => fresh.filter((s) => s.complianceState.toLowerCase() === state).length;
      const nonCompliant = count("noncompliant");
      const compliant = count("compliant");
      const times = fresh.map((s) => s.timestamp?.getTime() ?? 0).filter((t) => t > 0);
      const last = times.length ? `; last evaluated ${new Date(Math.max(...times)).toISOString()}` : "";
      const notYet = pending.length ? `; ${counted(pending.length, "assignment")} not evaluated yet` : "";
      if (nonCompliant > 0) {
        return {
          status: "fail",
          finding: `${counted(nonCompliant, "non-compliant result")} and ${compliant} compliant${notYet}${last}.`,
          fix: {
            byHand: "the workloads that break a policy are yours to change",
            command: `az policy state list --resource ${target.clusterName} -g ${target.resourceGroupName} --resource-type Microsoft.ContainerService/managedClusters --filter "complianceState eq 'NonCompliant'"`,
          },
        };
      }
      return {
        status: pending.length ? "warn" : "pass",
        finding: `${counted(compliant, "compliant result")}, none non-compliant${notYet}${last}.`,
        ...(pending.length ? { fix: later } : {}),
      };
    },
  },
  {
    // See the network policy note above (use-network-policies.md, update-azure-cni.md, the retirement includes).
    kind: "cluster",
    id: "network.policy",
    area: "Network",
    title: "A supported network policy engine",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const network = cluster!.networkProfile;
      const engine = (network?.networkPolicy ?? "none").toLowerCase();
      const plugin = network?.networkPlugin ?? "kubenet";
      const kubenet = plugin.toLowerCase() === "kubenet";
      const windows = hasWindowsPool(cluster!);
      const kubenetEnds = `kubenet, which AKS ${target.now >= KUBENET_END ? "no longer supports since" : "supports until"} ${longDate(KUBENET_END)}`;
      if (engine === "none") {
        return {
          status: "fail",
          finding: `No network policy engine (network plugin ${plugin}${kubenet ? `: ${kubenetEnds}` : ""}): NetworkPolicy objects are ignored and every pod can reach every other.`,
          fix: windows
            ? {
                byHand: `${REIMAGES_ALL_POOLS}; Cilium does not run on Windows node pools, Calico does`,
                command: az(target, "--network-policy calico"),
              }
            : { byHand: `${REIMAGES_ALL_POOLS}; Cilium is the engine Microsoft recommends`, command: toCilium(target, plugin) },
        };
      }
      if (engine === "azure") {
        const ends = [
          ...(hasLinuxPool(cluster!) ? [{ os: "Linux", end: NPM_LINUX_END }] : []),
          ...(windows ? [{ os: "Windows", end: NPM_WINDOWS_END }] : []),
        ];
        const past = ends.filter((e) => target.now >= e.end);
        const when = ends
          .map((e) => `on ${e.os} nodes ${target.now >= e.end ? "no longer supported since" : "supported until"} ${longDate(e.end)}`)
          .join(", ");
        return {
          status: past.length ? "fail" : "warn",
          finding: `Network policy engine Azure Network Policy Manager, which AKS retires (${when}): move to Cilium${windows ? " (Linux pools; Windows pools need Calico)" : ""}.`,
          fix: windows
            ? {
                byHand: `${REIMAGES_ALL_POOLS}; moving from one engine to another goes through none, and policies are not enforced in between`,
                command: `${az(target, "--network-policy none")}, then ${az(target, "--network-policy calico")}`,
              }
            : {
                byHand: `${REIMAGES_ALL_POOLS}; Cilium replaces NPM in place and enforces only once every node is reimaged, so check your policies against Cilium's behaviour first (learn.microsoft.com/azure/aks/migrate-from-npm-to-cilium-network-policy)`,
                command: toCilium(target, plugin),
              },
        };
      }
      if (kubenet) {
        return {
          status: target.now >= KUBENET_END ? "fail" : "warn",
          finding: `Network policy engine ${network!.networkPolicy}, on ${kubenetEnds}: plan the move to Azure CNI Overlay.`,
          fix: {
            byHand: REIMAGES_ALL_POOLS,
            command: windows ? az(target, "--network-plugin azure --network-plugin-mode overlay") : toCilium(target, plugin),
          },
        };
      }
      return { status: "pass", finding: `Network policy engine ${network!.networkPolicy} (network plugin ${plugin}).` };
    },
  },
  {
    // AKS docs egress-outboundtype.md: userDefinedRouting needs the cluster in your own VNet with a 0.0.0.0/0 route;
    // changing the outbound type changes the egress IP (authorized ranges and firewall rules that list it must follow);
    // `none` configures no egress path. OutboundType in 2026-04-01 managedClusters.json: loadBalancer,
    // userDefinedRouting, managedNATGateway, userAssignedNATGateway, none (`block` is a preview value).
    // Basic Load Balancer: retired 30 September 2025 (upgrade-basic-load-balancer-on-aks.md).
    kind: "cluster",
    id: "network.outbound",
    area: "Network",
    title: "Outbound type (egress) noted",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const network = cluster!.networkProfile;
      const outbound = network?.outboundType ?? "loadBalancer";
      switch (outbound.toLowerCase()) {
        case "userdefinedrouting":
          return {
            status: "pass",
            finding: "Outbound type userDefinedRouting: egress follows your route table (e.g. through a firewall).",
          };
        case "none":
          return { status: "pass", finding: "Outbound type none: AKS sets up no egress path; pods leave only where you route them." };
        case "block":
          return { status: "pass", finding: "Outbound type block (a preview value): AKS's network rules block egress to the internet." };
        default:
          break;
      }
      if (outbound.toLowerCase() === "loadbalancer" && network?.loadBalancerSku?.toLowerCase() === "basic") {
        return {
          status: "fail",
          finding: "Outbound through a Basic load balancer, which Azure retired on 30 September 2025.",
          fix: {
            byHand:
              "no task changes the load balancer: the migration has downtime, cannot be rolled back and gives egress new public addresses (upgrade-basic-load-balancer-on-aks.md)",
            command: az(target, "--load-balancer-sku standard"),
          },
        };
      }
      const ownNetwork = (cluster!.agentPoolProfiles ?? []).some((p) => typeof p.vnetSubnetID === "string" && p.vnetSubnetID.length > 0);
      return {
        status: "warn",
        finding: `Outbound type ${outbound}: pods reach the internet directly, unfiltered (noted; route egress through a firewall where that matters).`,
        fix: ownNetwork
          ? {
              byHand:
                "no task changes egress: first give the node subnet a route table whose 0.0.0.0/0 route points at your firewall; the change gives the cluster a new egress address, so update authorized IP ranges and Key Vault firewall rules that list the old one (re-run RestrictApiServer@1 and ProtectKeyVault@1 with allowClusters)",
              command: az(target, "--outbound-type userDefinedRouting"),
            }
          : {
              byHand:
                "the cluster runs in a virtual network AKS manages, where user-defined routing is not available: filtering egress through your firewall needs a cluster created in your own virtual network",
            },
      };
    },
  },
  {
    // Key Vault 2026-02-01 (azure-rest-api-specs specification/keyvault/resource-manager/Microsoft.KeyVault/stable/
    // 2026-02-01/openapi.json, 4f49dddd): VaultProperties.enableRbacAuthorization defaults to true (an absent value
    // is read as true in apply.ts). Built-in 12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5 "Azure Key Vault should use RBAC
    // permission model" (Key Vault/Should_Use_RBAC.json 1.0.1).
    kind: "vault",
    id: "keyVault.permissionModel",
    area: "Key Vault",
    title: "Azure RBAC permission model",
    evaluate: (vault) =>
      vault.enableRbacAuthorization
        ? { status: "pass", finding: "Azure RBAC permission model." }
        : {
            status: "warn",
            finding: "Access-policy permission model: anyone who may write the vault (e.g. Contributor) can grant themselves its secrets.",
            fix: { task: { name: "ProtectKeyVault@1", inputs: { ...protect(vault), permissionModel: "rbac" } } },
          },
  },
  {
    // Built-in 55615ac9-af46-4a59-874e-391cc3dfb490 "Azure Key Vault should have firewall enabled or public network
    // access disabled" (Key Vault/FirewallEnabled_Audit.json 1.5.0): networkAcls.defaultAction Deny, or public access off.
    kind: "vault",
    id: "keyVault.network",
    area: "Key Vault",
    title: "Public network access off, or a firewall that denies by default",
    evaluate: (vault, target) => {
      if (vault.publicNetworkAccess?.toLowerCase() === "disabled") return { status: "pass", finding: "Public network access is disabled." };
      if (vault.networkAcls?.defaultAction?.toLowerCase() === "deny") {
        const broad = vault.networkAcls.ipRules.filter((r) => prefixOf(r) < 16);
        if (broad.length) {
          return {
            status: "warn",
            finding: `The firewall denies by default, but allows ${counted(broad.length, "range")} broader than /16: ${broad.join(", ")}.`,
            fix: {
              byHand: "ProtectKeyVault@1 keeps the rules it did not add: remove a broad rule by hand",
              command: `az keyvault network-rule remove -g ${vault.resourceGroupName} -n ${vault.name} --ip-address ${broad[0]}`,
            },
          };
        }
        return { status: "pass", finding: `The firewall denies by default (${counted(vault.networkAcls.ipRules.length, "IP rule")}).` };
      }
      return {
        status: "fail",
        finding: "Reachable from every network: public network access is enabled and the firewall allows by default.",
        fix: {
          task: {
            name: "ProtectKeyVault@1",
            inputs: { ...protect(vault), firewall: "denyByDefault", allowClusters: `${target.resourceGroupName}/${target.clusterName}` },
          },
        },
      };
    },
  },
  {
    // Built-in a6abeaec-4d90-4a02-805f-6b26c4d3fbe9 "Azure Key Vaults should use private link" (Key Vault/
    // Should_Use_PrivateEndpoint_Audit.json): an approved private endpoint connection.
    kind: "vault",
    id: "keyVault.privateEndpoint",
    area: "Key Vault",
    title: "An approved private endpoint connection",
    evaluate: (vault) => {
      const approved = vault.privateEndpointConnections.filter((c) => c.status?.toLowerCase() === "approved");
      if (approved.length) return { status: "pass", finding: `${counted(approved.length, "approved private endpoint connection")}.` };
      const waiting = vault.privateEndpointConnections.filter((c) => c.status?.toLowerCase() === "pending");
      if (waiting.length) {
        return {
          status: "warn",
          finding: `${counted(waiting.length, "private endpoint connection")} waiting for approval, none approved.`,
          fix: {
            byHand: "approving another party's endpoint is the vault owner's decision",
            command: `az keyvault private-endpoint-connection approve --id ${waiting[0]!.id ?? "<connection id>"}`,
          },
        };
      }
      const fix = { task: { name: "ProtectKeyVault@1", inputs: { ...protect(vault), privateEndpointSubnetId: "<subnet resource ID>" } } };
      const closed = vault.publicNetworkAccess?.toLowerCase() === "disabled" || vault.networkAcls?.defaultAction?.toLowerCase() === "deny";
      return closed
        ? { status: "warn", finding: "No private endpoint connection (the firewall restricts public access).", fix }
        : { status: "fail", finding: "No private endpoint connection, and the vault is reachable from every network.", fix };
    },
  },
  {
    // Soft delete is on for every vault and cannot be turned off (learn.microsoft.com/azure/key-vault/general/
    // soft-delete-change, February 2025); azure-cli's `keyvault update` has no --enable-soft-delete (azure-cli
    // src/azure-cli/azure/cli/command_modules/keyvault/_params.py, 0018057b). Purge protection is irreversible
    // (2026-02-01 VaultProperties.enablePurgeProtection). Built-in 0b60c0b2-2dc2-4e1c-b5c9-abbed971de53 "Key vaults
    // should have deletion protection enabled" (Key Vault/Recoverable_Audit.json 2.1.0: purge protection unset or false
    // is non-compliant).
    kind: "vault",
    id: "keyVault.recovery",
    area: "Key Vault",
    title: "Purge protection (soft delete is always on)",
    evaluate: (vault) =>
      vault.enablePurgeProtection
        ? { status: "pass", finding: "Purge protection is on: a deleted secret stays recoverable for the whole retention period." }
        : {
            status: "warn",
            finding:
              "Purge protection is off: a deleted secret (soft delete keeps it) can still be purged before its retention ends. Turning it on cannot be undone.",
            fix: { task: { name: "ProtectKeyVault@1", inputs: { ...protect(vault), enablePurgeProtection: "true" } } },
          },
  },
  {
    // AKS docs supported-kubernetes-versions.md (the three newest GA minors have community support) and
    // long-term-support.md: LTS needs the Premium tier and support plan AKSLongTermSupport; the versions list says
    // which plans each minor is supported on (KubernetesVersion.capabilities.supportPlan, 2026-04-01 managedClusters.json).
    kind: "cluster",
    id: "cluster.version",
    area: "Cluster",
    title: "A supported Kubernetes version",
    reads: ["upgradeProfile", "supportedVersions"],
    uses: ["cluster"],
    evaluate: ({ upgradeProfile, supportedVersions, cluster }, target) => {
      const current = upgradeProfile!.kubernetesVersion;
      const asked = cluster?.supportPlan ?? "KubernetesOfficial";
      const premium = cluster?.sku?.tier?.toLowerCase() === "premium";
      const longTerm = asked.toLowerCase() === "akslongtermsupport" && premium;
      const plan = longTerm ? "AKSLongTermSupport" : "KubernetesOfficial";
      const supported = supportedVersions!
        .filter((v) => !v.isPreview && (v.supportPlans.length === 0 || v.supportPlans.some((p) => p.toLowerCase() === plan.toLowerCase())))
        .map((v) => v.version)
        .sort(compareVersions);
      const minor = versionParts(current)?.join(".") ?? current;
      const upgradeTo = upgradeProfile!.upgrades
        .filter((u) => !u.isPreview)
        .map((u) => u.kubernetesVersion)
        .sort(compareVersions)
        .at(-1);
      const fix: Fix = {
        byHand:
          "an upgrade is a release of its own: try the target version on a non-production cluster first (removed APIs, add-ons), then upgrade the control plane and the node pools in a maintenance window",
        command: `az aks upgrade -g ${target.resourceGroupName} -n ${target.clusterName} --kubernetes-version ${upgradeTo ?? "<version>"}`,
      };
      const window = supported.length ? `${supported[0]}–${supported.at(-1)}` : "none listed";
      const planText = longTerm ? "long-term support" : "community support";
      const ltsNote =
        asked.toLowerCase() === "akslongtermsupport" && !premium
          ? "; the cluster asks for long-term support, which only the Premium tier gives"
          : "";
      if (!supported.includes(minor)) {
        return {
          status: "fail",
          finding: `Kubernetes ${current} is out of ${planText} (supported in this region: ${window})${ltsNote}.`,
          fix,
        };
      }
      if (supported.length > 1 && minor === supported[0]) {
        return {
          status: "warn",
          finding: `Kubernetes ${current} is the oldest minor version with ${planText} (${window}): it leaves support with the next release.`,
          fix,
        };
      }
      return { status: "pass", finding: `Kubernetes ${current} has ${planText} (${window}).` };
    },
  },
  {
    // See the auto-upgrade note above (built-ins 5c345cdf and 04408ca5).
    kind: "cluster",
    id: "cluster.autoUpgrade",
    area: "Cluster",
    title: "Cluster and node OS auto-upgrade (built-ins 5c345cdf and 04408ca5)",
    reads: ["cluster"],
    evaluate: ({ cluster }) => {
      const profile = cluster!.autoUpgradeProfile;
      const channel = profile?.upgradeChannel;
      const nodeOs = profile?.nodeOSUpgradeChannel;
      const clusterOk = channel !== undefined && CLUSTER_CHANNELS.includes(channel.toLowerCase());
      const nodeOsOk = channel?.toLowerCase() === "node-image" || (nodeOs !== undefined && NODE_OS_CHANNELS.includes(nodeOs.toLowerCase()));
      const both = `auto-upgrade channel ${channel ?? "not set"}, node OS channel ${nodeOs ?? "not set"}`;
      if (clusterOk && nodeOsOk) {
        return {
          status: "pass",
          finding: `Auto-upgrade channel ${channel}, node OS channel ${channel?.toLowerCase() === "node-image" ? "covered by node-image" : nodeOs}${channel?.toLowerCase() === "rapid" ? " (rapid applies each new minor version as soon as it is out)" : ""}.`,
        };
      }
      const gaps = [
        ...(clusterOk ? [] : ["Kubernetes itself is not upgraded automatically (5c345cdf counts rapid, stable and patch)"]),
        ...(nodeOsOk
          ? []
          : ["node images get no automatic security updates (04408ca5 counts NodeImage, SecurityPatch or the node-image channel)"]),
      ];
      return {
        status: "fail",
        finding: `${both[0]!.toUpperCase()}${both.slice(1)}: ${gaps.join("; ")}.`,
        fix: {
          task: {
            name: "ConfigureAutoUpgrade@1",
            inputs: {
              upgradeChannel: clusterOk ? channel! : "patch",
              nodeOsUpgradeChannel: nodeOs !== undefined && NODE_OS_CHANNELS.includes(nodeOs.toLowerCase()) ? nodeOs : "NodeImage",
            },
          },
        },
      };
    },
  },
  {
    // Built-in a1840de2-8088-4ea8-b153-b4c723e9cb01 "Azure Kubernetes Service clusters should have Defender profile
    // enabled" (Kubernetes/ASC_Azure_Defender_AKS_SecurityProfile_Audit.json 2.0.1): securityProfile.defender.securityMonitoring.enabled.
    kind: "cluster",
    id: "cluster.defender",
    area: "Cluster",
    title: "Microsoft Defender for Containers",
    reads: ["cluster", "containersPlan"],
    evaluate: ({ cluster, containersPlan }) => {
      // The sensor on the cluster sends data; detections come only with the subscription's Containers plan on (Standard).
      const planOn = containersPlan!.pricingTier.toLowerCase() === "standard";
      const plan = `the subscription's Defender for Containers plan is ${containersPlan!.pricingTier}`;
      if (cluster!.securityProfile?.defender?.securityMonitoring?.enabled !== true) {
        return {
          status: "fail",
          finding: `Defender for Containers' security monitoring is off: no runtime threat detection (${plan}).`,
          fix: { task: { name: "EnableDefender@1", inputs: planOn ? ({} as Record<string, string>) : { enableContainersPlan: "true" } } },
        };
      }
      if (!planOn) {
        return {
          status: "warn",
          finding: `The Defender sensor is on, but ${plan}: detections are not produced until the plan is on.`,
          fix: { task: { name: "EnableDefender@1", inputs: { enableContainersPlan: "true" } } },
        };
      }
      return { status: "pass", finding: `Defender for Containers' security monitoring is on, and ${plan}.` };
    },
  },
];

/** ProtectKeyVault@1's inputs that name the vault. */
function protect(vault: VaultFacts): Record<string, string> {
  return { resourceGroupName: vault.resourceGroupName, keyVaultName: vault.name };
}

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id);
