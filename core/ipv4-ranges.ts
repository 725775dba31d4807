import { mergeCidr, parseCidr } from "cidr-tools";

/**
 * IPv4 ranges as users type them into list inputs (an AKS API server's authorized IP ranges, a key
 * vault's firewall): one address (meaning /32) or a CIDR, checked, folded and joined without ever
 * authorizing an address that was not typed.
 */

/** An IPv4 network in canonical form (`a.b.c.d/n`, network address, prefix always written). */
export interface Ipv4Range {
  cidr: string;
  start: bigint;
  end: bigint;
}

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * Parses one IPv4 address or CIDR. An address means /32. Returns a sentence saying what is wrong
 * (without the input name) when the entry is not a usable range.
 */
export function parseIpv4Range(entry: string): Ipv4Range | { error: string } {
  const [address = "", prefixText, extra] = entry.split("/");
  if (extra !== undefined) return { error: `'${entry}' is not an IPv4 address or CIDR.` };
  if (address.includes(":")) {
    return { error: `'${entry}' is an IPv6 range; only IPv4 addresses and CIDRs are accepted.` };
  }
  if (!IPV4.test(address)) return { error: `'${entry}' is not an IPv4 address or CIDR (expected e.g. 203.0.113.7 or 203.0.113.0/24).` };
  let prefix = 32;
  if (prefixText !== undefined) {
    if (!/^(3[0-2]|[12]?\d)$/.test(prefixText)) return { error: `'${entry}' has prefix length '/${prefixText}'; use /0 to /32.` };
    prefix = Number(prefixText);
  }
  const parsed = parseCidr(`${address}/${prefix}`);
  const addressValue = parseCidr(address).start;
  const network = `${bigintToIpv4(parsed.start)}/${prefix}`;
  if (addressValue !== parsed.start) {
    return { error: `'${entry}' has host bits set — did you mean ${network}?` };
  }
  return { cidr: network, start: parsed.start, end: parsed.end };
}

export function isRangeError(value: Ipv4Range | { error: string }): value is { error: string } {
  return "error" in value;
}

export function covers(outer: Ipv4Range, inner: Ipv4Range): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

export function overlaps(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/**
 * Removes duplicates and ranges another range of the list already covers, keeping the order of
 * first appearance. Returns what was folded into what, for the report.
 */
export function foldRanges(ranges: readonly Ipv4Range[]): { kept: Ipv4Range[]; folded: { range: Ipv4Range; into: Ipv4Range }[] } {
  // Sweep by start address (widest first on ties, then first appearance): a range ending no later
  // than the widest range seen so far lies inside it. O(n log n), for lists of thousands.
  const order = ranges
    .map((_, index) => index)
    .sort((a, b) => compare(ranges[a]!.start, ranges[b]!.start) || compare(ranges[b]!.end, ranges[a]!.end) || a - b);
  const into = new Map<number, Ipv4Range>();
  let widest: Ipv4Range | undefined;
  for (const index of order) {
    const range = ranges[index]!;
    if (widest && range.end <= widest.end) into.set(index, widest);
    else widest = range;
  }
  const kept = ranges.filter((_, index) => !into.has(index));
  const folded = [...into].sort(([a], [b]) => a - b).map(([index, outer]) => ({ range: ranges[index]!, into: outer }));
  return { kept, folded };
}

/** Up to `max` entries, then how many more: a message names what matters without pasting a list of thousands. */
export function nameSome(entries: readonly string[], max = 10): string {
  return entries.length <= max ? entries.join(", ") : `${entries.slice(0, max).join(", ")} and ${entries.length - max} more`;
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Joins adjacent and overlapping ranges into the fewest CIDRs covering exactly the same
 * addresses (10.0.0.0/24 + 10.0.1.0/24 → 10.0.0.0/23); never authorizes an address that was not.
 */
export function aggregateRanges(ranges: readonly Ipv4Range[]): Ipv4Range[] {
  if (ranges.length === 0) return [];
  return mergeCidr(ranges.map((range) => range.cidr)).map((cidr) => {
    const parsed = parseIpv4Range(cidr.includes("/") ? cidr : `${cidr}/32`);
    if (isRangeError(parsed)) throw new Error(`internal: merged range '${cidr}' did not parse: ${parsed.error}`);
    return parsed;
  });
}

function bigintToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 255n).toString()).join(".");
}
