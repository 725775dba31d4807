/**
 * The built-in Kubernetes policies the `policies` input offers. IDs from Azure's published built-ins
 * (github.com/Azure/azure-policy at f4a50bac, built-in-policies/policyDefinitions/Kubernetes and
 * policySetDefinitions/Kubernetes; the file and version beside each). Their parameters, defaults and
 * versions are read from Azure on every run, not kept here.
 */
export const POLICY_KEYS = [
  "noPrivilegedContainers",
  "resourceLimits",
  "allowedImages",
  "podSecurityBaseline",
  "podSecurityRestricted",
] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

export interface BuiltInPolicy {
  key: PolicyKey;
  definitionId: string;
  /** What the summary calls it (the built-in's display name, shortened). */
  title: string;
}

const definition = (name: string) => `/providers/Microsoft.Authorization/policyDefinitions/${name}`;
const initiative = (name: string) => `/providers/Microsoft.Authorization/policySetDefinitions/${name}`;

export const BUILT_IN_POLICIES: Record<PolicyKey, BuiltInPolicy> = {
  // ContainerNoPrivilege.json 9.2.0: effect defaults to Deny.
  noPrivilegedContainers: {
    key: "noPrivilegedContainers",
    definitionId: definition("95edb821-ddaf-4404-9732-666045e056b4"),
    title: "Kubernetes cluster should not allow privileged containers",
  },
  // ContainerResourceLimits.json 9.3.0: effect defaults to Deny; cpuLimit and memoryLimit have no default.
  resourceLimits: {
    key: "resourceLimits",
    definitionId: definition("e345eecc-fa47-480f-9e88-67dcc122b164"),
    title: "Containers' CPU and memory limits should not exceed the specified limits",
  },
  // ContainerAllowedImages.json 9.3.0: effect defaults to Deny; allowedContainerImagesRegex has no default.
  allowedImages: {
    key: "allowedImages",
    definitionId: definition("febd0533-8e55-448f-b837-bd0e06f16469"),
    title: "Containers should only use allowed images",
  },
  // PSPBaselineStandard.json 1.4.0: effect defaults to Audit; allowedHostPaths defaults to none allowed.
  podSecurityBaseline: {
    key: "podSecurityBaseline",
    definitionId: initiative("a8640138-9b0a-4a28-b8cb-1666c838647d"),
    title: "Pod security baseline standards for Linux-based workloads (initiative)",
  },
  // PSPRestrictedStandard.json 2.5.0: effect defaults to Audit.
  podSecurityRestricted: {
    key: "podSecurityRestricted",
    definitionId: initiative("42b8ef37-b724-4e24-bbc8-7a7708edfe00"),
    title: "Pod security restricted standards for Linux-based workloads (initiative)",
  },
};
