/**
 * The agent's public egress, as the services the local Azure stands in for see it (the IP-echo
 * service, the clusters' API servers, the vaults' data plane). One address by default. Several
 * model a Microsoft-hosted agent behind a pool of outbound addresses: the address an IP-echo service
 * reports is not always the one the next connection leaves from, and users who authorized it saw
 * intermittent "dial tcp …:443: i/o timeout" (MicrosoftDocs/azure-devops-docs#7844, Azure/AKS#4849;
 * "the source IP with MS-hosted agents is randomly changed", MicrosoftDocs/azure-docs#68469).
 *
 * An outbound NAT picks the address per connection and keeps it for the connection's life; here
 * each new connection that reaches such a service takes the next address in turn, so a test knows
 * exactly which connection leaves from where, and no outcome depends on chance or the clock.
 */
export class AgentEgress {
  private addresses: string[] = ["203.0.113.10"];
  private next = 0;
  private readonly byConnection = new WeakMap<object, string>();

  /** One address: every connection leaves from it. Several: each new connection leaves from the next, in turn. */
  set(addresses: readonly string[]): void {
    if (addresses.length === 0) throw new Error("AgentEgress: at least one address");
    this.addresses = [...addresses];
    this.next = 0;
  }

  /** The addresses, in turn order. */
  get all(): readonly string[] {
    return this.addresses;
  }

  /** The address a connection leaves from: chosen when a service first needs it, the same for the rest of the connection. */
  addressOf(connection: object): string {
    let address = this.byConnection.get(connection);
    if (address === undefined || !this.addresses.includes(address)) {
      address = this.addresses[this.next++ % this.addresses.length]!;
      this.byConnection.set(connection, address);
    }
    return address;
  }
}
