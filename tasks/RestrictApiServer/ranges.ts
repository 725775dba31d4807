import { aggregateRanges, nameSome, type Ipv4Range } from "../../core/ipv4-ranges";

/** Every IPv4 address, as a count. */
const IPV4_ADDRESSES = 1n << 32n;

/** Whether the ranges together authorize every IPv4 address (0.0.0.0/1 and 128.0.0.0/1, or 256 /8s). */
export function coverEverything(ranges: readonly Ipv4Range[]): boolean {
  return aggregateRanges(ranges).reduce((sum, range) => sum + (range.end - range.start + 1n), 0n) === IPV4_ADDRESSES;
}

/** Ranges wider than this prefix (more than 16.7 million addresses each) are named in a warning. */
export const BROAD_PREFIX = 8;

/** The ranges broader than a /8. */
export function broadRanges(ranges: readonly Ipv4Range[]): Ipv4Range[] {
  return ranges.filter((range) => range.end - range.start + 1n > 1n << BigInt(32 - BROAD_PREFIX));
}

/**
 * AKS takes 0.0.0.0/32 (only the cluster's own outbound IP) as the only entry of the list and
 * refuses it with any other: 400 InvalidParameter "Setting apiServerAuthorizedIPRange to 0.0.0.0/32
 * is not allowed with other IP ranges" (Azure/terraform-azurerm-aks#378, #383). The sentence a
 * run fails with, before any write, for a list that would hold both; `why` says where the others
 * come from when the user did not type them.
 */
export function outboundIpOnlyWithOthers(others: readonly string[], why?: string): string {
  return `0.0.0.0/32 (only the cluster's own outbound IP) cannot share the list with ${nameSome(others)}${why ? ` (${why})` : ""}: AKS refuses that ("Setting apiServerAuthorizedIPRange to 0.0.0.0/32 is not allowed with other IP ranges"). Use 0.0.0.0/32 alone, or list the nodes' outbound IP addresses as ranges instead of 0.0.0.0/32.`;
}
