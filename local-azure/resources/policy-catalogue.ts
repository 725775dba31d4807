import type { ArmResource } from "./arm-resource";

/**
 * The built-in Kubernetes policy definitions and initiatives the project uses, as
 * `GET /providers/Microsoft.Authorization/policy(Set)Definitions/{id}` returns them. IDs, modes and
 * parameter schemas follow Azure's published built-ins (github.com/Azure/azure-policy,
 * built-in-policies/policyDefinitions/Kubernetes and policySetDefinitions/Kubernetes); the rules keep
 * their `then.details` shape (template, namespaces, values) and leave out the label selector schema.
 */

const DEFINITIONS = "/providers/Microsoft.Authorization/policyDefinitions";
const SET_DEFINITIONS = "/providers/Microsoft.Authorization/policySetDefinitions";
const CLUSTER_TYPES = ["Microsoft.Kubernetes/connectedClusters", "Microsoft.ContainerService/managedClusters"];

/** Every Kubernetes built-in of this catalogue takes the effect in either case. */
const EFFECT_VALUES = ["audit", "Audit", "deny", "Deny", "disabled", "Disabled"];

const effect = (defaultValue: string) => ({
  type: "String",
  metadata: {
    displayName: "Effect",
    description:
      "'Audit' allows a non-compliant resource to be created, but flags it as non-compliant. 'Deny' blocks the resource creation. 'Disable' turns off the policy.",
  },
  allowedValues: EFFECT_VALUES,
  defaultValue,
});

const arrayParameter = (displayName: string, description: string, defaultValue: unknown[]) => ({
  type: "Array",
  metadata: { displayName, description },
  defaultValue,
});

const SYSTEM_NAMESPACES = ["kube-system", "gatekeeper-system", "azure-arc"];
/**
 * The definitions' own `excludedNamespaces` default. ContainerNoPrivilege.json (9.1.0),
 * ContainerResourceLimits.json (9.2.0) and ContainerAllowedImages.json (9.2.0) in Azure/azure-policy
 * built-in-policies/policyDefinitions/Kubernetes all add azure-extensions-usage-system ("optional to
 * remove"); the baseline initiative (Kubernetes_PSPBaselineStandard.json, 1.2.1) has the three system
 * namespaces only. An assignment that sends its own list replaces this default.
 */
const DEFINITION_EXCLUDED_NAMESPACES = [...SYSTEM_NAMESPACES, "azure-extensions-usage-system"];

const commonParameters = (excluded: string[] = DEFINITION_EXCLUDED_NAMESPACES) => ({
  excludedNamespaces: arrayParameter("Namespace exclusions", "List of Kubernetes namespaces to exclude from policy evaluation.", excluded),
  namespaces: arrayParameter(
    "Namespace inclusions",
    "List of Kubernetes namespaces to only include in policy evaluation. An empty list means the policy is applied to all resources in all namespaces.",
    [],
  ),
  labelSelector: {
    type: "object",
    metadata: {
      displayName: "Kubernetes label selector",
      description:
        "Label query to select Kubernetes resources for policy evaluation. An empty label selector matches all Kubernetes resources.",
    },
    defaultValue: {},
  },
});

const exclusions = {
  excludedContainers: arrayParameter(
    "Containers exclusions",
    "The list of InitContainers and Containers to exclude from policy evaluation. The identify is the name of container.",
    [],
  ),
  excludedImages: arrayParameter("Image exclusions", "The list of InitContainers and Containers to exclude from policy evaluation.", []),
};

function kubernetesRule(template: string, values: Record<string, string>): Record<string, unknown> {
  return {
    if: { field: "type", in: CLUSTER_TYPES },
    then: {
      effect: "[parameters('effect')]",
      details: {
        templateInfo: { sourceType: "PublicURL", url: `https://store.policy.core.windows.net/kubernetes/${template}/template.yaml` },
        apiGroups: [""],
        kinds: ["Pod"],
        excludedNamespaces: "[parameters('excludedNamespaces')]",
        namespaces: "[parameters('namespaces')]",
        labelSelector: "[parameters('labelSelector')]",
        values,
      },
    },
  };
}

function builtInDefinition(p: {
  name: string;
  displayName: string;
  description: string;
  version: string;
  parameters: Record<string, unknown>;
  policyRule: Record<string, unknown>;
}): ArmResource {
  return {
    id: `${DEFINITIONS}/${p.name}`,
    name: p.name,
    type: "Microsoft.Authorization/policyDefinitions",
    properties: {
      displayName: p.displayName,
      policyType: "BuiltIn",
      mode: "Microsoft.Kubernetes.Data",
      description: p.description,
      metadata: { version: p.version, category: "Kubernetes" },
      version: p.version,
      versions: [p.version],
      parameters: p.parameters,
      policyRule: p.policyRule,
    },
  };
}

export const NO_PRIVILEGED_CONTAINERS = "95edb821-ddaf-4404-9732-666045e056b4";
export const RESOURCE_LIMITS = "e345eecc-fa47-480f-9e88-67dcc122b164";
export const ALLOWED_IMAGES = "febd0533-8e55-448f-b837-bd0e06f16469";
export const POD_SECURITY_BASELINE = "a8640138-9b0a-4a28-b8cb-1666c838647d";
export const POD_SECURITY_RESTRICTED = "42b8ef37-b724-4e24-bbc8-7a7708edfe00";

const builtInDefinitions: ArmResource[] = [
  builtInDefinition({
    name: NO_PRIVILEGED_CONTAINERS,
    displayName: "Kubernetes cluster should not allow privileged containers",
    description: "Do not allow privileged containers creation in a Kubernetes cluster. This recommendation is part of CIS 5.2.1.",
    version: "9.2.0",
    parameters: { effect: effect("Deny"), ...commonParameters(), ...exclusions },
    policyRule: kubernetesRule("container-no-privilege/v2", {
      excludedContainers: "[parameters('excludedContainers')]",
      excludedImages: "[parameters('excludedImages')]",
    }),
  }),
  builtInDefinition({
    name: RESOURCE_LIMITS,
    displayName: "Kubernetes cluster containers CPU and memory resource limits should not exceed the specified limits",
    description: "Enforce container CPU and memory resource limits to prevent resource exhaustion attacks in a Kubernetes cluster.",
    version: "9.2.0",
    parameters: {
      warn: {
        type: "Boolean",
        metadata: { displayName: "Warn", description: "Whether or not to return warnings back to the user in the kubectl cli" },
        allowedValues: [true, false],
        defaultValue: false,
      },
      effect: effect("Deny"),
      ...commonParameters(),
      // No defaultValue: an assignment must give both.
      cpuLimit: {
        type: "String",
        metadata: { displayName: "Max allowed CPU units", description: "The maximum CPU units allowed for a container. E.g. 200m." },
      },
      memoryLimit: {
        type: "String",
        metadata: { displayName: "Max allowed memory bytes", description: "The maximum memory bytes allowed for a container. E.g. 1Gi." },
      },
      ...exclusions,
    },
    policyRule: kubernetesRule("container-resource-limits/v3", {
      cpuLimit: "[parameters('cpuLimit')]",
      memoryLimit: "[parameters('memoryLimit')]",
      excludedContainers: "[parameters('excludedContainers')]",
      excludedImages: "[parameters('excludedImages')]",
    }),
  }),
  builtInDefinition({
    name: ALLOWED_IMAGES,
    displayName: "Kubernetes cluster containers should only use allowed images",
    description: "Use images from trusted registries to reduce the Kubernetes cluster's exposure risk to unknown vulnerabilities.",
    version: "9.2.0",
    parameters: {
      effect: effect("Deny"),
      ...commonParameters(),
      allowedContainerImagesRegex: {
        type: "String",
        metadata: {
          displayName: "Allowed registry or registries regex",
          description: "The RegEx rule used to match allowed container image field in a Kubernetes cluster.",
        },
      },
      excludedContainers: exclusions.excludedContainers,
    },
    policyRule: kubernetesRule("container-allowed-images/v2", {
      imageRegex: "[parameters('allowedContainerImagesRegex')]",
      excludedContainers: "[parameters('excludedContainers')]",
    }),
  }),
];

const memberReference = (name: string, referenceId: string, fixed: Record<string, unknown> = {}) => ({
  policyDefinitionId: `${DEFINITIONS}/${name}`,
  policyDefinitionReferenceId: referenceId,
  parameters: {
    effect: { value: "[parameters('effect')]" },
    excludedNamespaces: { value: "[parameters('excludedNamespaces')]" },
    namespaces: { value: "[parameters('namespaces')]" },
    ...Object.fromEntries(Object.entries(fixed).map(([key, value]) => [key, { value }])),
  },
});

const BASELINE_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FSETID",
  "FOWNER",
  "MKNOD",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SETFCAP",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
  "KILL",
  "AUDIT_WRITE",
];

function builtInSet(p: {
  name: string;
  displayName: string;
  version: string;
  parameters: Record<string, unknown>;
  policyDefinitions: unknown[];
}): ArmResource {
  return {
    id: `${SET_DEFINITIONS}/${p.name}`,
    name: p.name,
    type: "Microsoft.Authorization/policySetDefinitions",
    properties: {
      displayName: p.displayName,
      policyType: "BuiltIn",
      description: `This initiative includes the policies for the ${p.displayName.replace(/^Kubernetes cluster /, "")}.`,
      metadata: { version: p.version, category: "Kubernetes" },
      version: p.version,
      versions: [p.version],
      parameters: p.parameters,
      policyDefinitions: p.policyDefinitions,
    },
  };
}

const setParameters = (excluded: string[]) => {
  const { excludedNamespaces, namespaces } = commonParameters(excluded);
  return { effect: effect("Audit"), excludedNamespaces, namespaces };
};

const builtInSets: ArmResource[] = [
  builtInSet({
    name: POD_SECURITY_BASELINE,
    displayName: "Kubernetes cluster pod security baseline standards for Linux-based workloads",
    version: "1.2.1",
    parameters: setParameters(SYSTEM_NAMESPACES),
    policyDefinitions: [
      memberReference(NO_PRIVILEGED_CONTAINERS, "NoPrivilegedContainers"),
      memberReference("82985f06-dc18-4a48-bc1c-b9f4f0098cfe", "BlockUsingHostNetwork", { allowHostNetwork: false, minPort: 0, maxPort: 0 }),
      memberReference("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8", "BlockUsingHostProcessIDAndIPC"),
      memberReference("c26596ff-4d70-4e6a-9a30-c2506bd2f80c", "ContainerCapabilities", {
        allowedCapabilities: BASELINE_CAPABILITIES,
        requiredDropCapabilities: [],
      }),
      memberReference("098fc59e-46c7-4d99-9b16-64990e543d75", "NoHostPathVolume", { allowedHostPaths: { paths: [] } }),
    ],
  }),
  builtInSet({
    name: POD_SECURITY_RESTRICTED,
    displayName: "Kubernetes cluster pod security restricted standards for Linux-based workloads",
    version: "2.5.0",
    parameters: {
      // 2.5.0 as the project's design notes give it; the newest version of Kubernetes_PSPRestrictedStandard.json
      // the project could read (2.3.1) still defaulted to the three system namespaces.
      ...setParameters(DEFINITION_EXCLUDED_NAMESPACES),
      allowedCapabilities: arrayParameter(
        "Allowed add capabilities",
        "The list of capabilities that are allowed to be added to a container.",
        BASELINE_CAPABILITIES,
      ),
      requiredDropCapabilities: arrayParameter(
        "Required drop capabilities",
        "The list of capabilities that must be dropped by a container.",
        [],
      ),
    },
    policyDefinitions: [
      memberReference(NO_PRIVILEGED_CONTAINERS, "NoPrivilegedContainers"),
      memberReference("1c6e92c9-99f0-4e55-9cf2-0c234dc48f99", "NoPrivilegeEscalation"),
      memberReference("82985f06-dc18-4a48-bc1c-b9f4f0098cfe", "BlockUsingHostNetwork", { allowHostNetwork: false, minPort: 0, maxPort: 0 }),
      memberReference("47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8", "BlockUsingHostProcessIDAndIPC"),
      memberReference("c26596ff-4d70-4e6a-9a30-c2506bd2f80c", "ContainerCapabilities", {
        allowedCapabilities: "[parameters('allowedCapabilities')]",
        requiredDropCapabilities: "[parameters('requiredDropCapabilities')]",
      }),
      memberReference("16697877-1118-4fb1-9b65-9898ec2509ec", "AllowedVolumeTypes", {
        allowedVolumeTypes: ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"],
      }),
      memberReference("f06ddb64-5fa3-4b77-b166-acb36f7f6042", "AllowedUsersGroups", { runAsUserRule: "MustRunAsNonRoot" }),
      memberReference("975ce327-682c-4f2e-aa46-b9598289b86c", "AllowedSeccompProfiles", {
        allowedProfiles: ["runtime/default", "docker/default"],
      }),
    ],
  }),
];

/** Built-in definitions and initiatives, fresh copies. */
export function builtInPolicyCatalogue(): ArmResource[] {
  return structuredClone([...builtInDefinitions, ...builtInSets]);
}
