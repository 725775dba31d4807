import { containsCidr, parseCidr } from "cidr-tools";

/**
 * IPv4 entries of the allow-lists job-scoped access opens (an AKS API server's authorized IP ranges,
 * a key vault's `networkAcls.ipRules`), as Azure returns them. Azure spells one address either way:
 * AKS keeps what was written (`203.0.113.10` or `203.0.113.10/32`), Key Vault returns a single
 * address with `/32` even when it was written bare (terraform-provider-azurerm#8701 and #10266;
 * "Key Vault stores IP addresses with a '/32' suffix even when it wasn't specified", Corvus.Deployment's
 * Key Vault handler). Entries are compared by the network they name, never by spelling, and an entry
 * that is not IPv4 is carried along untouched.
 */

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4_ENTRY = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}(/(3[0-2]|[12]?\\d))?$`);

/** The entry's network as `a.b.c.d/n` (an address means /32), or undefined when it is not IPv4. */
export function canonicalEntry(text: string): string | undefined {
  const trimmed = text.trim();
  if (!IPV4_ENTRY.test(trimmed)) return undefined;
  const parsed = parseCidr(trimmed);
  return `${bigintToIpv4(parsed.start)}/${parsed.prefix}`;
}

/** Two entries naming the same network, however spelled. */
export function sameEntry(a: string, b: string): boolean {
  return (canonicalEntry(a) ?? a) === (canonicalEntry(b) ?? b);
}

/** Whether the entry admits the address (`a.b.c.d/32`). */
export function entryCovers(entry: string, address: string): boolean {
  const network = canonicalEntry(entry);
  return network !== undefined && containsCidr(network, address);
}

/** `a.b.c.d/32` → `a.b.c.d`, for messages and outputs. */
export function bareAddress(address: string): string {
  return address.replace(/\/32$/, "");
}

/**
 * Addresses that are not one public host on the internet (RFC 6890's special-purpose registry):
 * written into a firewall they would authorize a private network, the cluster's own outbound IP
 * (AKS reads 0.0.0.0 so), or nothing at all. Key Vault refuses the private ones itself ("10.0.0.0/8
 * belongs to forbidden range … (private IP addresses)", Azure/azure-powershell#11471).
 */
const NOT_PUBLIC: readonly { cidr: string; what: string }[] = [
  { cidr: "0.0.0.0/8", what: "'this network' (0.0.0.0 means the cluster's own outbound IP to AKS)" },
  { cidr: "10.0.0.0/8", what: "a private address (RFC 1918)" },
  { cidr: "172.16.0.0/12", what: "a private address (RFC 1918)" },
  { cidr: "192.168.0.0/16", what: "a private address (RFC 1918)" },
  { cidr: "100.64.0.0/10", what: "a carrier-grade NAT address (RFC 6598)" },
  { cidr: "127.0.0.0/8", what: "a loopback address" },
  { cidr: "169.254.0.0/16", what: "a link-local address" },
  { cidr: "224.0.0.0/4", what: "a multicast address" },
  { cidr: "255.255.255.255/32", what: "the broadcast address" },
  { cidr: "240.0.0.0/4", what: "a reserved address (240/4)" },
];

/** What the address is when it is not one public unicast IPv4 host; undefined when it is. */
export function notPublic(address: string): string | undefined {
  return NOT_PUBLIC.find((range) => containsCidr(range.cidr, address))?.what;
}

/** A single public unicast IPv4 address as `a.b.c.d/32`, or undefined. */
export function publicAddress(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed.includes("/")) return undefined;
  const canonical = canonicalEntry(trimmed);
  return canonical && !notPublic(canonical) ? canonical : undefined;
}

function bigintToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 255n).toString()).join(".");
}
