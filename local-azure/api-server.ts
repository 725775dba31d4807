import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { containsCidr } from "cidr-tools";
import type { AgentEgress } from "./egress";
import type { Route } from "./http";
import { LateRules } from "./propagation";
import { MANAGED_CLUSTER_TYPE } from "./resources/managed-cluster";
import type { ArmResource, ResourceStore } from "./store";

/** `<dnsPrefix>-<hash>.hcp.<region>.azmk8s.io`: each managed cluster's API server (its `fqdn`). */
export const API_SERVER_HOST = /\.azmk8s\.io$/i;

/**
 * The clusters' API server endpoints, as the agent sees them. AKS applies a change of authorized
 * IP ranges some time after the update completes (up to about two minutes, as issue 12 and
 * DESIGN.md cite from https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges; the
 * copies of that page searched here did not show the sentence itself), and traffic from an address
 * outside the ranges is dropped, so a client gets no answer at all and times out ("dial tcp
 * <API-server-IP>:443: i/o timeout" when the client's IP is not among the authorized ranges,
 * https://learn.microsoft.com/azure/architecture/operator-guides/aks/troubleshoot-network-aks).
 *
 * Modelled so that no test depends on the clock (local-azure/propagation.ts): a newly written list
 * takes effect after `propagationProbes` connection attempts have been blocked. A blocked connection
 * is accepted by TCP but its TLS handshake is never answered: what the caller observes is the same
 * as a dropped SYN, no answer until it gives up. The caller is always the agent, and each connection
 * leaves from one of its egress addresses (local-azure/egress.ts).
 */
export class ApiServerEndpoints {
  private readonly firewalls = new LateRules<string[]>(sameList);
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly store: ResourceStore,
    private readonly egress: AgentEgress,
  ) {}

  /** Blocked connection attempts a newly written list waits for before it takes effect. */
  get propagationProbes(): number {
    return this.firewalls.refusalsBeforeEffect;
  }
  set propagationProbes(value: number) {
    this.firewalls.refusalsBeforeEffect = value;
  }

  /** Connection attempts each cluster's API server dropped so far, by FQDN. */
  get blocked(): ReadonlyMap<string, number> {
    return this.firewalls.refused;
  }

  /** The cluster's ranges before a write are what its API server enforces until the write propagates. */
  beforeWrite(cluster: ArmResource): void {
    const fqdn = String(cluster.properties?.["fqdn"] ?? "").toLowerCase();
    if (fqdn) this.firewalls.beforeWrite(fqdn, rangesOf(cluster));
  }

  /** Whether the ranges in force admit the agent's first address now; counts as no connection attempt. */
  admitsAgent(fqdn: string): boolean {
    const cluster = this.clusterByFqdn(fqdn);
    if (!cluster) return false;
    return allows(this.firewalls.inForce(fqdn, rangesOf(cluster)), this.egress.all[0]!);
  }

  /**
   * The https server's SNICallback, called on the TLS socket of the connection: a connection for an
   * API server is answered (the handshake completes) only when the cluster's ranges in force admit
   * the address that connection leaves from. Other hosts go on as usual.
   */
  sniCallback(servername: string, done: (error: Error | null, context?: SecureContext) => void, connection: object): void {
    if (!API_SERVER_HOST.test(servername)) return done(null);
    const fqdn = servername.toLowerCase();
    const cluster = this.clusterByFqdn(fqdn);
    if (cluster && allows(this.firewalls.inForce(fqdn, rangesOf(cluster)), this.egress.addressOf(connection))) return done(null);
    // Dropped: `done` is never called, so the handshake is never answered; the socket ends when the
    // caller gives up, or at close().
    this.firewalls.refuse(fqdn);
  }

  /** Every accepted TCP connection: the ones whose handshake is held are ended at close(). */
  track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** An anonymous request that got through: 401, as an AKS API server answers without credentials. */
  routes(): Route[] {
    return ["/", "/healthz", "/livez", "/readyz", "/version", "/api", "/apis"].map((path) => ({
      method: "GET",
      path,
      host: API_SERVER_HOST,
      auth: "none" as const,
      handler: () => ({
        status: 401,
        body: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: "Unauthorized",
          reason: "Unauthorized",
          code: 401,
        },
      }),
    }));
  }

  private clusterByFqdn(fqdn: string): ArmResource | undefined {
    return this.store
      .listByType(MANAGED_CLUSTER_TYPE)
      .find((cluster) => String(cluster.properties?.["fqdn"] ?? "").toLowerCase() === fqdn.toLowerCase());
  }
}

function rangesOf(cluster: ArmResource): string[] {
  const profile = cluster.properties?.["apiServerAccessProfile"] as { authorizedIPRanges?: string[] } | undefined;
  return [...(profile?.authorizedIPRanges ?? [])];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((entry, i) => entry === b[i]);
}

/** An empty list admits everyone; `0.0.0.0/32` stands for the cluster's own outbound IP, never the agent. */
function allows(ranges: readonly string[], ip: string): boolean {
  if (ranges.length === 0) return true;
  return ranges.some((range) => {
    const cidr = range.includes("/") ? range : `${range}/32`;
    if (cidr === "0.0.0.0/32") return false;
    try {
      return containsCidr(cidr, ip);
    } catch {
      return false;
    }
  });
}
