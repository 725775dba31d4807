import { readServiceConnection, type ServiceConnection } from "../../core/connection";
import { InputError } from "../../core/errors";
import { parseIdentityReference, type IdentityReference } from "../../core/identity";
import {
  readBoolean,
  readChoice,
  readClusterName,
  readRequired,
  readResourceGroupName,
  readSecondsVariable,
  readString,
} from "../../core/inputs";

export const IDENTITY_MODES = ["podIdentity", "workloadIdentity"] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];

export interface EnablePodIdentityRequest {
  connection: ServiceConnection;
  resourceGroupName: string;
  clusterName: string;
  mode: IdentityMode;
  identity: IdentityReference;
  namespace: string;
  /** podIdentity mode. */
  podIdentityName: string;
  bindingSelector: string;
  allowKubenet: boolean;
  /** workloadIdentity mode. */
  serviceAccountName: string;
  federatedCredentialName: string;
  grantReaderOnNodeResourceGroup: boolean;
  dryRun: boolean;
  busyTimeoutMs: number;
}

/** Kubernetes object names (namespaces, AzureIdentity names): RFC 1123 labels. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Service account names: RFC 1123 subdomains. */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
/** Kubernetes label values (the aadpodidbinding label carries the binding selector). */
const LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Federated identity credential names: 3-120 letters, digits, '-' and '_', starting with a letter or digit. */
const CREDENTIAL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$/;

export function readRequest(): EnablePodIdentityRequest {
  const connection = readServiceConnection("azureSubscription");
  const resourceGroupName = readResourceGroupName();
  const clusterName = readClusterName();
  // Workload ID unless the deprecated add-on is chosen by name: leaving the mode out never installs it.
  const mode = readChoice("identityMode", IDENTITY_MODES, "workloadIdentity");
  const identity = parseIdentityReference(
    "identity",
    readRequired("identity", "enter the resource ID of a user-assigned managed identity, or its name in the resource group."),
    connection.subscriptionId,
    resourceGroupName,
  );
  const namespace = readKubernetesName(
    "namespace",
    readRequired("namespace", "enter the Kubernetes namespace of the pods that use the identity."),
  );
  const grantReaderOnNodeResourceGroup = readBoolean("grantReaderOnNodeResourceGroup", false);
  const dryRun = readBoolean("dryRun", false);

  refuseInputsOfOtherMode(mode);

  let podIdentityName = "";
  let bindingSelector = "";
  let allowKubenet = false;
  let serviceAccountName = "";
  let federatedCredentialName = "";
  if (mode === "podIdentity") {
    podIdentityName = readPodIdentityName(identity.name);
    bindingSelector = readString("bindingSelector") ?? podIdentityName;
    if (!LABEL_VALUE.test(bindingSelector)) {
      throw new InputError(
        "bindingSelector",
        `'${bindingSelector}' is not a valid Kubernetes label value (1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit); pods select the identity with the label aadpodidbinding=<bindingSelector>.`,
      );
    }
    allowKubenet = readBoolean("allowKubenet", false);
  } else {
    serviceAccountName = readString("serviceAccountName") ?? "";
    if (!serviceAccountName) {
      throw new InputError(
        "serviceAccountName",
        "is required with identityMode 'workloadIdentity': enter the Kubernetes service account the pods run as.",
      );
    }
    if (!DNS_SUBDOMAIN.test(serviceAccountName)) {
      throw new InputError(
        "serviceAccountName",
        `'${serviceAccountName}' is not a valid Kubernetes service account name (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit).`,
      );
    }
    federatedCredentialName = readString("federatedCredentialName") ?? defaultCredentialName(clusterName, namespace, serviceAccountName);
    if (!CREDENTIAL_NAME.test(federatedCredentialName)) {
      throw new InputError(
        "federatedCredentialName",
        `'${federatedCredentialName}' is not a valid federated identity credential name (3-120 letters, digits, '-' or '_', starting with a letter or digit).`,
      );
    }
  }

  return {
    connection,
    resourceGroupName,
    clusterName,
    mode,
    identity,
    namespace,
    podIdentityName,
    bindingSelector,
    allowKubenet,
    serviceAccountName,
    federatedCredentialName,
    grantReaderOnNodeResourceGroup,
    dryRun,
    // AKS operations (upgrades, scaling) commonly run 5-15 minutes; a pipeline variable tunes the wait.
    busyTimeoutMs: readSecondsVariable("AksHardening.ClusterBusyTimeoutSeconds", 1200) * 1000,
  };
}

const MODE_INPUTS: Record<IdentityMode, readonly string[]> = {
  podIdentity: ["podIdentityName", "bindingSelector", "allowKubenet", "grantReaderOnNodeResourceGroup"],
  workloadIdentity: ["serviceAccountName", "federatedCredentialName"],
};
/** Boolean inputs arrive as "false" from the classic editor even when hidden; only true is a choice the user made. */
const BOOLEAN_MODE_INPUTS = new Set(["allowKubenet", "grantReaderOnNodeResourceGroup"]);

/**
 * An input of the other mode says the step was written for that mode: running this one would make
 * writes the user never meant (e.g. the deprecated add-on and its role assignment for a step written
 * for Workload ID), so it is refused before anything is read or written.
 */
function refuseInputsOfOtherMode(mode: IdentityMode): void {
  const other: IdentityMode = mode === "podIdentity" ? "workloadIdentity" : "podIdentity";
  const set = MODE_INPUTS[other].filter(
    (name) => readString(name) !== undefined && !(BOOLEAN_MODE_INPUTS.has(name) && !readBoolean(name, false)),
  );
  if (set.length === 0) return;
  const modeText = `identityMode is '${mode}'${readString("identityMode") === undefined ? " (the default)" : ""}`;
  const fix =
    mode === "workloadIdentity"
      ? "Remove them for Workload ID, or set identityMode: podIdentity to use the deprecated add-on."
      : "Remove them for the add-on, or set identityMode: workloadIdentity.";
  throw new InputError(
    set.join(" and "),
    `${set.length === 1 ? "is an input" : "are inputs"} of identityMode '${other}', but ${modeText}. ${set.length === 1 ? fix.replace("them", "it") : fix} ` +
      "In the classic editor, switch Mode to the other option, clear the field, and switch back.",
  );
}

function readKubernetesName(input: string, value: string): string {
  if (!DNS_LABEL.test(value)) {
    throw new InputError(
      input,
      `'${value}' is not a valid Kubernetes name (1-63 lower-case letters, digits or '-', starting and ending with a letter or digit).`,
    );
  }
  return value;
}

/** The pod identity's name defaults to the managed identity's, when that is a valid Kubernetes name. */
function readPodIdentityName(identityName: string): string {
  const given = readString("podIdentityName");
  if (given) return readKubernetesName("podIdentityName", given);
  if (DNS_LABEL.test(identityName)) return identityName;
  throw new InputError(
    "podIdentityName",
    `is required here: the identity's name '${identityName}' is not a valid Kubernetes name, so enter one (1-63 lower-case letters, digits or '-').`,
  );
}

/** One credential per cluster, namespace and service account, readable in the portal; cut to the 120-character limit. */
export function defaultCredentialName(clusterName: string, namespace: string, serviceAccountName: string): string {
  return `${clusterName}-${namespace}-${serviceAccountName}`.replace(/[^a-zA-Z0-9_-]/g, "-").slice(0, 120);
}
