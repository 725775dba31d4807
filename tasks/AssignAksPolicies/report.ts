import { describeCluster, type ClusterRef } from "../../core/cluster";
import {
  code,
  codeList,
  describeChange,
  joinText,
  LINE_BREAK,
  remark,
  rich,
  type Block,
  type Outcome,
  type RunReport,
  type Text,
} from "../../core/report";
import { unanchoredRegexProblem, type AssignAksPoliciesRequest } from "./inputs";
import {
  describeSource,
  type AddonPlan,
  type AssignmentChange,
  type AssignmentsPlan,
  type ComplianceReport,
  type ComplianceRow,
  type Remediation,
} from "./plan";

export interface PolicyRunResult {
  addon: AddonPlan;
  plan: AssignmentsPlan;
  compliance?: ComplianceReport | { error: string };
  unusedInputs: string[];
  /** Assignments that modify or deploy resources: their identity, and the roles it needs to remediate. */
  identities: { name: string; remediation: Remediation; principalId?: string }[];
  clusterId: string;
}

const ACTION_TEXT: Record<AssignmentChange["action"], { done: string; planned: string }> = {
  create: { done: "created", planned: "to be created" },
  update: { done: "updated", planned: "to be updated" },
  unchanged: { done: "already as wanted", planned: "already as wanted" },
  nameTaken: { done: "left alone (not made by this task)", planned: "left alone (not made by this task)" },
};

export function policyReport(request: AssignAksPoliciesRequest, ref: ClusterRef, result: PolicyRunResult, outcome: Outcome): RunReport {
  const planned = outcome === "dryRun";
  const changes: RunReport["changes"] = [];
  if (!result.addon.empty || result.addon.enabledBefore) {
    changes.push({ setting: "Azure Policy add-on", before: onOff(result.addon.enabledBefore), after: onOff(result.addon.enabledAfter) });
  }
  for (const change of result.plan.changes) {
    const text = ACTION_TEXT[change.action];
    changes.push({
      setting: rich`${describeSource(change.wanted.source, change.wanted.definition)}${LINE_BREAK}${code(change.wanted.name)}`,
      before: change.before
        ? change.action === "nameTaken"
          ? "assigned by someone else"
          : parametersCell(change.before.parameters, change.before.enforcementMode)
        : remark("not assigned"),
      after:
        change.action === "nameTaken"
          ? remark("unchanged")
          : rich`${parametersCell(change.wanted.parameters, change.wanted.enforcementMode)}${LINE_BREAK}${remark(describeChange(planned, text))}`,
    });
  }

  const details: Text[] = [
    rich`Effect: ${code(request.effect)}, enforcement mode: ${code(request.enforcementMode)}`,
    ...effectExplanation(request),
  ];
  for (const change of result.plan.changes.filter((c) => c.action === "update")) {
    details.push(rich`${code(change.wanted.name)}: ${change.differences.join("; ")}`);
  }

  const warnings: Text[] = [];
  const notes: Text[] = [];
  if (!result.addon.enabledAfter) {
    warnings.push(
      "The Azure Policy add-on is off and enableAddon is false: the assignments exist in Azure but nothing enforces or reports them in the cluster until the add-on is enabled.",
    );
  } else if (!result.addon.enabledBefore) {
    notes.push(
      describeChange(planned, {
        done: "The Azure Policy add-on was just turned on. It takes about 15–20 minutes to install Gatekeeper in the cluster and sync the assignments; until then nothing is denied and no compliance results exist.",
        planned:
          "A real run would turn the Azure Policy add-on on; it then takes about 15–20 minutes to install Gatekeeper in the cluster and sync the assignments, during which nothing is denied and no compliance results exist.",
      }),
    );
  }
  for (const change of result.plan.changes.filter((c) => c.action === "nameTaken")) {
    warnings.push(
      rich`An assignment named ${code(change.wanted.name)} already exists on the cluster but was not made by this task (it has no ${code("aksHardeningTasks")} marker), so it was left as it is. Rename or delete it if this task should manage ${describeSource(change.wanted.source, change.wanted.definition)}.`,
    );
  }
  for (const input of result.unusedInputs) warnings.push(`${input} is ignored: none of the selected policies takes it.`);
  if (request.values.allowedImagesRegex !== undefined && !result.unusedInputs.includes("allowedImagesRegex")) {
    const unanchored = unanchoredRegexProblem(request.values.allowedImagesRegex);
    if (unanchored) warnings.push(unanchored);
  }
  for (const identity of result.identities) {
    const roles = identity.remediation.roleDefinitionIds.map((id) => id.split("/").pop() ?? id);
    const assignee = identity.principalId ?? "<the assignment's principal ID>";
    notes.push(
      rich`${code(identity.name)} applies ${identity.remediation.effect} policies, so it ${planned ? "would get" : "has"} a system-assigned identity${identity.principalId ? rich` (principal ${code(identity.principalId)})` : ""} in the cluster's region. To remediate existing resources it needs ${roles.length ? rich`the role(s) ${codeList(roles)}` : "the roles its definitions name in roleDefinitionIds (none are named)"} at the scope it changes; this task does not grant them: ${code(`az role assignment create --assignee-object-id ${assignee} --assignee-principal-type ServicePrincipal --role ${roles[0] ?? "<role>"} --scope ${result.clusterId}`)}.`,
    );
  }
  if (result.plan.others.length) {
    notes.push(
      rich`Assignments on the cluster not made by this task (left as they are): ${codeList(result.plan.others.map((o) => o.displayName ?? o.name))}.`,
    );
  }
  if (result.plan.noLongerSelected.length) {
    notes.push(
      rich`Assignments this task made earlier for policies no longer selected are left in place: ${codeList(result.plan.noLongerSelected.map((o) => o.name))}. Delete them (Azure portal > Policy > Assignments) if they should go.`,
    );
  }

  const sections: NonNullable<RunReport["sections"]> = [];
  if (result.compliance) sections.push(complianceSection(result.compliance, planned));

  return {
    title: `Azure Policy for AKS: ${ref.clusterName}`,
    target: describeCluster(ref),
    outcome,
    changes,
    details,
    notes,
    warnings,
    sections,
  };
}

function onOff(enabled: boolean): string {
  return enabled ? "enabled" : "off";
}

function parametersCell(parameters: Record<string, { value: unknown }>, enforcementMode: string): Text {
  const entries = Object.entries(parameters).map(
    ([name, { value }]) => `${name}=${Array.isArray(value) ? value.join(",") : String(value)}`,
  );
  return joinText([...entries.map(code), code(`enforcementMode=${enforcementMode || "Default"}`)], LINE_BREAK);
}

/** What Audit and Deny do to running and new pods, in the mode chosen. */
function effectExplanation(request: AssignAksPoliciesRequest): Text[] {
  if (request.enforcementMode === "DoNotEnforce") {
    return [
      "Enforcement mode DoNotEnforce: nothing is blocked, whatever the effect. Running and new pods are only evaluated and reported as compliant or non-compliant — a safe way to see what Deny would reject.",
    ];
  }
  if (request.effect === "Deny") {
    return [
      rich`Deny: the add-on's admission webhook (Gatekeeper) rejects new or updated pods that break a policy — ${code("kubectl apply")}, Deployments and Jobs fail to create them. Pods already running are not stopped or evicted; they are reported as non-compliant and are rejected the next time they are re-created (rollout, scaling, node drain).`,
    ];
  }
  return [
    "Audit: nothing is blocked. Running and new pods that break a policy keep running and are admitted; they are reported as non-compliant in Azure Policy after the add-on's next sync. Switch effect to Deny once the report is clean.",
  ];
}

const STATUS_TEXT: Record<ComplianceRow["status"], string> = {
  evaluated: "evaluated",
  pending: "not evaluated yet: the add-on has not synced since the assignment was made or changed (it syncs about every 15 minutes)",
  addonOff: "not evaluated: the Azure Policy add-on is off",
  addonJustEnabled: "not evaluated yet: the add-on was just turned on (first results in about 15–20 minutes)",
};
/** A dry run leaves the add-on off. */
const ADDON_TO_BE_ENABLED = "not evaluated: the add-on is off; a real run would turn it on (first results about 15–20 minutes later)";

function complianceSection(compliance: ComplianceReport | { error: string }, planned: boolean): { heading: string; blocks: Block[] } {
  const heading = "Compliance (Azure Policy, latest results)";
  if ("error" in compliance) return { heading, blocks: [{ paragraph: `⚠️ ${compliance.error}` }] };
  const rows = compliance.rows.map((row) => [
    rich`${row.title}${LINE_BREAK}${code(row.assignmentName)}`,
    row.status === "evaluated" ? String(row.compliant) : "—",
    row.status === "evaluated" ? String(row.nonCompliant) : "—",
    row.status === "evaluated"
      ? `${row.other ? `${row.other} other; ` : ""}last evaluated ${row.lastEvaluated?.toISOString() ?? "(unknown)"}`
      : row.status === "addonJustEnabled"
        ? describeChange(planned, { done: STATUS_TEXT.addonJustEnabled, planned: ADDON_TO_BE_ENABLED })
        : STATUS_TEXT[row.status],
  ]);
  const lead = compliance.synced
    ? "Counts are policies (for an initiative, each of its policies) in each compliance state."
    : "Not synced yet: some assignments have no results newer than their last change. Do not read missing results as compliant; run again in 15–20 minutes.";
  return { heading, blocks: [{ paragraph: lead }, { table: { headers: ["Assignment", "Compliant", "Non-compliant", "Status"], rows } }] };
}
