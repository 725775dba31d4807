import type { ManagedCluster } from "../../core/cluster";
import { isLeftBehind, readJobScopedIps } from "../../core/job-scoped-ips";
import { BUILT_IN_POLICIES, type PolicyKey } from "../AssignAksPolicies/catalogue";

/**
 * The scorecard's checks: a table of small pure functions of what was read. Adding a check is
 * adding a row here (and its pass, warn and fail cases to the tests). plan.ts runs them.
 */

export type Verdict = "pass" | "warn" | "fail";

export const AREAS = ["API server", "Identity", "Policy", "Network", "Key Vault", "Cluster"] as const;
export type Area = (typeof AREAS)[number];

/** How to fix a finding: this extension's task with the inputs that fix it, else (or then) an `az` command. */
export interface Fix {
  task?: { name: string; inputs: Record<string, string> };
  command?: string;
}

export interface Finding {
  status: Verdict;
  /** One line, plain text (values from Azure are quoted as they are; the report escapes them). */
  finding: string;
  fix?: Fix;
}

/** What a read returned, or why it could not be made: a refused read makes the checks it feeds unknown. */
export type Read<T> = { ok: true; value: T } | { ok: false; permission: string; reason: string };

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

/** A policy assignment that applies to the cluster (made at it or above it). */
export interface AssignmentFacts {
  id: string;
  name: string;
  displayName?: string;
  scope: string;
  policyDefinitionId: string;
  /** For an initiative: the definitions it contains (empty when its definition could not be read). */
  memberDefinitionIds: string[];
  effect?: string;
  enforcementMode: string;
  changedAt?: Date;
}

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
  policyStates: Read<PolicyStateFacts[]>;
  containersPlan: Read<ContainersPlanFacts>;
}
export type ClusterReadKey = keyof ClusterFacts;

/** A key vault as the checks need it (Microsoft.KeyVault/vaults properties). */
export interface VaultFacts {
  name: string;
  resourceGroupName: string;
  id: string;
  enableRbacAuthorization: boolean;
  enableSoftDelete: boolean;
  enablePurgeProtection: boolean;
  publicNetworkAccess?: string;
  networkAcls?: { defaultAction?: string; ipRules: string[] };
  privateEndpointConnections: { id?: string; status?: string }[];
}

/** Where the checks point their fixes. */
export interface Target {
  resourceGroupName: string;
  clusterName: string;
  /** The report's own time, to tell a job-scoped agent IP whose job is over. */
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
  /** Reads that refine the verdict when they were allowed. */
  uses?: ClusterReadKey[];
  evaluate(values: ReadValues, target: Target): Finding;
}

export interface VaultCheck extends CheckBase {
  kind: "vault";
  evaluate(vault: VaultFacts): Finding;
}

export type Check = ClusterCheck | VaultCheck;

const az = (target: Target, args: string) => `az aks update -g ${target.resourceGroupName} -n ${target.clusterName} ${args}`;
const kv = (vault: VaultFacts, args: string) => `az keyvault update -g ${vault.resourceGroupName} -n ${vault.name} ${args}`;

/** "1 range", "3 ranges": a count with its noun as a person writes it. */
export function counted(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

function prefixOf(cidr: string): number {
  const prefix = /\/(\d{1,2})$/.exec(cidr)?.[1];
  return prefix === undefined ? 32 : Number(prefix);
}

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

export const CHECKS: readonly Check[] = [
  {
    kind: "cluster",
    id: "apiServer.access",
    area: "API server",
    title: "Private cluster, or authorized IP ranges",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const access = cluster!.apiServerAccessProfile;
      if (access?.enablePrivateCluster) return { status: "pass", finding: "Private cluster: the API server has no public endpoint." };
      const ranges = access?.authorizedIPRanges ?? [];
      const restrict = { task: { name: "RestrictApiServer@1", inputs: { action: "set", authorizedIpRanges: "<your admin ranges>" } } };
      if (ranges.length === 0 || ranges.some((r) => prefixOf(r) === 0)) {
        return {
          status: "fail",
          finding: "The API server accepts connections from every address: no authorized IP ranges are set.",
          fix: restrict,
        };
      }
      const problems: string[] = [];
      const broad = ranges.filter((r) => prefixOf(r) < 16);
      if (broad.length) problems.push(`${counted(broad.length, "range")} broader than /16: ${broad.join(", ")}`);
      const leftBehind = readJobScopedIps(cluster!.tags)
        .holds.filter((hold) => isLeftBehind(hold, target.now, undefined) && ranges.includes(hold.cidr))
        .map((hold) => hold.cidr);
      if (leftBehind.length)
        problems.push(
          `${[...new Set(leftBehind)].length === 1 ? "a job-scoped agent IP" : "job-scoped agent IPs"} left behind after their job: ${[...new Set(leftBehind)].join(", ")}`,
        );
      if (problems.length) {
        return {
          status: "warn",
          finding: `Authorized IP ranges are set, but ${problems.join("; ")}.`,
          fix: leftBehind.length
            ? {
                task: {
                  name: "RestrictApiServer@1",
                  inputs: { action: "remove", authorizedIpRanges: [...new Set(leftBehind)].join(", ") },
                },
              }
            : { task: { name: "RestrictApiServer@1", inputs: { action: "set", authorizedIpRanges: "<narrower ranges, /16 or smaller>" } } },
        };
      }
      const widest = Math.min(...ranges.map(prefixOf));
      return { status: "pass", finding: `${counted(ranges.length, "authorized IP range")}, the widest a /${widest}.` };
    },
  },
  {
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
          status: "warn",
          finding: `The deprecated AAD pod-identity add-on is in use${bindings.length ? ` with ${counted(bindings.length, "binding")} to migrate to Workload ID: ${bindings.join(", ")}` : " (no bindings)"}${oidc && workloadIdentity ? "; Workload ID is on" : ""}.`,
          fix: {
            task: migrate,
            command: `${bindings.length ? "after migrating each binding: " : ""}${az(target, "--disable-pod-identity")}`,
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
    kind: "cluster",
    id: "identity.localAccounts",
    area: "Identity",
    title: "Local accounts disabled",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      if (cluster!.disableLocalAccounts === true)
        return { status: "pass", finding: "Local accounts are disabled: every sign-in goes through Entra ID." };
      if (cluster!.aadProfile?.managed === true) {
        return {
          status: "warn",
          finding: "Local accounts are enabled: the cluster-admin kubeconfig (a client certificate) bypasses Entra ID.",
          fix: { command: az(target, "--disable-local-accounts") },
        };
      }
      return {
        status: "fail",
        finding: "Local accounts are the only way in: without Entra ID integration every kubeconfig is a shared certificate.",
        fix: { command: az(target, "--enable-aad --aad-admin-group-object-ids <group id> --disable-local-accounts") },
      };
    },
  },
  {
    kind: "cluster",
    id: "identity.entraId",
    area: "Identity",
    title: "Microsoft Entra ID integration (AKS-managed)",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const aad = cluster!.aadProfile;
      if (aad?.managed === true) {
        const groups = aad.adminGroupObjectIDs?.length ?? 0;
        return { status: "pass", finding: `AKS-managed Entra ID integration is on (${counted(groups, "admin group")}).` };
      }
      if (aad) {
        return {
          status: "warn",
          finding: "The legacy (deprecated) Entra ID integration with your own server and client apps is in use.",
          fix: { command: az(target, "--enable-aad --aad-admin-group-object-ids <group id>") },
        };
      }
      return {
        status: "fail",
        finding: "No Entra ID integration: users sign in with certificates, not their Entra identities.",
        fix: { command: az(target, "--enable-aad --aad-admin-group-object-ids <group id>") },
      };
    },
  },
  {
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
          fix: { command: az(target, "--enable-aad --enable-azure-rbac") },
        };
      }
      return {
        status: "fail",
        finding: "Kubernetes RBAC is disabled: every authenticated user can do everything.",
        fix: {
          command: `az aks create -g ${target.resourceGroupName} -n <new cluster> --enable-aad --enable-azure-rbac (RBAC cannot be turned on in an existing cluster)`,
        },
      };
    },
  },
  {
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
          fix: { task: { name: "AssignAksPolicies@1", inputs: { enableAddon: "true" } } },
        };
      }
      if (assignments && assignments.length === 0) {
        return {
          status: "warn",
          finding: "The Azure Policy add-on is on, but no policy is assigned to the cluster or above it: it enforces nothing.",
          fix: { task: { name: "AssignAksPolicies@1", inputs: { policies: ARTICLE_POLICIES.join(","), effect: "Deny" } } },
        };
      }
      return {
        status: "pass",
        finding: `The Azure Policy add-on is on${assignments ? `; ${counted(assignments.length, "assignment")} ${assignments.length === 1 ? "applies" : "apply"} to the cluster` : ""}.`,
      };
    },
  },
  {
    kind: "cluster",
    id: "policy.builtIns",
    area: "Policy",
    title: "No privileged containers, CPU/memory limits, allowed images: assigned in Deny",
    reads: ["assignments"],
    evaluate: ({ assignments }) => {
      const found = ARTICLE_POLICIES.map((key) => {
        const definitionId = BUILT_IN_POLICIES[key].definitionId.toLowerCase();
        const assignment = assignments!.find(
          (a) => a.policyDefinitionId.toLowerCase() === definitionId || a.memberDefinitionIds.some((m) => m.toLowerCase() === definitionId),
        );
        return { key, assignment };
      });
      const missing = found.filter((f) => !f.assignment).map((f) => f.key);
      const describe = (f: (typeof found)[number]) => {
        const a = f.assignment!;
        const effect = a.effect ?? "the definition's default effect";
        return `${f.key}: ${effect}${a.enforcementMode === "DoNotEnforce" ? " (DoNotEnforce)" : ""} via '${a.displayName ?? a.name}' at ${scopeName(a.scope)}`;
      };
      const fixInputs = (keys: PolicyKey[]) => ({
        task: {
          name: "AssignAksPolicies@1",
          inputs: {
            policies: keys.join(","),
            effect: "Deny",
            ...(keys.includes("resourceLimits") ? { cpuLimit: "<e.g. 500m>", memoryLimit: "<e.g. 512Mi>" } : {}),
            ...(keys.includes("allowedImages") ? { allowedImagesRegex: "<e.g. ^myregistry\\.azurecr\\.io/.+$>" } : {}),
          },
        },
      });
      if (missing.length) {
        const present = found.filter((f) => f.assignment);
        return {
          status: "fail",
          finding: `Not assigned to the cluster or above it: ${missing.join(", ")}${present.length ? `; assigned: ${present.map(describe).join("; ")}` : ""}.`,
          fix: fixInputs(missing),
        };
      }
      const notDenying = found.filter(
        (f) => f.assignment!.effect?.toLowerCase() !== "deny" || f.assignment!.enforcementMode === "DoNotEnforce",
      );
      if (notDenying.length) {
        return {
          status: "warn",
          finding: `All three are assigned, but these do not deny: ${notDenying.map(describe).join("; ")}.`,
          fix: fixInputs(notDenying.map((f) => f.key)),
        };
      }
      return { status: "pass", finding: `All three are assigned in Deny: ${found.map(describe).join("; ")}.` };
    },
  },
  {
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
          fix: { task: { name: "AssignAksPolicies@1", inputs: { enableAddon: "true", reportCompliance: "true" } } },
        };
      }
      if (assignments!.length === 0) return { status: "warn", finding: "Not evaluated: no policy is assigned to the cluster or above it." };
      const fresh = assignments!.flatMap((a) => freshStates(a, policyStates!));
      const pending = assignments!.filter((a) => freshStates(a, policyStates!).length === 0);
      if (fresh.length === 0) {
        return {
          status: "warn",
          finding:
            "Not evaluated yet: Azure Policy has no results newer than the assignments' last change (the add-on reports about every 15 minutes). Missing results are not compliance.",
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
            command: `az policy state list --resource ${target.clusterName} -g ${target.resourceGroupName} --resource-type Microsoft.ContainerService/managedClusters --filter "complianceState eq 'NonCompliant'" (then fix those workloads)`,
          },
        };
      }
      return {
        status: pending.length ? "warn" : "pass",
        finding: `${counted(compliant, "compliant result")}, none non-compliant${notYet}${last}.`,
      };
    },
  },
  {
    kind: "cluster",
    id: "network.policy",
    area: "Network",
    title: "A network policy engine",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const network = cluster!.networkProfile;
      const engine = network?.networkPolicy;
      const plugin = network?.networkPlugin ?? "kubenet";
      if (!engine || engine.toLowerCase() === "none") {
        return {
          status: "fail",
          finding: `No network policy engine (network plugin ${plugin}): NetworkPolicy objects are ignored and every pod can reach every other.`,
          fix: { command: az(target, `--network-policy ${plugin.toLowerCase() === "kubenet" ? "calico" : "azure"}`) },
        };
      }
      // "On 31 March 2028, kubenet networking for AKS will be retired" (learn.microsoft.com/azure/aks/concepts-network-legacy-cni).
      if (plugin.toLowerCase() === "kubenet") {
        return {
          status: "warn",
          finding: `Network policy engine ${engine}, on the kubenet network plugin, which AKS retires on 31 March 2028: plan the move to Azure CNI Overlay.`,
          fix: { command: az(target, "--network-plugin azure --network-plugin-mode overlay") },
        };
      }
      return { status: "pass", finding: `Network policy engine ${engine} (network plugin ${plugin}).` };
    },
  },
  {
    kind: "cluster",
    id: "network.outbound",
    area: "Network",
    title: "Outbound type (egress) noted",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const network = cluster!.networkProfile;
      const outbound = network?.outboundType ?? "loadBalancer";
      if (["userdefinedrouting", "none", "block"].includes(outbound.toLowerCase())) {
        return {
          status: "pass",
          finding: `Outbound type ${outbound}: egress follows your route table (e.g. through a firewall) or is closed.`,
        };
      }
      // Basic Load Balancer was retired on 30 September 2025 (learn.microsoft.com/azure/load-balancer/load-balancer-basic-upgrade-guidance).
      if (outbound.toLowerCase() === "loadbalancer" && network?.loadBalancerSku?.toLowerCase() === "basic") {
        return {
          status: "fail",
          finding: "Outbound through a Basic load balancer, which Azure has retired.",
          fix: { command: `az aks update -g ${target.resourceGroupName} -n ${target.clusterName} --load-balancer-sku standard` },
        };
      }
      return {
        status: "warn",
        finding: `Outbound type ${outbound}: pods reach the internet directly, unfiltered (noted; route egress through a firewall where that matters).`,
        fix: { command: az(target, "--outbound-type userDefinedRouting") },
      };
    },
  },
  {
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
            fix: {
              command: `${kv(vault, "--enable-rbac-authorization true")} (grant readers first: KeyVaultSecrets@1 with grantTo makes the role assignment on RBAC vaults)`,
            },
          },
  },
  {
    kind: "vault",
    id: "keyVault.network",
    area: "Key Vault",
    title: "Public network access off, or a firewall that denies by default",
    evaluate: (vault) => {
      if (vault.publicNetworkAccess?.toLowerCase() === "disabled") return { status: "pass", finding: "Public network access is disabled." };
      if (vault.networkAcls?.defaultAction?.toLowerCase() === "deny") {
        const broad = vault.networkAcls.ipRules.filter((r) => prefixOf(r) < 16);
        if (broad.length) {
          return {
            status: "warn",
            finding: `The firewall denies by default, but allows ${counted(broad.length, "range")} broader than /16: ${broad.join(", ")}.`,
            fix: { command: `az keyvault network-rule remove -g ${vault.resourceGroupName} -n ${vault.name} --ip-address <range>` },
          };
        }
        return { status: "pass", finding: `The firewall denies by default (${counted(vault.networkAcls.ipRules.length, "IP rule")}).` };
      }
      return {
        status: "fail",
        finding: "Reachable from every network: public network access is enabled and the firewall allows by default.",
        fix: { command: kv(vault, "--default-action Deny (or --public-network-access Disabled with a private endpoint)") },
      };
    },
  },
  {
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
          fix: { command: `az keyvault private-endpoint-connection approve --id ${waiting[0]!.id ?? "<connection id>"}` },
        };
      }
      const fix = {
        command: `az network private-endpoint create -g <network resource group> -n pe-${vault.name} --vnet-name <vnet> --subnet <subnet> --private-connection-resource-id ${vault.id} --group-id vault --connection-name ${vault.name}`,
      };
      const closed = vault.publicNetworkAccess?.toLowerCase() === "disabled" || vault.networkAcls?.defaultAction?.toLowerCase() === "deny";
      return closed
        ? { status: "warn", finding: "No private endpoint connection (the firewall restricts public access).", fix }
        : { status: "fail", finding: "No private endpoint connection, and the vault is reachable from every network.", fix };
    },
  },
  {
    kind: "vault",
    id: "keyVault.recovery",
    area: "Key Vault",
    title: "Soft delete and purge protection",
    evaluate: (vault) => {
      if (!vault.enableSoftDelete) {
        return {
          status: "fail",
          finding: "Soft delete is off: a deleted secret is gone at once.",
          fix: { command: kv(vault, "--enable-soft-delete true --enable-purge-protection true") },
        };
      }
      if (!vault.enablePurgeProtection) {
        return {
          status: "warn",
          finding: "Soft delete is on, purge protection off: a deleted secret can be purged before its retention ends.",
          fix: { command: kv(vault, "--enable-purge-protection true") },
        };
      }
      return { status: "pass", finding: "Soft delete and purge protection are on." };
    },
  },
  {
    kind: "cluster",
    id: "cluster.version",
    area: "Cluster",
    title: "A supported Kubernetes version",
    reads: ["upgradeProfile", "supportedVersions"],
    uses: ["cluster"],
    evaluate: ({ upgradeProfile, supportedVersions, cluster }, target) => {
      const current = upgradeProfile!.kubernetesVersion;
      const plan = cluster?.supportPlan ?? "KubernetesOfficial";
      const supported = supportedVersions!
        .filter((v) => !v.isPreview && (v.supportPlans.length === 0 || v.supportPlans.some((p) => p.toLowerCase() === plan.toLowerCase())))
        .map((v) => v.version)
        .sort(compareVersions);
      const minor = versionParts(current)?.join(".") ?? current;
      const upgrades = upgradeProfile!.upgrades
        .filter((u) => !u.isPreview)
        .map((u) => u.kubernetesVersion)
        .sort(compareVersions);
      const upgradeTo = upgrades.at(-1);
      const fix = upgradeTo
        ? { command: `az aks upgrade -g ${target.resourceGroupName} -n ${target.clusterName} --kubernetes-version ${upgradeTo}` }
        : undefined;
      const window = supported.length ? `${supported[0]}–${supported.at(-1)}` : "none listed";
      if (!supported.includes(minor)) {
        return {
          status: "fail",
          finding: `Kubernetes ${current} is out of support (supported in this region: ${window}).`,
          ...(fix ? { fix } : {}),
        };
      }
      if (supported.length > 1 && minor === supported[0]) {
        return {
          status: "warn",
          finding: `Kubernetes ${current} is the oldest supported minor version (${window}): it leaves support with the next release.`,
          ...(fix ? { fix } : {}),
        };
      }
      return { status: "pass", finding: `Kubernetes ${current} is supported (${window}).` };
    },
  },
  {
    kind: "cluster",
    id: "cluster.autoUpgrade",
    area: "Cluster",
    title: "An automatic upgrade channel",
    reads: ["cluster"],
    evaluate: ({ cluster }, target) => {
      const channel = cluster!.autoUpgradeProfile?.upgradeChannel ?? "none";
      const fix = { command: az(target, "--auto-upgrade-channel stable") };
      switch (channel.toLowerCase()) {
        case "patch":
        case "stable":
          return { status: "pass", finding: `Auto-upgrade channel ${channel}.` };
        case "rapid":
          return { status: "warn", finding: "Auto-upgrade channel rapid: each new minor version is applied as soon as it is out.", fix };
        case "node-image":
          return { status: "warn", finding: "Auto-upgrade channel node-image: node images are upgraded, Kubernetes itself is not.", fix };
        default:
          return { status: "fail", finding: "No auto-upgrade channel: the cluster falls behind unless someone upgrades it.", fix };
      }
    },
  },
  {
    kind: "cluster",
    id: "cluster.defender",
    area: "Cluster",
    title: "Microsoft Defender for Containers",
    reads: ["cluster", "containersPlan"],
    evaluate: ({ cluster, containersPlan }, target) => {
      // The sensor on the cluster sends data; detections come only with the subscription's Containers plan on (Standard).
      const planOn = containersPlan!.pricingTier.toLowerCase() === "standard";
      const plan = `the subscription's Defender for Containers plan is ${containersPlan!.pricingTier}`;
      if (cluster!.securityProfile?.defender?.securityMonitoring?.enabled !== true) {
        return {
          status: "fail",
          finding: `Defender for Containers' security monitoring is off: no runtime threat detection (${plan}).`,
          fix: { command: az(target, "--enable-defender") },
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

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id);
