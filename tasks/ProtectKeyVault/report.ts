import { describeVault } from "../../core/key-vault";
import { code, codeList, describeChange, LINE_BREAK, remark, rich, type Outcome, type RunReport, type Text } from "../../core/report";
import type { RoleGrantResult } from "../../core/roles";
import { describeCluster } from "../../core/cluster";
import type { ClusterEgress } from "./cluster-egress";
import type { ProtectKeyVaultRequest } from "./inputs";
import type { MigrationPlan, NetworkPlan, PurgeProtectionPlan, VaultTarget } from "./plan";
import type { PrivateEndpointPlan } from "./private-endpoint";

export interface ReportInput {
  request: ProtectKeyVaultRequest;
  target: VaultTarget;
  network: NetworkPlan;
  purge: PurgeProtectionPlan;
  migration: MigrationPlan;
  egress: ClusterEgress[];
  grants?: RoleGrantResult[];
  endpoint?: { plan: PrivateEndpointPlan; status?: string };
  outcome: Outcome;
}

export const IRREVERSIBLE_PURGE =
  "Purge protection is irreversible: once on, it can never be turned off, and a deleted vault or object cannot be purged before its retention period ends.";

export function protectReport(input: ReportInput): RunReport {
  const { request, network, purge, migration, outcome } = input;
  const dryRun = outcome === "dryRun";
  const state = (changes: boolean): Text => (changes ? remark(dryRun ? "to be changed" : "changed") : remark("already as wanted"));
  const changes: RunReport["changes"] = [];
  if (request.firewall !== "unchanged") {
    const b = network.before;
    const a = network.after;
    changes.push(
      { setting: "Public network access", before: code(b.publicNetworkAccess), after: code(a.publicNetworkAccess) },
      { setting: "Firewall default action", before: code(b.defaultAction), after: code(a.defaultAction) },
      { setting: "Trusted Azure services (bypass)", before: code(b.bypass), after: code(a.bypass) },
      {
        setting: "IP rules",
        before: codeList(b.ipRules),
        after: network.addedIpRules.length
          ? rich`${codeList(a.ipRules)}${LINE_BREAK}${remark(describeChange(dryRun, { done: "added: ", planned: "to be added: " }))}${codeList(network.addedIpRules)}`
          : codeList(a.ipRules),
      },
      {
        setting: "Virtual network rules",
        before: codeList(b.virtualNetworkRules),
        after: network.addedSubnetRules.length
          ? rich`${codeList(a.virtualNetworkRules)}${LINE_BREAK}${remark(describeChange(dryRun, { done: "added: ", planned: "to be added: " }))}${codeList(network.addedSubnetRules)}`
          : codeList(a.virtualNetworkRules),
      },
    );
  }
  changes.push({
    setting: "Purge protection (irreversible)",
    before: code(String(purge.before)),
    after: rich`${code(String(purge.after))}${LINE_BREAK}${state(!purge.empty)}`,
  });
  changes.push({
    setting: "Permission model",
    before: code(migration.before ? "Azure RBAC" : "access policies"),
    after: rich`${code(migration.after ? "Azure RBAC" : "access policies")}${LINE_BREAK}${state(!migration.empty)}`,
  });

  if (input.endpoint) {
    const e = input.endpoint.plan;
    const step = (create: boolean): Text => (create ? remark(dryRun ? "to be created" : "created") : remark("already there"));
    changes.push(
      {
        setting: "Private endpoint (group vault)",
        before: e.createEndpoint ? remark("none") : code(e.endpointName),
        after: rich`${code(e.endpointName)}${LINE_BREAK}${step(e.createEndpoint)}`,
      },
      {
        setting: "Private DNS zone",
        before: e.createZone ? remark("none") : code(e.zoneId),
        after: rich`${code(e.zoneId)}${LINE_BREAK}${e.zoneFound ? remark("found in the subscription, reused") : step(e.createZone)}`,
      },
      {
        setting: "Zone link to the virtual network",
        before: e.createLink ? remark("none") : code(e.vnetId),
        after: rich`${code(e.vnetId)}${LINE_BREAK}${step(e.createLink)}`,
      },
      {
        setting: "DNS zone group of the endpoint",
        before: e.createZoneGroup ? remark("none") : code("default"),
        after: rich`${code("default")}${LINE_BREAK}${step(e.createZoneGroup)}`,
      },
    );
  }
  const details: Text[] = [];
  for (const e of input.egress) details.push(rich`${describeCluster(e.cluster)}: ${e.reason}.`);
  const warnings: Text[] = [];
  const notes: Text[] = [];
  if (!purge.empty) {
    warnings.push(
      describeChange(dryRun, {
        done: `Purge protection is on for the ${describeVault(input.target)}. ${IRREVERSIBLE_PURGE}`,
        planned: `A real run would turn on purge protection for the ${describeVault(input.target)}. ${IRREVERSIBLE_PURGE}`,
      }),
    );
  } else if (purge.before && !request.enablePurgeProtection) {
    notes.push("Purge protection is already on and cannot be turned off; enablePurgeProtection: false leaves it as it is.");
  }

  const status = input.endpoint?.status;
  if (input.endpoint && status && status.toLowerCase() !== "approved") {
    warnings.push(
      `The private endpoint's connection to the vault is ${status}, not Approved: it carries no traffic until the vault's owner approves it (az keyvault private-endpoint-connection approve), and public access stays as it is until then.`,
    );
  }
  const sections: NonNullable<RunReport["sections"]> = [];
  if (!migration.empty) {
    const results = new Map(migration.grants.map((g, i) => [g, input.grants?.[i]]));
    sections.push({
      heading: "Access policies → Azure RBAC roles (at the vault's scope)",
      blocks: [
        {
          table: {
            headers: ["Principal", "Permissions", "Role", "Role assignment"],
            rows: migration.principals.flatMap((p) =>
              p.roles.map((r) => [
                code(p.objectId),
                rich`${r.kind}: ${codeList(r.permissions)}`,
                r.wider.length ? rich`${code(r.role)}${LINE_BREAK}${remark(`also grants ${r.kind}: ${r.wider.join(", ")}`)}` : code(r.role),
                r.plan.empty
                  ? remark("already held")
                  : dryRun
                    ? remark("to be created")
                    : remark(results.get(r.plan)?.outcome === "existed" ? "already held" : "created"),
              ]),
            ),
          },
        },
      ],
    });
    notes.push(
      "The access policies are kept as they were: Azure ignores them while the vault uses Azure RBAC, and they apply again if the permission model is switched back.",
    );
    if (migration.principals.some((p) => p.roles.some((r) => r.wider.length))) {
      warnings.push(
        "No built-in role covers some principals' permissions exactly: each got the narrowest role that covers them, which grants more (the table names what). Narrow them with a custom role if that matters.",
      );
    }
  }
  if (request.firewall === "denyByDefault" && !network.empty) {
    notes.push(
      "From now on the data plane answers only the allowed addresses and networks: a pipeline agent outside them gets 403 ForbiddenByFirewall. KeyVaultSecrets@1 with includeAgentIp: true opens the firewall to its agent for the job only.",
    );
  }
  if (request.firewall === "denyByDefault" && network.after.ipRules.length === 0 && network.after.virtualNetworkRules.length === 0) {
    warnings.push(
      "The firewall denies by default and allows no address or network: only private endpoints and (with bypass) trusted Azure services reach the vault.",
    );
  }
  return {
    title: `Protect key vault: ${request.keyVaultName}`,
    target: describeVault(input.target),
    outcome,
    changes,
    details,
    notes,
    warnings,
    sections,
  };
}
