import type { AzureClients } from "../../core/azure";
import { armJson } from "../../core/arm-json";
import { clusterClient, describeCluster, readCluster, type ClusterRef, type ManagedCluster } from "../../core/cluster";
import { describeFailure, TaskError } from "../../core/errors";

/**
 * Where a cluster's pods reach a key vault from, read from Azure (never guessed):
 *
 * - A node pool in a subnet of the cluster's own virtual network (`agentPoolProfiles[].vnetSubnetID`)
 *   whose subnet has the `Microsoft.KeyVault` service endpoint reaches the vault from that subnet, so a
 *   virtual network rule admits it ("Virtual network service endpoints for Azure Key Vault",
 *   learn.microsoft.com/azure/key-vault/general/overview-vnet-service-endpoints). Without the endpoint a
 *   virtual network rule is refused by Key Vault (or kept inert with ignoreMissingVnetServiceEndpoint), so
 *   the task does not write one.
 * - Every other pool leaves through the cluster's outbound type (AKS docs egress-outboundtype.md):
 *   `loadBalancer` from the load balancer's outbound public IPs, `managedNATGateway` from the managed NAT
 *   gateway's, both listed in `networkProfile.{loadBalancerProfile,natGatewayProfile}.effectiveOutboundIPs`
 *   (2026-04-01 managedClusters.json); `userAssignedNATGateway` from the NAT gateway attached to the node
 *   subnet (its publicIpAddresses and publicIpPrefixes, natGateway.json); `userDefinedRouting` and `none`
 *   from wherever the user's routes send it (a firewall, a proxy), which the task cannot know: refused,
 *   naming allowedIpRanges as the way to allow that address.
 *
 * Microsoft.Network api-version 2025-05-01 (azure-rest-api-specs specification/network/resource-manager/
 * Microsoft.Network/Network/stable/2025-05-01: virtualNetwork.json Subnets_Get, publicIpAddress.json
 * PublicIPAddresses_Get, publicIpPrefix.json PublicIPPrefixes_Get, natGateway.json NatGateways_Get).
 */
export const NETWORK_API_VERSION = "2025-05-01";

export interface ClusterEgress {
  cluster: ClusterRef;
  /** Node subnets with the Microsoft.KeyVault service endpoint: one virtual network rule each. */
  subnetRules: string[];
  /** Public addresses or prefixes the other pools leave from: one IP rule each (CIDR). */
  addresses: string[];
  /** For the summary: which kind of rule the cluster gets and why. */
  reason: string;
}

interface Subnet {
  id?: string;
  properties?: { serviceEndpoints?: { service?: string; provisioningState?: string }[]; natGateway?: { id?: string } };
}

export async function readClusterEgress(clients: AzureClients, clusters: readonly ClusterRef[]): Promise<ClusterEgress[]> {
  return Promise.all(clusters.map((cluster) => egressOf(clients, cluster)));
}

async function egressOf(clients: AzureClients, ref: ClusterRef): Promise<ClusterEgress> {
  const cluster = await readCluster(clusterClient(clients), ref);
  const where = `allowClusters: the ${describeCluster(ref)}`;
  const subnetIds = [...new Set((cluster.agentPoolProfiles ?? []).map((p) => p.vnetSubnetID).filter((id): id is string => !!id))];
  const podSubnets = (cluster.agentPoolProfiles ?? []).some((p) => !!p.podSubnetID);
  const managedNetwork = (cluster.agentPoolProfiles ?? []).some((p) => !p.vnetSubnetID);
  const subnets = await Promise.all(subnetIds.map((id) => get<Subnet>(clients, id, `read the node subnet ${id}`)));
  const withEndpoint = subnets.filter((s) =>
    (s.properties?.serviceEndpoints ?? []).some(
      (e) => e.service?.toLowerCase() === "microsoft.keyvault" && e.provisioningState !== "Failed",
    ),
  );
  // With a pod subnet, pods leave from the pod subnet, not the node subnet (Azure CNI dynamic IP allocation).
  const subnetRules = podSubnets ? [] : withEndpoint.map((s) => s.id!).filter(Boolean);
  const leavesPublicly = managedNetwork || podSubnets || withEndpoint.length < subnets.length;
  if (!leavesPublicly) {
    return {
      cluster: ref,
      subnetRules,
      addresses: [],
      reason: `virtual network rule: every node pool is in a subnet with the Microsoft.KeyVault service endpoint (${subnetRules.join(", ")})`,
    };
  }
  const outbound = cluster.networkProfile?.outboundType ?? "loadBalancer";
  const addresses = await outboundAddresses(clients, cluster, outbound, subnets, where);
  const kinds = {
    loadBalancer: "the load balancer's outbound public IPs",
    managedNATGateway: "the managed NAT gateway's public IPs",
    userAssignedNATGateway: "the public IPs of the NAT gateway on the node subnet",
  } as Record<string, string>;
  const why = `IP rules for ${kinds[outbound] ?? outbound} (outbound type ${outbound})`;
  return {
    cluster: ref,
    subnetRules,
    addresses,
    reason: subnetRules.length
      ? `virtual network rule for the node subnets with the Microsoft.KeyVault service endpoint, and ${why} for the node pools without it`
      : `${why}: ${managedNetwork ? "the node pools are in the AKS-managed virtual network" : podSubnets ? "pods leave from a pod subnet" : "no node subnet has the Microsoft.KeyVault service endpoint"}`,
  };
}

async function outboundAddresses(
  clients: AzureClients,
  cluster: ManagedCluster,
  outbound: string,
  subnets: readonly Subnet[],
  where: string,
): Promise<string[]> {
  let ids: string[];
  if (outbound === "loadBalancer") {
    ids = (cluster.networkProfile?.loadBalancerProfile?.effectiveOutboundIPs ?? []).map((r) => r.id ?? "");
  } else if (outbound === "managedNATGateway") {
    ids = (cluster.networkProfile?.natGatewayProfile?.effectiveOutboundIPs ?? []).map((r) => r.id ?? "");
  } else if (outbound === "userAssignedNATGateway") {
    const gatewayIds = [...new Set(subnets.map((s) => s.properties?.natGateway?.id).filter((id): id is string => !!id))];
    const gateways = await Promise.all(
      gatewayIds.map((id) =>
        get<{ properties?: { publicIpAddresses?: { id?: string }[]; publicIpPrefixes?: { id?: string }[] } }>(
          clients,
          id,
          `read the NAT gateway ${id}`,
        ),
      ),
    );
    ids = gateways.flatMap((g) =>
      [...(g.properties?.publicIpAddresses ?? []), ...(g.properties?.publicIpPrefixes ?? [])].map((r) => r.id ?? ""),
    );
  } else {
    throw new TaskError(
      `${where} sends its outbound traffic by outbound type '${outbound}' (your own routes, e.g. through a firewall), so the task cannot know the address the vault sees; nothing was changed. Put that address (your firewall's public IP) in allowedIpRanges, or give the node subnet the Microsoft.KeyVault service endpoint so it gets a virtual network rule.`,
    );
  }
  ids = ids.filter(Boolean);
  if (ids.length === 0) {
    throw new TaskError(
      `${where} lists no outbound public IP for outbound type '${outbound}' (is it still being created?); nothing was changed. Re-run once the cluster is provisioned.`,
    );
  }
  const resources = await Promise.all(
    ids.map((id) => get<{ properties?: { ipAddress?: string; ipPrefix?: string } }>(clients, id, `read the outbound public IP ${id}`)),
  );
  return resources.map((r, i) => {
    const value = r.properties?.ipPrefix ?? (r.properties?.ipAddress ? `${r.properties.ipAddress}/32` : undefined);
    if (!value)
      throw new TaskError(`${where}: its outbound public IP ${ids[i]} has no address allocated yet; nothing was changed. Re-run later.`);
    return value;
  });
}

async function get<T>(clients: AzureClients, id: string, action: string): Promise<T> {
  try {
    return (await armJson<T>(clients, { method: "GET", path: id, apiVersion: NETWORK_API_VERSION })).body;
  } catch (error) {
    throw new TaskError(describeFailure(error, { action, permission: "Microsoft.Network/*/read" }));
  }
}
