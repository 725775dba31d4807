/**
 * The built-in Kubernetes policies the `policies` input offers. IDs from Azure's published built-ins
 * (github.com/Azure/azure-policy, built-in-policies/policyDefinitions/Kubernetes and
 * policySetDefinitions/Kubernetes).
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
  noPrivilegedContainers: {
    key: "noPrivilegedContainers",
    definitionId: definition("95edb821-ddaf-4404-9732-666045e056b4"),
    title: "Kubernetes cluster should not allow privileged containers",
  },
  resourceLimits: {
    key: "resourceLimits",
    definitionId: definition("e345eecc-fa47-480f-9e88-67dcc122b164"),
    title: "Containers' CPU and memory limits should not exceed the specified limits",
  },
  allowedImages: {
    key: "allowedImages",
    definitionId: definition("febd0533-8e55-448f-b837-bd0e06f16469"),
    title: "Containers should only use allowed images",
  },
  podSecurityBaseline: {
    key: "podSecurityBaseline",
    definitionId: initiative("a8640138-9b0a-4a28-b8cb-1666c838647d"),
    title: "Pod security baseline standards for Linux-based workloads (initiative)",
  },
  podSecurityRestricted: {
    key: "podSecurityRestricted",
    definitionId: initiative("42b8ef37-b724-4e24-bbc8-7a7708edfe00"),
    title: "Pod security restricted standards for Linux-based workloads (initiative)",
  },
};
