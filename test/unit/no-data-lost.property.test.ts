import { describe, it } from "mocha";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ManagedCluster } from "../../core/cluster";
import type { UserAssignedIdentity } from "../../core/identity";
import { InputError, TaskError } from "../../core/errors";
import { viewFirewall } from "../../core/job-scoped-access/plan";
import { withRanges } from "../../tasks/RestrictApiServer/apply";
import { clusterAccess, planAuthorizedRanges, type RangesRequest } from "../../tasks/RestrictApiServer/plan";
import { covers, isRangeError, parseIpv4Range, type Ipv4Range } from "../../core/ipv4-ranges";
import {
  planFederatedCredential,
  planPodIdentityCluster,
  planWorkloadCluster,
  withPodIdentityProfile,
  withWorkloadIdentity,
  type FederatedCredential,
  type PodIdentityEntry,
} from "../../tasks/EnablePodIdentity/plan";
import {
  planAccessPolicy,
  planSecret,
  type AccessPolicyEntry,
  type CurrentSecret,
  type VaultState,
} from "../../tasks/KeyVaultSecrets/plan";
import {
  MARKER_KEY,
  planAddon,
  planAssignments,
  withAddonEnabled,
  type ExistingAssignment,
  type WantedAssignment,
} from "../../tasks/AssignAksPolicies/plan";
import { planChannels, withChannels } from "../../tasks/ConfigureAutoUpgrade/plan";
import { NODE_OS_CHANNELS, UPGRADE_CHANNELS } from "../../tasks/ConfigureAutoUpgrade/inputs";
import { planSensor, withSensor } from "../../tasks/EnableDefender/plan";

describe("test/unit/no-data-lost.property", () => {
  /**
   * No data lost: random existing Azure state and random valid requests, through the pure planners and
   * the same "apply" the tasks send to Azure. Each property proves the task changes only what it owns
   * and that applying the plan twice equals applying it once (the second plan is empty).
   * The planners throw InputError/TaskError for requests Azure would refuse; those runs write nothing.
   */

  const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) };

  function refused(error: unknown): boolean {
    return error instanceof InputError || error instanceof TaskError;
  }

  const octet = fc.integer({ min: 0, max: 255 });
  const cidr: fc.Arbitrary<Ipv4Range> = fc
    .tuple(octet, octet, octet, octet, fc.integer({ min: 8, max: 32 }))
    .map(([a, b, c, d, prefix]) => {
      const address = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
      const network = prefix === 0 ? 0 : (address & (~0 << (32 - prefix))) >>> 0;
      const text = [24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join(".");
      const parsed = parseIpv4Range(`${text}/${prefix}`);
      if (isRangeError(parsed)) throw new Error(parsed.error);
      return parsed;
    });

  /** Fields of a cluster no task here owns, with random values. */
  const otherClusterFields = fc.record({
    tags: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 12 }), { maxKeys: 4 }),
    kubernetesVersion: fc.constantFrom("1.30.5", "1.31.2", "1.32.0"),
    dnsPrefix: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
    addonProfiles: fc.dictionary(
      fc.constantFrom("omsagent", "azureKeyvaultSecretsProvider", "ingressApplicationGateway"),
      fc.record({
        enabled: fc.boolean(),
        config: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
      }),
    ),
    agentPoolProfiles: fc.array(fc.record({ name: fc.stringMatching(/^[a-z]{1,8}$/), count: fc.integer({ min: 1, max: 100 }) }), {
      minLength: 1,
      maxLength: 3,
    }),
    securityProfile: fc.option(fc.record({ defender: fc.record({ securityMonitoring: fc.record({ enabled: fc.boolean() }) }) }), {
      nil: undefined,
    }),
  });

  function strip<T extends object>(value: T, ...keys: string[]): unknown {
    const copy = structuredClone(value) as Record<string, unknown>;
    for (const key of keys) delete copy[key];
    return copy;
  }

  // ---- RestrictApiServer ----

  const JOB = { agent: "aaaa0001", job: "11110001", now: new Date("2026-11-29T18:00:00Z"), until: new Date("2026-11-29T19:05:00Z") };

  const rangesRequest: fc.Arbitrary<RangesRequest> = fc
    .record({
      action: fc.constantFrom("set", "add", "remove", "disable") as fc.Arbitrary<RangesRequest["action"]>,
      ranges: fc.array(cidr, { minLength: 1, maxLength: 6 }),
      agentIpScope: fc.constantFrom("job", "permanent") as fc.Arbitrary<RangesRequest["agentIpScope"]>,
      agentAddresses: fc.option(
        fc.array(
          fc.tuple(octet, octet, octet, octet).map(([a, b, c, d]) => (parseIpv4Range(`${a}.${b}.${c}.${d}`) as Ipv4Range).cidr),
          { minLength: 1, maxLength: 3 },
        ),
        { nil: undefined },
      ),
    })
    .map((r) => ({
      ...(r.agentAddresses === undefined ? { action: r.action, ranges: r.ranges, agentIpScope: r.agentIpScope } : r),
      job: JOB,
    }));

  it("RestrictApiServer: only authorizedIPRanges changes, add and remove keep every range they do not concern, and a second run plans nothing", () => {
    fc.assert(
      fc.property(
        otherClusterFields,
        fc.array(cidr, { maxLength: 12 }),
        rangesRequest,
        fc.boolean(),
        (others, existing, request, removeExisting) => {
          // remove mostly names ranges the cluster has.
          const req =
            request.action === "remove" && removeExisting && existing.length > 0 ? { ...request, ranges: existing.slice(0, 2) } : request;
          const cluster: ManagedCluster = {
            ...others,
            location: "westeurope",
            apiServerAccessProfile: { authorizedIPRanges: existing.map((r) => r.cidr), enablePrivateCluster: false },
          } as ManagedCluster;
          let plan;
          try {
            plan = planAuthorizedRanges(
              req,
              clusterAccess(cluster),
              viewFirewall(
                existing.map((r) => r.cidr),
                { holds: [], untrusted: [] },
              ),
            );
          } catch (error) {
            if (refused(error)) return;
            throw error;
          }
          const after = plan.empty ? cluster : withRanges(cluster, plan.after);
          assert.deepEqual(
            strip(after, "apiServerAccessProfile"),
            strip(cluster, "apiServerAccessProfile"),
            "tags and every other field are kept",
          );
          assert.equal(after.apiServerAccessProfile?.enablePrivateCluster, false, "other API server settings are kept");

          const afterRanges = (after.apiServerAccessProfile?.authorizedIPRanges ?? []).map((text) => parseIpv4Range(text) as Ipv4Range);
          const coveredAfter = (range: Ipv4Range) => afterRanges.some((r) => covers(r, range));
          if (req.action === "add") {
            for (const range of existing) assert.ok(coveredAfter(range), `add lost ${range.cidr}`);
            for (const range of req.ranges) assert.ok(coveredAfter(range), `add did not authorize ${range.cidr}`);
          }
          if (req.action === "remove") {
            for (const range of existing.filter((e) => !req.ranges.some((r) => covers(r, e)))) {
              assert.ok(coveredAfter(range), `remove lost ${range.cidr}, which it was not asked to remove`);
            }
          }
          const afterList = after.apiServerAccessProfile?.authorizedIPRanges ?? [];
          // The holds this run wrote are on the resource for the second run (and no others: there were none).
          const again = planAuthorizedRanges(
            req,
            clusterAccess(after),
            viewFirewall(afterList, { holds: plan.jobScoped.write, untrusted: [] }),
          );
          assert.equal(again.empty, true, `a second run would change ${again.added.join(",")} / ${again.removed.join(",")}`);
        },
      ),
      RUNS,
    );
  });

  // ---- EnablePodIdentity ----

  const SUB = "11111111-2222-3333-4444-555555555555";
  const smallName = fc.constantFrom("app", "web", "api", "db");
  const identityArb: fc.Arbitrary<UserAssignedIdentity> = fc
    .record({ name: smallName, n: fc.integer({ min: 1, max: 3 }) })
    .map(({ name, n }) => ({
      subscriptionId: SUB,
      resourceGroupName: "rg",
      name: `id-${name}-${n}`,
      resourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${name}-${n}`,
      clientId: `client-${name}-${n}`,
      principalId: `principal-${name}-${n}`,
    }));
  const podEntry: fc.Arbitrary<PodIdentityEntry> = fc
    .record({ name: smallName, namespace: smallName, identity: identityArb, selector: fc.option(smallName, { nil: undefined }) })
    .map(({ name, namespace, identity, selector }) => ({
      name,
      namespace,
      ...(selector ? { bindingSelector: selector } : {}),
      identity: { resourceId: identity.resourceId, clientId: identity.clientId, objectId: identity.principalId },
    }));

  it("EnablePodIdentity (pod identity): other pod identities and exceptions are kept as they were, nothing else changes, a second run plans nothing", () => {
    fc.assert(
      fc.property(
        otherClusterFields,
        fc.uniqueArray(podEntry, { selector: (e) => `${e.name}/${e.namespace}`, maxLength: 6 }),
        fc.array(fc.record({ name: smallName, namespace: smallName, podLabels: fc.dictionary(smallName, smallName, { maxKeys: 2 }) }), {
          maxLength: 3,
        }),
        fc.boolean(),
        fc.record({ podIdentityName: smallName, namespace: smallName, bindingSelector: smallName, identity: identityArb }),
        fc.constantFrom("azure", "kubenet"),
        (others, entries, exceptions, enabled, want, plugin) => {
          const cluster: ManagedCluster = {
            ...others,
            location: "westeurope",
            identity: { type: "SystemAssigned", principalId: "cluster-principal" },
            networkProfile: { networkPlugin: plugin as "azure" | "kubenet" },
            podIdentityProfile: { enabled, userAssignedIdentities: entries, userAssignedIdentityExceptions: exceptions },
          } as ManagedCluster;
          const wanted = { ...want, allowKubenet: true };
          const plan = planPodIdentityCluster(wanted, cluster);
          const after = plan.empty ? cluster : withPodIdentityProfile(cluster, plan);
          assert.deepEqual(strip(after, "podIdentityProfile"), strip(cluster, "podIdentityProfile"));
          const mine = (e: PodIdentityEntry) => e.name === want.podIdentityName && e.namespace === want.namespace;
          assert.deepEqual(
            after.podIdentityProfile?.userAssignedIdentities?.filter((e) => !mine(e)),
            entries.filter((e) => !mine(e)),
          );
          assert.deepEqual(after.podIdentityProfile?.userAssignedIdentityExceptions, exceptions);
          assert.equal(
            after.podIdentityProfile?.userAssignedIdentities?.filter(mine).length,
            1,
            "exactly one entry of its name and namespace",
          );
          assert.equal(planPodIdentityCluster(wanted, after).empty, true);
        },
      ),
      RUNS,
    );
  });

  it("EnablePodIdentity (workload identity): only the OIDC issuer and workload identity switches change, a second run plans nothing", () => {
    fc.assert(
      fc.property(
        otherClusterFields,
        fc.option(fc.record({ enabled: fc.boolean(), issuerURL: fc.constant("https://issuer.example/x/") }), { nil: undefined }),
        fc.option(fc.record({ enabled: fc.boolean() }), { nil: undefined }),
        (others, oidc, workload) => {
          const cluster = {
            ...others,
            location: "westeurope",
            ...(oidc ? { oidcIssuerProfile: oidc } : {}),
            securityProfile: { ...others.securityProfile, ...(workload ? { workloadIdentity: workload } : {}) },
          } as ManagedCluster;
          const plan = planWorkloadCluster(cluster);
          const after = plan.empty ? cluster : withWorkloadIdentity(cluster);
          assert.deepEqual(strip(after, "oidcIssuerProfile", "securityProfile"), strip(cluster, "oidcIssuerProfile", "securityProfile"));
          assert.deepEqual(
            strip(after.securityProfile ?? {}, "workloadIdentity"),
            strip(cluster.securityProfile ?? {}, "workloadIdentity"),
          );
          if (oidc?.issuerURL && !plan.empty) assert.equal(after.oidcIssuerProfile?.issuerURL, oidc.issuerURL);
          assert.equal(planWorkloadCluster(after).empty, true);
        },
      ),
      RUNS,
    );
  });

  const credentialArb: fc.Arbitrary<FederatedCredential> = fc.record({
    name: fc.constantFrom("cred-a", "cred-b", "cred-c", "github", "aks-todo-sa"),
    issuer: fc.constantFrom("https://issuer-1/", "https://issuer-2/"),
    subject: fc.constantFrom("system:serviceaccount:todo:sa", "system:serviceaccount:web:sa", "repo:x/y:ref:main"),
    audiences: fc.constantFrom(["api://AzureADTokenExchange"], ["other"]),
  });

  it("EnablePodIdentity (federated credential): other credentials are untouched, a second run plans nothing", () => {
    fc.assert(
      // Azure keeps names unique, and one credential per issuer and subject.
      fc.property(
        fc
          .uniqueArray(credentialArb, { selector: (c) => c.name, maxLength: 5 })
          .map((all) => all.filter((c, i) => all.findIndex((d) => d.issuer === c.issuer && d.subject === c.subject) === i)),
        credentialArb,
        (existing, wantRaw) => {
          const want = { ...wantRaw, audiences: ["api://AzureADTokenExchange"] };
          let plan;
          try {
            plan = planFederatedCredential(want, existing, "id-app");
          } catch (error) {
            if (refused(error)) return;
            throw error;
          }
          const after = plan.empty ? existing : [...existing.filter((c) => c.name.toLowerCase() !== want.name.toLowerCase()), want];
          assert.deepEqual(
            after.filter((c) => c.name !== want.name),
            existing.filter((c) => c.name !== want.name),
          );
          assert.equal(planFederatedCredential(want, after, "id-app").empty, true);
        },
      ),
      RUNS,
    );
  });

  // ---- KeyVaultSecrets ----

  const PERMISSIONS = ["get", "list", "set", "delete", "backup", "restore", "recover", "purge", "all"];
  const principal = fc.constantFrom("p-1", "p-2", "p-3", "P-1");
  const policyArb: fc.Arbitrary<AccessPolicyEntry> = fc
    .record({
      tenantId: fc.constant("t"),
      objectId: principal,
      permissions: fc.record(
        {
          keys: fc.subarray(["get", "list", "sign"]),
          secrets: fc.subarray(PERMISSIONS),
          certificates: fc.subarray(["get", "list"]),
        },
        { requiredKeys: [] },
      ),
    })
    // fast-check may build records without a prototype; Azure's JSON always has one.
    .map((policy) => ({ ...policy, permissions: { ...policy.permissions } }));

  /** What Azure's accessPolicies/add does with the one entry the task sends: merges permissions into the same principal's entry. */
  function accessPoliciesAdd(policies: readonly AccessPolicyEntry[], change: AccessPolicyEntry): AccessPolicyEntry[] {
    const next = structuredClone(policies) as AccessPolicyEntry[];
    const index = next.findIndex((p) => p.objectId.toLowerCase() === change.objectId.toLowerCase() && !p.applicationId);
    const entry = index >= 0 ? next[index]! : { tenantId: change.tenantId, objectId: change.objectId, permissions: {} };
    for (const [category, given] of Object.entries(change.permissions) as [keyof AccessPolicyEntry["permissions"], string[]][]) {
      const current = entry.permissions[category] ?? [];
      entry.permissions[category] = [...current, ...given.filter((p) => !current.some((q) => q.toLowerCase() === p.toLowerCase()))];
    }
    if (index < 0) next.push(entry);
    return next;
  }

  it("KeyVaultSecrets (access policy): other principals' policies and the grantee's other permissions are kept, a second run plans nothing", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(policyArb, { selector: (p) => p.objectId.toLowerCase(), maxLength: 4 }),
        principal,
        fc.subarray(
          PERMISSIONS.filter((p) => p !== "all"),
          { minLength: 1 },
        ),
        (policies, grantee, wanted) => {
          const vault: VaultState = {
            id: "/v",
            name: "kv",
            resourceGroupName: "rg",
            vaultUri: "https://kv.vault.azure.net/",
            tenantId: "t",
            model: "accessPolicies",
            accessPolicies: policies,
            resource: { properties: { tenantId: "t", sku: { family: "A", name: "standard" } } } as VaultState["resource"],
          };
          const plan = planAccessPolicy(vault, grantee, "the identity", wanted);
          const after = plan.empty ? policies : accessPoliciesAdd(policies, plan.entry);
          const isGrantee = (p: AccessPolicyEntry) => p.objectId.toLowerCase() === grantee.toLowerCase();
          assert.deepEqual(
            after.filter((p) => !isGrantee(p)),
            policies.filter((p) => !isGrantee(p)),
          );
          const before = policies.find(isGrantee);
          const now = after.find(isGrantee);
          if (before) {
            assert.deepEqual(now?.permissions.keys, before.permissions.keys);
            assert.deepEqual(now?.permissions.certificates, before.permissions.certificates);
            for (const p of before.permissions.secrets ?? [])
              assert.ok(now?.permissions.secrets?.includes(p), `lost secret permission ${p}`);
          }
          assert.equal(planAccessPolicy({ ...vault, accessPolicies: after }, grantee, "the identity", wanted).empty, true);
        },
      ),
      RUNS,
    );
  });

  it("KeyVaultSecrets (secrets): after a write the value is there, and a second run writes nothing", () => {
    const current: fc.Arbitrary<CurrentSecret> = fc.oneof(
      fc.constant({ state: "absent" as const }),
      fc.constant({ state: "deleted" as const }),
      fc.string({ maxLength: 20 }).map((value) => ({ state: "present" as const, value })),
    );
    fc.assert(
      fc.property(current, fc.string({ minLength: 1, maxLength: 20 }), (now, value) => {
        const secret = { line: 1, typedName: "s", name: "s", value };
        const plan = planSecret(secret, now);
        // A recovered secret gets its value written when it differs: either way the value is there after.
        const after: CurrentSecret = plan.action === "unchanged" ? now : { state: "present", value };
        assert.equal(planSecret(secret, after).action, "unchanged");
        if (now.state === "present" && now.value === value) assert.equal(plan.action, "unchanged", "an equal value makes no new version");
      }),
      RUNS,
    );
  });

  // ---- AssignAksPolicies ----

  const assignmentName = fc.constantFrom(
    "aks-hardening-noPrivilegedContainers",
    "aks-hardening-resourceLimits",
    "aks-hardening-allowedImages",
    "portal-1",
    "terraform-2",
  );
  const parameters = fc.dictionary(
    fc.constantFrom("effect", "cpuLimit", "excludedNamespaces"),
    fc.oneof(fc.string({ maxLength: 6 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 })).map((value) => ({ value })),
    { maxKeys: 3 },
  );
  const existingArb: fc.Arbitrary<ExistingAssignment> = fc
    .record({
      name: assignmentName,
      policyDefinitionId: fc.constantFrom(
        "/providers/Microsoft.Authorization/policyDefinitions/a",
        "/providers/Microsoft.Authorization/policyDefinitions/b",
      ),
      parameters,
      enforcementMode: fc.constantFrom("Default", "DoNotEnforce"),
      ours: fc.boolean(),
      other: fc.dictionary(fc.constantFrom("category", "owner"), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
    })
    .map(({ name, ours, other, ...rest }) => ({
      id: `/c/providers/Microsoft.Authorization/policyAssignments/${name}`,
      name,
      ...rest,
      metadata: { ...other, ...(ours ? { [MARKER_KEY]: { task: "AssignAksPolicies", policy: name } } : {}) },
    }));
  const wantedArb: fc.Arbitrary<WantedAssignment> = fc
    .record({
      name: fc.constantFrom("aks-hardening-noPrivilegedContainers", "aks-hardening-resourceLimits", "aks-hardening-allowedImages"),
      definitionId: fc.constantFrom(
        "/providers/Microsoft.Authorization/policyDefinitions/a",
        "/providers/Microsoft.Authorization/policyDefinitions/b",
      ),
      parameters,
      enforcementMode: fc.constantFrom("Default", "DoNotEnforce") as fc.Arbitrary<"Default" | "DoNotEnforce">,
    })
    .map(({ name, definitionId, parameters, enforcementMode }) => ({
      name,
      source: { kind: "custom", definitionId },
      definition: { id: definitionId, displayName: name, kind: "policy", parameters: {} },
      displayName: name,
      parameters,
      enforcementMode,
      marker: { task: "AssignAksPolicies", policy: name },
      inputsUsed: [],
    }));

  /** What the task PUTs for a create or update: the wanted assignment, with the metadata others put there kept. */
  function applyAssignments(existing: readonly ExistingAssignment[], wanted: readonly WantedAssignment[]): ExistingAssignment[] {
    const plan = planAssignments(wanted, existing);
    let next = [...existing];
    for (const change of plan.changes) {
      if (change.action !== "create" && change.action !== "update") continue;
      const w = change.wanted;
      const written: ExistingAssignment = {
        id: `/c/providers/Microsoft.Authorization/policyAssignments/${w.name}`,
        name: w.name,
        policyDefinitionId: w.definition.id,
        parameters: w.parameters,
        enforcementMode: w.enforcementMode,
        metadata: { ...change.before?.metadata, [MARKER_KEY]: w.marker },
      };
      next = [...next.filter((e) => e.name.toLowerCase() !== w.name.toLowerCase()), written];
    }
    return next;
  }

  it("AssignAksPolicies: assignments the task did not make, or does not want now, are never changed; a second run plans nothing", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(existingArb, { selector: (a) => a.name, maxLength: 5 }),
        fc.uniqueArray(wantedArb, { selector: (w) => w.name, minLength: 1, maxLength: 3 }),
        (existing, wanted) => {
          const after = applyAssignments(existing, wanted);
          const wantedNames = new Set(wanted.map((w) => w.name.toLowerCase()));
          const notOurs = (a: ExistingAssignment) => !a.metadata[MARKER_KEY];
          for (const before of existing.filter((a) => notOurs(a) || !wantedNames.has(a.name.toLowerCase()))) {
            assert.deepEqual(
              after.find((a) => a.name === before.name),
              before,
              `${before.name} changed`,
            );
          }
          for (const a of after) {
            const before = existing.find((e) => e.name === a.name);
            if (before)
              for (const [key, value] of Object.entries(before.metadata)) if (key !== MARKER_KEY) assert.deepEqual(a.metadata[key], value);
          }
          assert.equal(planAssignments(wanted, after).empty, true);
        },
      ),
      RUNS,
    );
  });

  it("AssignAksPolicies (add-on): only the azurepolicy add-on is turned on, other add-ons and its config are kept, a second run plans nothing", () => {
    fc.assert(
      fc.property(
        otherClusterFields,
        fc.option(
          fc.record({
            key: fc.constantFrom("azurepolicy", "azurePolicy", "AzurePolicy"),
            enabled: fc.boolean(),
            config: fc.dictionary(fc.constantFrom("version"), fc.constantFrom("v2"), { maxKeys: 1 }),
          }),
          { nil: undefined },
        ),
        fc.boolean(),
        (others, policyAddon, enableAddon) => {
          const addonProfiles = {
            ...others.addonProfiles,
            ...(policyAddon ? { [policyAddon.key]: { enabled: policyAddon.enabled, config: policyAddon.config } } : {}),
          };
          const cluster = { ...others, location: "westeurope", addonProfiles } as ManagedCluster;
          const plan = planAddon(cluster, enableAddon);
          const after = plan.empty ? cluster : withAddonEnabled(cluster);
          assert.deepEqual(strip(after, "addonProfiles"), strip(cluster, "addonProfiles"));
          const key = policyAddon?.key ?? "azurepolicy";
          assert.deepEqual(strip(after.addonProfiles ?? {}, key), strip(addonProfiles, key));
          if (policyAddon) assert.deepEqual(after.addonProfiles?.[key]?.config, policyAddon.config);
          assert.equal(
            Object.keys(after.addonProfiles ?? {}).filter((k) => k.toLowerCase() === "azurepolicy").length,
            policyAddon || enableAddon ? 1 : 0,
          );
          assert.equal(planAddon(after, enableAddon).empty, true);
        },
      ),
      RUNS,
    );
  });

  it("ConfigureAutoUpgrade: only the two channels change, the rest of the auto-upgrade profile is kept, a second run plans nothing", () => {
    fc.assert(
      fc.property(
        otherClusterFields,
        fc.option(
          fc.record(
            {
              upgradeChannel: fc.constantFrom("none", "Patch", "stable", "rapid", "node-image"),
              nodeOSUpgradeChannel: fc.constantFrom("None", "unmanaged", "NodeImage", "SecurityPatch"),
            },
            { requiredKeys: [] },
          ),
          { nil: undefined },
        ),
        fc.constantFrom(...UPGRADE_CHANNELS),
        fc.constantFrom(...NODE_OS_CHANNELS),
        (others, profile, channel, nodeOs) => {
          const cluster = { ...others, location: "westeurope", ...(profile ? { autoUpgradeProfile: profile } : {}) } as ManagedCluster;
          const plan = planChannels(cluster, channel, nodeOs);
          const after = plan.empty ? cluster : withChannels(cluster, plan);
          assert.deepEqual(strip(after, "autoUpgradeProfile"), strip(cluster, "autoUpgradeProfile"));
          // A channel left out is AKS's default: none, and NodeImage for the node OS.
          assert.equal((after.autoUpgradeProfile?.upgradeChannel ?? "none").toLowerCase(), channel.toLowerCase());
          assert.equal((after.autoUpgradeProfile?.nodeOSUpgradeChannel ?? "NodeImage").toLowerCase(), nodeOs.toLowerCase());
          assert.equal(planChannels(after, channel, nodeOs).empty, true);
        },
      ),
      RUNS,
    );
  });

  it("EnableDefender: only the Defender profile's workspace and monitoring change, the rest of the security profile is kept, a second run plans nothing", () => {
    const workspace = fc.constantFrom(
      "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law-a",
      "/subscriptions/s/resourceGroups/RG/providers/Microsoft.OperationalInsights/workspaces/LAW-A",
      "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law-b",
    );
    fc.assert(
      fc.property(
        otherClusterFields,
        fc.option(fc.record({ enabled: fc.boolean() }), { nil: undefined }),
        fc.option(fc.record({ logAnalyticsWorkspaceResourceId: workspace, securityMonitoring: fc.record({ enabled: fc.boolean() }) }), {
          nil: undefined,
        }),
        workspace,
        (others, workloadIdentity, defender, wanted) => {
          const securityProfile = { ...(workloadIdentity ? { workloadIdentity } : {}), ...(defender ? { defender } : {}) };
          const cluster = { ...others, location: "westeurope", securityProfile } as ManagedCluster;
          const plan = planSensor(cluster, wanted);
          const after = plan.empty ? cluster : withSensor(cluster, plan);
          assert.deepEqual(strip(after, "securityProfile"), strip(cluster, "securityProfile"));
          assert.deepEqual(strip(after.securityProfile ?? {}, "defender"), strip(securityProfile, "defender"));
          assert.equal(after.securityProfile?.defender?.securityMonitoring?.enabled, true);
          assert.equal(after.securityProfile?.defender?.logAnalyticsWorkspaceResourceId?.toLowerCase(), wanted.toLowerCase());
          assert.equal(planSensor(after, wanted).empty, true);
        },
      ),
      RUNS,
    );
  });
});
