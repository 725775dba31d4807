/**
 * Where real Azure answers (or is called) differently from its own REST spec, each with the public
 * evidence that it does. Only these are tolerated when the tasks' traffic is checked against
 * test/contracts; every other departure from a contract fails the test.
 */
interface Evidenced {
  /** What real Azure does, in one sentence. */
  what: string;
  /** Public evidence that it does: issues, docs pages, the spec's own words, client source that works around it. */
  evidence: string[];
}

/** A payload that departs from the operation's schema in one known place. */
export interface PayloadDifference extends Evidenced {
  kind: "payload";
  operationIds: string[];
  side: "request" | "response";
  /** For answers: the HTTP status it applies to, or "error" for every 4xx and 5xx (any when absent). */
  status?: number | "error";
  /** oav's error code for the departure. */
  code: string;
  /** Where in the payload (a JSON pointer, array indexes as digits). */
  where: RegExp;
}

/** A URL path Azure accepts for an operation whose spec path cannot match it literally. */
export interface PathDifference extends Evidenced {
  kind: "path";
  operationId: string;
  /** The path as the tasks send it. */
  sent: RegExp;
  /** The same request in the spec's path shape (a replacement for `sent`), so the operation is matched and checked. */
  specPath: string;
}

export type KnownDifference = PayloadDifference | PathDifference;

export const KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    kind: "payload",
    what: "AKS answers the load balancer's backend pool type in lower camel case ('nodeIPConfiguration'), where the spec's enum has 'NodeIPConfiguration'; the tasks send it back unchanged with the rest of the cluster.",
    evidence: [
      "https://github.com/Azure/azure-cli/pull/27910 (az aks: --load-balancer-backend-pool-type takes nodeIP / nodeIPConfiguration)",
      "https://github.com/kubernetes-sigs/cloud-provider-azure/pull/918 (the cloud provider's own value is nodeIPConfiguration)",
      "https://learn.microsoft.com/azure/aks/load-balancer-standard#change-the-inbound-pool-type",
    ],
    operationIds: ["ManagedClusters_Get", "ManagedClusters_CreateOrUpdate"],
    side: "response",
    code: "ENUM_CASE_MISMATCH",
    where: /^\/properties\/networkProfile\/loadBalancerProfile\/backendPoolType$/,
  },
  {
    kind: "payload",
    what: "The same backend pool type as AKS answered it, in the cluster the tasks PUT back (GET, change, PUT keeps every field the task does not own).",
    evidence: [
      "https://github.com/Azure/azure-cli/pull/27910",
      "https://learn.microsoft.com/azure/aks/load-balancer-standard#change-the-inbound-pool-type",
    ],
    operationIds: ["ManagedClusters_CreateOrUpdate"],
    side: "request",
    code: "ENUM_CASE_MISMATCH",
    where: /^\/properties\/networkProfile\/loadBalancerProfile\/backendPoolType$/,
  },
  {
    kind: "payload",
    what: "AKS answers a pod identity exception's empty podLabels map as null, although the spec requires the map.",
    evidence: [
      "https://github.com/Azure/azure-cli-extensions/blob/69a65b2b3174a1212ef68b47a00bc918ac681e3a/src/aks-preview/azext_aks_preview/_podidentity.py (_fill_defaults_for_pod_identity_exceptions fills {} back before every PUT because empty labels come back as None)",
    ],
    operationIds: ["ManagedClusters_Get", "ManagedClusters_CreateOrUpdate"],
    side: "response",
    code: "INVALID_TYPE",
    where: /^\/properties\/podIdentityProfile\/userAssignedIdentityExceptions\/\d+\/podLabels$/,
  },
  {
    kind: "payload",
    what: "AKS answers a write that meets a running operation with 409 EtagMismatch in its own error shape ({code, details, message}), without ARM's `error` envelope.",
    evidence: [
      "https://github.com/Azure/terraform-azurerm-aks/issues/604 (the body quoted)",
      "https://github.com/Azure/terraform-azurerm-aks/issues/354",
      "https://github.com/Azure/terraform-provider-azapi/issues/889",
    ],
    operationIds: ["ManagedClusters_CreateOrUpdate"],
    side: "response",
    status: 409,
    code: "OBJECT_ADDITIONAL_PROPERTIES",
    where: /^\/(code|details|message)$/,
  },
  {
    kind: "payload",
    what: "The Kubernetes built-in policy definitions declare their labelSelector parameter with type 'object' (lower case), where the spec's enum has 'Object'.",
    evidence: [
      "https://github.com/Azure/azure-policy/blob/0ab9883215e0a65d4df270865fe828ea0149d407/built-in-policies/policyDefinitions/Kubernetes/ContainerNoPrivilege.json",
    ],
    operationIds: ["PolicyDefinitions_GetBuiltIn"],
    side: "response",
    code: "ENUM_CASE_MISMATCH",
    where: /^\/properties\/parameters\/labelSelector\/type$/,
  },
  {
    kind: "payload",
    what: "Resource Manager answers a failed resource link request with an error status and its error envelope, as it does for every request (a missing source resource is 404 ResourceNotFound, a missing permission 403 AuthorizationFailed); links.json 2016-09-01 declares only its success codes and no `default` answer.",
    evidence: [
      "https://github.com/Azure/azure-rest-api-specs/blob/05ab366672a205cf81fa908084dbb1a834168864/specification/resources/resource-manager/Microsoft.Resources/stable/2016-09-01/links.json (no `default` response on any operation)",
      "https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-not-found (ResourceNotFound when Resource Manager cannot find the resource a management task names)",
    ],
    operationIds: ["ResourceLinks_CreateOrUpdate", "ResourceLinks_Get", "ResourceLinks_Delete", "ResourceLinks_ListAtSourceScope"],
    side: "response",
    status: "error",
    code: "INVALID_RESPONSE_CODE",
    where: /^$/,
  },
  {
    kind: "path",
    what: "A top-level resource's policy assignments are listed at the resource's own ID: ListForResource without a parent resource path, which the spec says to leave out ('should not be provided (or provided as '')'); oav cannot match an empty path segment, so the check fills it with '-'.",
    evidence: [
      "https://github.com/Azure/azure-rest-api-specs/blob/5168128725b747508c3c40617443b2fa5b0ca3bd/specification/resources/resource-manager/Microsoft.Authorization/policy/stable/2024-05-01/policyAssignments.json (PolicyAssignments_ListForResource, its description and parentResourcePath)",
    ],
    operationId: "PolicyAssignments_ListForResource",
    sent: /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+)\/([^/]+\/[^/]+\/providers\/Microsoft\.Authorization\/policyAssignments)$/i,
    specPath: "$1/-/$2",
  },
  {
    kind: "path",
    what: "A top-level resource's permissions are listed at the resource's own ID (`{resource id}/providers/Microsoft.Authorization/permissions`): Permissions_ListForResource without a parent resource path (the list is asked at a scope's own path, as Microsoft's guide asks it of a subscription); oav cannot match an empty path segment, so the check fills it with '-'.",
    evidence: [
      "https://github.com/Azure/azure-rest-api-specs/blob/007a51db374076edb902fd44eb8299eea6336335/specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json (Permissions_ListForResource, its parentResourcePath)",
      "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-manager-api-authentication#check-if-user-can-assign-access-to-subscription (the list asked at a scope's own path)",
    ],
    operationId: "Permissions_ListForResource",
    sent: /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+)\/([^/]+\/[^/]+\/providers\/Microsoft\.Authorization\/permissions)$/i,
    specPath: "$1/-/$2",
  },
  {
    kind: "path",
    what: "A child resource's permissions (an AKS namespace, `{cluster id}/namespaces/{name}`, where AKS RBAC roles are granted) are listed with its parent's type and name as Permissions_ListForResource's parentResourcePath, a path the spec sends unencoded (x-ms-skip-url-encoding); oav matches that parameter as one segment only, so the check joins the parent's two segments with '~'.",
    evidence: [
      "https://github.com/Azure/azure-rest-api-specs/blob/007a51db374076edb902fd44eb8299eea6336335/specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json (Permissions_ListForResource: parentResourcePath 'The parent resource identity', x-ms-skip-url-encoding)",
      "https://learn.microsoft.com/azure/aks/manage-azure-rbac#create-role-assignments-for-users-to-access-the-cluster (role assignments at the scope $AKS_ID/namespaces/<namespace-name>)",
    ],
    operationId: "Permissions_ListForResource",
    sent: /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+)\/([^/]+)\/([^/]+)\/([^/]+\/[^/]+\/providers\/Microsoft\.Authorization\/permissions)$/i,
    specPath: "$1/$2~$3/$4",
  },
  {
    kind: "path",
    what: "The latest version of a secret is read at `/secrets/{name}/` (an empty version segment), which the spec documents ('This URI fragment is optional. If not specified, the latest version of the secret is returned'); oav cannot match an empty path segment, so the check fills it with '-'.",
    evidence: [
      "https://github.com/Azure/azure-rest-api-specs/blob/4d75903ddcdd7b7f4d93bbdfc3a22eedc333a6f1/specification/keyvault/data-plane/Microsoft.KeyVault/stable/2025-07-01/secrets.json (GetSecret, its secret-version parameter)",
    ],
    operationId: "GetSecret",
    sent: /^(\/secrets\/[^/]+)\/$/,
    specPath: "$1/-",
  },
];

export const PAYLOAD_DIFFERENCES = KNOWN_DIFFERENCES.filter((d): d is PayloadDifference => d.kind === "payload");
export const PATH_DIFFERENCES = KNOWN_DIFFERENCES.filter((d): d is PathDifference => d.kind === "path");
