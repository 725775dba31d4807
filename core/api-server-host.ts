/**
 * Which host an API server probe may connect to. A cluster's `fqdn` is text from Azure, and the
 * probe connects to it through the agent's proxy with the proxy's credentials; so only a host under
 * the AKS API-server DNS suffix of the service connection's own cloud is probed. The suffixes are
 * those the AKS docs list for API-server traffic per cloud (MicrosoftDocs/azure-aks-docs,
 * articles/aks/outbound-rules-control-egress.md: `*.hcp.<location>.azmk8s.io`, Microsoft Azure
 * operated by 21Vianet `*.hcp.<location>.cx.prod.service.azk8s.cn`, Azure US Government
 * `*.hcp.<location>.cx.aks.containerservice.azure.us`). A private cluster's names
 * (`<guid>.privatelink.<location>.azmk8s.io` and the sovereign equivalents) lie under the same
 * suffixes, though authorized ranges, and so the probe, never apply to one.
 */

/** By the AzureRM connection's endpoint data `environment`, in lower case. */
const API_SERVER_DNS_SUFFIXES: Readonly<Record<string, string>> = {
  azurecloud: "azmk8s.io",
  azurechinacloud: "cx.prod.service.azk8s.cn",
  azureusgovernment: "cx.aks.containerservice.azure.us",
};

/** A DNS host name: labels of letters, digits and inner hyphens, at most 253 characters, no trailing dot. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/**
 * Why `fqdn` must not be probed, or undefined when it is an API server host of the connection's
 * cloud. A connection without `environment` is the public cloud's, as the agent's default.
 */
export function apiServerHostProblem(fqdn: string | undefined, environment: string | undefined): string | undefined {
  if (!fqdn || !HOST_NAME.test(fqdn)) return "reports no usable API server FQDN";
  const cloud = environment || "AzureCloud";
  const suffix = API_SERVER_DNS_SUFFIXES[cloud.toLowerCase()];
  if (!suffix) {
    return `has the API server FQDN '${fqdn}' in the cloud '${cloud}', whose AKS API server domain the task does not know`;
  }
  if (!fqdn.toLowerCase().endsWith(`.${suffix}`)) {
    return `reports the API server FQDN '${fqdn}', which is not under ${suffix}, the AKS API server domain of the service connection's cloud (${cloud})`;
  }
  return undefined;
}
