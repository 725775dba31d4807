import { containsCidr } from "cidr-tools";
import { ArmError } from "../http";
import { LateRules } from "../propagation";
import type { ArmResource } from "./arm-resource";
import { isPlainObject } from "./merge";

/**
 * A key vault's network, as Microsoft.KeyVault 2026-02-01 writes, returns and enforces it:
 * `properties.networkAcls` (the firewall) and `properties.publicNetworkAccess`. Written by a vault PUT
 * (Vaults_CreateOrUpdate) or update (Vaults_Update, PATCH); in both `networkAcls` is replaced as a
 * whole, never merged (DESIGN.md, "Key Vault 2026-02-01"). Enforced by the data plane on every
 * request, after the token and before any permission (local-azure/routes/key-vault-secrets.ts).
 */

/** `properties.networkAcls` (NetworkRuleSet), as stored and returned. */
export interface VaultNetworkAcls {
  bypass: "AzureServices" | "None";
  defaultAction: "Allow" | "Deny";
  ipRules: { value: string }[];
  virtualNetworkRules: { id: string; ignoreMissingVnetServiceEndpoint?: boolean }[];
}

/** "A maximum of 200 virtual network rules and 1000 IPv4 rules are allowed" (https://learn.microsoft.com/azure/key-vault/general/network-security). */
export const MAX_IP_RULES = 1000;
export const MAX_VIRTUAL_NETWORK_RULES = 200;

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
const SUBNET_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/i;

/**
 * RFC 1918 ranges Key Vault refuses in an IP rule, with its wording: "Invalid value found at
 * properties.networkAcls.ipRules[0].value: 10.0.0.0/8 belongs to forbidden range
 * 10.0.0.0–10.255.255.255 (private IP addresses)" (Azure/azure-powershell#11471; "IP network rules
 * are only allowed for public IP addresses … addresses that start with 10., 172.16-31, and 192.168.",
 * network-security docs).
 */
const FORBIDDEN: readonly { cidr: string; range: string }[] = [
  { cidr: "10.0.0.0/8", range: "10.0.0.0–10.255.255.255" },
  { cidr: "172.16.0.0/12", range: "172.16.0.0–172.31.255.255" },
  { cidr: "192.168.0.0/16", range: "192.168.0.0–192.168.255.255" },
];

const invalid = (where: string, detail: string) => new ArmError(400, "BadRequest", `Invalid value found at ${where}: ${detail}`);

/**
 * The network rule set a write stores, from what it sent. Missing fields take their defaults: bypass
 * `AzureServices` (the spec: "If not specified the default is 'AzureServices'"), defaultAction
 * `Allow` (the spec states none; a vault without a firewall admits every address, which is what
 * this models), no rules. An IP rule holding one address is stored with `/32`: Key Vault returns a
 * bare address that way ("Key Vault stores IP addresses with a '/32' suffix even when it wasn't
 * specified", Corvus.Deployment's Key Vault handler; terraform-provider-azurerm#8701 fixed by #10266).
 * IPv4 only ("Only IPv4 addresses are supported at this time", network-security docs); Key Vault
 * quotes only the private-range refusal above verbatim, the other refusals use its shape.
 */
export function normalizeNetworkAcls(value: unknown, where = "properties.networkAcls"): VaultNetworkAcls {
  if (!isPlainObject(value)) throw invalid(where, "expected an object with defaultAction, bypass, ipRules and virtualNetworkRules.");
  const bypass = oneOf(value["bypass"], ["AzureServices", "None"], "AzureServices", `${where}.bypass`);
  const defaultAction = oneOf(value["defaultAction"], ["Allow", "Deny"], "Allow", `${where}.defaultAction`);
  const ipRules = listOf(value["ipRules"], `${where}.ipRules`).map((rule, i) => ({ value: ipRule(rule, `${where}.ipRules[${i}].value`) }));
  if (ipRules.length > MAX_IP_RULES) throw invalid(`${where}.ipRules`, `${ipRules.length} rules, more than the ${MAX_IP_RULES} allowed.`);
  const virtualNetworkRules = listOf(value["virtualNetworkRules"], `${where}.virtualNetworkRules`).map((rule, i) => {
    const at = `${where}.virtualNetworkRules[${i}]`;
    if (!isPlainObject(rule) || typeof rule["id"] !== "string" || !SUBNET_ID.test(rule["id"]))
      throw invalid(`${at}.id`, "expected the resource ID of a virtual network's subnet.");
    const ignore = rule["ignoreMissingVnetServiceEndpoint"];
    return { id: rule["id"], ...(typeof ignore === "boolean" ? { ignoreMissingVnetServiceEndpoint: ignore } : {}) };
  });
  if (virtualNetworkRules.length > MAX_VIRTUAL_NETWORK_RULES)
    throw invalid(
      `${where}.virtualNetworkRules`,
      `${virtualNetworkRules.length} rules, more than the ${MAX_VIRTUAL_NETWORK_RULES} allowed.`,
    );
  return { bypass, defaultAction, ipRules, virtualNetworkRules };
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, where: string): T {
  if (value === undefined || value === null) return fallback;
  const match = allowed.find((option) => typeof value === "string" && option.toLowerCase() === value.toLowerCase());
  if (!match) throw invalid(where, `'${String(value)}' is not one of ${allowed.join(", ")}.`);
  return match;
}

function listOf(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(where, "expected a list.");
  return value;
}

function ipRule(rule: unknown, where: string): string {
  const text = isPlainObject(rule) && typeof rule["value"] === "string" ? rule["value"].trim() : undefined;
  if (text === undefined) throw invalid(where, "expected an IPv4 address or CIDR.");
  const [address = "", prefix, extra] = text.split("/");
  if (extra !== undefined || !IPV4.test(address) || (prefix !== undefined && !/^(3[0-2]|[12]?\d)$/.test(prefix)))
    throw invalid(where, `'${text}' is not an IPv4 address or an IPv4 range in CIDR notation.`);
  const cidr = `${address}/${prefix ?? "32"}`;
  const forbidden = FORBIDDEN.find((range) => containsCidr(range.cidr, address));
  if (forbidden) throw invalid(where, `${text} belongs to forbidden range ${forbidden.range} (private IP addresses)`);
  return cidr;
}

/** The vault's network rule set as stored, if it has one. */
export function networkAclsOf(vault: ArmResource): VaultNetworkAcls | undefined {
  return vault.properties?.["networkAcls"] as VaultNetworkAcls | undefined;
}

/**
 * Whether the rule set lets a caller at `address` (its public IPv4 address) reach the data plane: no
 * rules or `defaultAction: Allow` let everyone in; otherwise an IP rule must contain the address.
 * Virtual network rules admit callers inside those subnets and `bypass: AzureServices` the trusted
 * Azure services; the agent is neither (Azure DevOps is not a trusted service: network-security docs).
 */
export function firewallAdmits(acls: VaultNetworkAcls | undefined, address: string): boolean {
  if (!acls || acls.defaultAction !== "Deny") return true;
  if (!IPV4.test(address)) return false;
  return acls.ipRules.some((rule) => {
    try {
      return containsCidr(rule.value, address);
    } catch {
      return false;
    }
  });
}

/**
 * The firewalls of every vault, with the lag between a write and the data plane enforcing it
 * (local-azure/propagation.ts): until then the rules read before the write stay in force.
 */
export class VaultFirewalls {
  private readonly rules = new LateRules<VaultNetworkAcls | undefined>((a, b) => JSON.stringify(a) === JSON.stringify(b));

  /** Refused requests a newly written rule set waits for before it takes effect. */
  get propagationRequests(): number {
    return this.rules.refusalsBeforeEffect;
  }
  set propagationRequests(value: number) {
    this.rules.refusalsBeforeEffect = value;
  }

  /** Data-plane requests each vault's firewall refused so far, by vault name. */
  get refused(): ReadonlyMap<string, number> {
    return this.rules.refused;
  }

  /** Told of every accepted vault write, before it changes anything. */
  beforeWrite(vault: ArmResource): void {
    this.rules.beforeWrite(vault.name, networkAclsOf(vault));
  }

  /** Whether the rules in force let `address` in; a refusal counts towards a pending write taking effect. */
  admits(vault: ArmResource, address: string): boolean {
    const admitted = firewallAdmits(this.rules.inForce(vault.name, networkAclsOf(vault)), address);
    if (!admitted) this.rules.refuse(vault.name);
    return admitted;
  }
}
