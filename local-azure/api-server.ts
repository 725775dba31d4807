import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { containsCidr } from "cidr-tools";
import type { Route } from "./http";
import { MANAGED_CLUSTER_TYPE } from "./resources/managed-cluster";
import type { ArmResource, ResourceStore } from "./store";

/** `<dnsPrefix>-<hash>.hcp.<region>.azmk8s.io`: each managed cluster's API server (its `fqdn`). */
export const API_SERVER_HOST = /\.azmk8s\.io$/i;

interface ClusterFirewall {
  /** The authorized ranges the API server enforces now. */
  effective: string[];
  /** A written list not yet in force, and how many more blocked connection attempts it waits for. */
  pending?: { ranges: string[]; blockedProbesLeft: number };
}

/**
 * The clusters' API server endpoints, as the agent sees them. AKS applies a change of authorized
 * IP ranges some time after the update completes (up to about two minutes, as issue 12 and
 * DESIGN.md cite from https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges; the
 * copies of that page searched here did not show the sentence itself), and traffic from an address
 * outside the ranges is dropped, so a client gets no answer at all and times out ("dial tcp
 * <API-server-IP>:443: i/o timeout" when the client's IP is not among the authorized ranges,
 * https://learn.microsoft.com/azure/architecture/operator-guides/aks/troubleshoot-network-aks).
 *
 * Modelled so that no test depends on the clock: a newly written list takes effect after
 * `propagationProbes` connection attempts have been blocked (0: at once; Infinity: never; the
 * next write puts the earlier one in force). A blocked connection is accepted by TCP but its TLS
 * handshake is never answered: what the caller observes is the same as a dropped SYN, no answer
 * until it gives up.
 * The caller is always the agent, whose public address is the local Azure's `publicIp`.
 */
export class ApiServerEndpoints {
  /** Blocked connection attempts a newly written list waits for before it takes effect. */
  propagationProbes = 0;
  /** Connection attempts each cluster's API server dropped so far, by FQDN. */
  readonly blocked = new Map<string, number>();
  private readonly firewalls = new Map<string, ClusterFirewall>();
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly store: ResourceStore,
    private readonly agentIp: () => string,
  ) {}

  /**
   * The cluster's ranges before a write are what its API server enforces until the write propagates.
   * An earlier write counts as propagated by the time the next one is made (one pending change per
   * cluster keeps the model small; AKS runs one update at a time anyway).
   */
  beforeWrite(cluster: ArmResource): void {
    const fqdn = String(cluster.properties?.["fqdn"] ?? "").toLowerCase();
    if (fqdn) this.firewalls.set(fqdn, { effective: rangesOf(cluster) });
  }

  /** Whether the ranges in force admit the agent now; counts as no connection attempt. */
  admitsAgent(fqdn: string): boolean {
    const cluster = this.clusterByFqdn(fqdn);
    if (!cluster) return false;
    return allows(this.firewalls.get(fqdn.toLowerCase())?.effective ?? rangesOf(cluster), this.agentIp());
  }

  /**
   * The https server's SNICallback: a connection for an API server is answered (the handshake
   * completes) only when the cluster's ranges in force admit the agent. Other hosts go on as usual.
   */
  sniCallback(servername: string, done: (error: Error | null, context?: SecureContext) => void): void {
    if (!API_SERVER_HOST.test(servername)) return done(null);
    const cluster = this.clusterByFqdn(servername);
    if (cluster && this.admits(servername.toLowerCase(), cluster)) return done(null);
    // Dropped: `done` is never called, so the handshake is never answered; the socket ends when the
    // caller gives up, or at close().
    this.blocked.set(servername.toLowerCase(), (this.blocked.get(servername.toLowerCase()) ?? 0) + 1);
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

  private admits(fqdn: string, cluster: ArmResource): boolean {
    const written = rangesOf(cluster);
    let firewall = this.firewalls.get(fqdn);
    if (!firewall) {
      // Never written through ARM: what the cluster holds is in force.
      firewall = { effective: written };
      this.firewalls.set(fqdn, firewall);
    }
    if (!sameList(firewall.effective, written) && !(firewall.pending && sameList(firewall.pending.ranges, written))) {
      firewall.pending = { ranges: written, blockedProbesLeft: this.propagationProbes };
    }
    if (firewall.pending && firewall.pending.blockedProbesLeft <= 0) {
      firewall.effective = firewall.pending.ranges;
      delete firewall.pending;
    }
    const admitted = allows(firewall.effective, this.agentIp());
    if (!admitted && firewall.pending) firewall.pending.blockedProbesLeft--;
    return admitted;
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
