import { describe, it } from "mocha";
import assert from "node:assert/strict";
import type { ManagedCluster } from "../../core/cluster";
import type { UserAssignedIdentity } from "../../core/identity";
import { defaultCredentialName, type EnablePodIdentityRequest } from "../../tasks/EnablePodIdentity/inputs";
import {
  controlPlanePrincipal,
  MAX_FEDERATED_CREDENTIALS,
  planEnablePodIdentity,
  planFederatedCredential,
  planPodIdentityCluster,
  planWorkloadCluster,
  wantedGrants,
  withWorkloadIdentity,
  type FederatedCredential,
} from "../../tasks/EnablePodIdentity/plan";

describe("test/unit/pod-identity-plan", () => {
  const SUB = "11111111-2222-3333-4444-555555555555";
  const identity: UserAssignedIdentity = {
    subscriptionId: SUB,
    resourceGroupName: "rg",
    name: "id-app",
    resourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app`,
    clientId: "c1",
    principalId: "p1",
  };
  const cni: ManagedCluster = {
    location: "westeurope",
    identity: { type: "SystemAssigned", principalId: "cluster-principal" },
    networkProfile: { networkPlugin: "azure" },
    nodeResourceGroup: "MC_rg_aks_westeurope",
  };
  const want = { podIdentityName: "app", namespace: "todo", bindingSelector: "app", allowKubenet: false, identity };
  const entry = {
    name: "app",
    namespace: "todo",
    bindingSelector: "app",
    identity: { resourceId: identity.resourceId, clientId: "c1", objectId: "p1" },
  };

  it("pod identity: enables the add-on and adds the identity on a fresh cluster", () => {
    const plan = planPodIdentityCluster(want, cni);
    assert.equal(plan.empty, false);
    assert.equal(plan.enableAddon, true);
    assert.equal(plan.entryAction, "add");
    assert.deepEqual(plan.profile, { enabled: true, userAssignedIdentities: [entry], userAssignedIdentityExceptions: [] });
  });

  it("pod identity: the same identity under the same name and namespace is nothing to do, whatever read-only fields Azure adds", () => {
    const plan = planPodIdentityCluster(want, {
      ...cni,
      podIdentityProfile: {
        enabled: true,
        userAssignedIdentities: [{ ...entry, identity: { ...entry.identity, resourceId: identity.resourceId.toLowerCase() } }],
      },
    });
    assert.equal(plan.empty, true);
  });

  it("pod identity: others are kept in order; the same name in another namespace is another pod identity", () => {
    const other = { name: "app", namespace: "billing", identity: { resourceId: "/x", clientId: "c9", objectId: "p9" } };
    const exceptions = [{ name: "e", namespace: "kube-system", podLabels: { a: "b" } }];
    const plan = planPodIdentityCluster(want, {
      ...cni,
      podIdentityProfile: { enabled: true, userAssignedIdentities: [other], userAssignedIdentityExceptions: exceptions },
    });
    assert.deepEqual(plan.profile.userAssignedIdentities, [other, entry]);
    assert.deepEqual(plan.profile.userAssignedIdentityExceptions, exceptions);
  });

  it("pod identity: an exception whose empty podLabels AKS answered as null is sent with podLabels {} (as aks-preview does)", () => {
    const fromAks = [{ name: "e", namespace: "kube-system", podLabels: null as unknown as Record<string, string> }];
    const plan = planPodIdentityCluster(want, {
      ...cni,
      podIdentityProfile: { enabled: true, userAssignedIdentities: [], userAssignedIdentityExceptions: fromAks },
    });
    assert.deepEqual(plan.profile.userAssignedIdentityExceptions, [{ name: "e", namespace: "kube-system", podLabels: {} }]);
  });

  it("pod identity: a binding AKS reports Failed is written again (reassign); Assigned is left alone", () => {
    const failed = { ...entry, provisioningState: "Failed" as const };
    const plan = planPodIdentityCluster(want, { ...cni, podIdentityProfile: { enabled: true, userAssignedIdentities: [failed] } });
    assert.equal(plan.entryAction, "reassign");
    assert.equal(plan.empty, false);
    const assigned = { ...entry, provisioningState: "Assigned" as const };
    assert.equal(
      planPodIdentityCluster(want, { ...cni, podIdentityProfile: { enabled: true, userAssignedIdentities: [assigned] } }).empty,
      true,
    );
  });

  it("pod identity: another identity or selector under the same name and namespace is replaced in place", () => {
    const old = { ...entry, identity: { resourceId: "/old", clientId: "c0", objectId: "p0" } };
    const plan = planPodIdentityCluster(want, { ...cni, podIdentityProfile: { enabled: true, userAssignedIdentities: [old] } });
    assert.equal(plan.entryAction, "update");
    assert.deepEqual(plan.replaced, old);
    assert.deepEqual(plan.profile.userAssignedIdentities, [entry]);
    assert.equal(
      planPodIdentityCluster(
        { ...want, bindingSelector: "other" },
        { ...cni, podIdentityProfile: { enabled: true, userAssignedIdentities: [entry] } },
      ).entryAction,
      "update",
    );
  });

  it("pod identity: kubenet needs consent; with it the consent is set once and the risk is named", () => {
    const kubenet: ManagedCluster = { ...cni, networkProfile: { networkPlugin: "kubenet" } };
    assert.throws(() => planPodIdentityCluster(want, kubenet), /^InputError: allowKubenet: the cluster uses the kubenet network plugin/);
    const plan = planPodIdentityCluster({ ...want, allowKubenet: true }, kubenet);
    assert.equal(plan.setKubenetConsent, true);
    assert.equal(plan.profile.allowNetworkPluginKubenet, true);
    assert.match(plan.warnings.join(), /ARP-spoof/);
    const consented = planPodIdentityCluster(want, {
      ...kubenet,
      podIdentityProfile: { enabled: true, allowNetworkPluginKubenet: true, userAssignedIdentities: [entry] },
    });
    assert.equal(consented.empty, true);
  });

  it("the control-plane identity: system-assigned, the first user-assigned one, or a refusal for service-principal clusters", () => {
    assert.equal(controlPlanePrincipal(cni).principalId, "cluster-principal");
    const userAssigned: ManagedCluster = {
      location: "x",
      identity: {
        type: "UserAssigned",
        userAssignedIdentities: {
          "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-cp": { principalId: "cp" },
        },
      },
    };
    assert.deepEqual(controlPlanePrincipal(userAssigned), {
      principalId: "cp",
      description: "the cluster's control-plane identity (id-cp)",
    });
    assert.throws(() => controlPlanePrincipal({ location: "x" }), /uses a service principal/);
  });

  it("grants: Managed Identity Operator on the identity (pod identity only), Reader on the node resource group when asked", () => {
    const pod = wantedGrants({ mode: "podIdentity", grantReaderOnNodeResourceGroup: true }, identity, cni, SUB);
    assert.deepEqual(
      pod.map((g) => [g.role, g.scope, g.principalId]),
      [
        ["Managed Identity Operator", identity.resourceId, "cluster-principal"],
        ["Reader", `/subscriptions/${SUB}/resourceGroups/MC_rg_aks_westeurope`, "p1"],
      ],
    );
    assert.deepEqual(wantedGrants({ mode: "workloadIdentity", grantReaderOnNodeResourceGroup: false }, identity, cni, SUB), []);
  });

  it("workload identity: both switches in one write, the issuer only once enabled", () => {
    assert.deepEqual(planWorkloadCluster(cni), { empty: false, enableOidcIssuer: true, enableWorkloadIdentity: true });
    const on = withWorkloadIdentity({ ...cni, securityProfile: { defender: { securityMonitoring: { enabled: true } } } });
    assert.equal(on.oidcIssuerProfile?.enabled, true);
    assert.equal(on.securityProfile?.workloadIdentity?.enabled, true);
    assert.deepEqual(on.securityProfile?.defender, { securityMonitoring: { enabled: true } }, "other security settings are kept");
    assert.equal(planWorkloadCluster({ ...on, oidcIssuerProfile: { enabled: true, issuerURL: "https://i/" } }).empty, true);
  });

  const credential = (name: string, subject = "system:serviceaccount:todo:sa", issuer = "https://i/"): FederatedCredential => ({
    name,
    issuer,
    subject,
    audiences: ["api://AzureADTokenExchange"],
  });

  it("federated credential: create, nothing to do, update, covered by another name", () => {
    const wanted = credential("fic");
    assert.equal(planFederatedCredential(wanted, [], "id").action, "create");
    assert.equal(planFederatedCredential(wanted, [credential("fic")], "id").empty, true);
    const update = planFederatedCredential(wanted, [credential("FIC", "system:serviceaccount:old:sa")], "id");
    assert.equal(update.action, "update");
    const covered = planFederatedCredential(wanted, [credential("by-hand")], "id");
    assert.deepEqual([covered.empty, covered.coveredBy], [true, "by-hand"]);
    assert.throws(() => planFederatedCredential(wanted, [{ ...credential("by-hand"), audiences: ["other"] }], "id"), /Set its audience/);
  });

  it("federated credential: a new one over the limit of 20 fails; updating one at the limit does not", () => {
    const full = Array.from({ length: MAX_FEDERATED_CREDENTIALS }, (_, i) => credential(`f${i}`, `system:serviceaccount:ns:sa${i}`));
    assert.throws(() => planFederatedCredential(credential("new"), full, "id"), /already has 20 federated identity credentials/);
    assert.equal(planFederatedCredential(credential("f0"), full, "id").action, "update");
  });

  const request = (mode: "podIdentity" | "workloadIdentity"): EnablePodIdentityRequest =>
    ({
      connection: { subscriptionId: SUB },
      resourceGroupName: "rg",
      clusterName: "aks",
      mode,
      namespace: "todo",
      podIdentityName: "app",
      bindingSelector: "app",
      allowKubenet: false,
      serviceAccountName: "sa",
      federatedCredentialName: "fic",
      grantReaderOnNodeResourceGroup: false,
    }) as EnablePodIdentityRequest;

  it("the preview feature is checked only when the add-on's settings change", () => {
    const state = { identity, cluster: cni, grants: [] };
    assert.throws(
      () => planEnablePodIdentity(request("podIdentity"), { ...state, podIdentityFeatureState: "NotRegistered" }),
      /az feature register --namespace Microsoft\.ContainerService --name EnablePodIdentityPreview/,
    );
    assert.throws(
      () => planEnablePodIdentity(request("podIdentity"), { ...state, podIdentityFeatureState: "Registering" }),
      /its state is Registering/,
    );
    assert.equal(planEnablePodIdentity(request("podIdentity"), { ...state, podIdentityFeatureState: "Registered" }).empty, false);
    const unreadable = planEnablePodIdentity(request("podIdentity"), state);
    assert.match(unreadable.warnings.join(), /Could not read whether the subscription has registered/);
    const compliant = { ...cni, podIdentityProfile: { enabled: true, userAssignedIdentities: [entry] } };
    const plan = planEnablePodIdentity(request("podIdentity"), { ...state, cluster: compliant, podIdentityFeatureState: "NotRegistered" });
    assert.equal(plan.empty, true);
    assert.equal(plan.warnings.filter((w) => /deprecated/.test(w)).length, 1);
  });

  it("workload identity: the credential limit is found before the issuer exists", () => {
    const full = Array.from({ length: MAX_FEDERATED_CREDENTIALS }, (_, i) => credential(`f${i}`, `system:serviceaccount:ns:sa${i}`));
    assert.throws(
      () => planEnablePodIdentity(request("workloadIdentity"), { identity, cluster: cni, grants: [], credentials: full }),
      /limit per identity/,
    );
  });

  it("the default credential name is valid and at most 120 characters", () => {
    assert.equal(defaultCredentialName("aks", "todo", "todo-sa"), "aks-todo-todo-sa");
    assert.equal(defaultCredentialName("aks", "ns", "a.b"), "aks-ns-a-b");
    assert.equal(defaultCredentialName("a".repeat(63), "b".repeat(63), "c".repeat(200)).length, 120);
  });
});
