import { describe, it } from "mocha";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../core/errors";
import {
  checkCpuQuantity,
  checkImageRegex,
  checkMemoryQuantity,
  parseDefinitionIds,
  parseNamespaces,
  parsePolicies,
} from "../../tasks/AssignAksPolicies/inputs";
import {
  assignmentName,
  assignmentSources,
  planAddon,
  planAssignments,
  resolveAssignment,
  summarizeCompliance,
  unusedInputs,
  withAddonEnabled,
  type AssignmentRequest,
  type DefinitionInfo,
  type ExistingAssignment,
} from "../../tasks/AssignAksPolicies/plan";

describe("test/unit/policy-plan", () => {
  const EFFECTS = ["audit", "Audit", "deny", "Deny", "disabled", "Disabled"];
  const LIMITS: DefinitionInfo = {
    id: "/providers/Microsoft.Authorization/policyDefinitions/e345eecc-fa47-480f-9e88-67dcc122b164",
    displayName: "Limits",
    kind: "policy",
    parameters: {
      effect: { type: "String", allowedValues: EFFECTS, defaultValue: "Deny" },
      excludedNamespaces: { type: "Array", defaultValue: ["kube-system"] },
      cpuLimit: { type: "String" },
      memoryLimit: { type: "String" },
      warn: { type: "Boolean", defaultValue: false },
    },
  };
  const request = (values: Partial<AssignmentRequest["values"]> = {}, effect: "Audit" | "Deny" = "Deny"): AssignmentRequest => ({
    effect,
    enforcementMode: "Default",
    values: { excludedNamespaces: ["kube-system"], cpuLimit: "500m", memoryLimit: "512Mi", ...values },
  });
  const limitsSource = { kind: "builtIn", key: "resourceLimits" } as const;

  function thrownInput(fn: () => unknown): string {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof InputError, String(error));
      return error.input;
    }
    assert.fail("expected an InputError");
  }

  describe("resolveAssignment", () => {
    it("gives only the parameters the definition declares", () => {
      const wanted = resolveAssignment(request({ allowedImagesRegex: "^x$" }), limitsSource, LIMITS);
      assert.deepEqual(wanted.parameters, {
        effect: { value: "Deny" },
        excludedNamespaces: { value: ["kube-system"] },
        cpuLimit: { value: "500m" },
        memoryLimit: { value: "512Mi" },
      });
      assert.equal(wanted.name, "aks-hardening-resourceLimits");
      assert.deepEqual(unusedInputs(request({ allowedImagesRegex: "^x$" }).values, [wanted]), ["allowedImagesRegex"]);
    });

    it("a required parameter without a value names its input", () => {
      assert.equal(
        thrownInput(() => resolveAssignment(request({ cpuLimit: undefined }), limitsSource, LIMITS)),
        "cpuLimit",
      );
      assert.equal(
        thrownInput(() => resolveAssignment(request({ memoryLimit: undefined }), limitsSource, LIMITS)),
        "memoryLimit",
      );
    });

    it("the effect takes the spelling the definition allows", () => {
      const lower: DefinitionInfo = { ...LIMITS, parameters: { effect: { type: "String", allowedValues: ["audit", "deny", "disabled"] } } };
      const custom = { kind: "custom", definitionId: "/subscriptions/x/providers/Microsoft.Authorization/policyDefinitions/y" } as const;
      assert.deepEqual(resolveAssignment(request(), custom, lower).parameters["effect"], { value: "deny" });
      assert.deepEqual(resolveAssignment(request(), limitsSource, LIMITS).parameters["effect"], { value: "Deny" });
      const auditOnly: DefinitionInfo = { ...LIMITS, parameters: { effect: { type: "String", allowedValues: ["AuditIfNotExists"] } } };
      assert.equal(
        thrownInput(() => resolveAssignment(request(), custom, auditOnly)),
        "effect",
      );
    });

    it("a required parameter the task cannot fill fails on the custom IDs input", () => {
      const custom = { kind: "custom", definitionId: "/subscriptions/x/providers/Microsoft.Authorization/policyDefinitions/y" } as const;
      const needsTeam: DefinitionInfo = { ...LIMITS, parameters: { team: { type: "String" } } };
      assert.equal(
        thrownInput(() => resolveAssignment(request(), custom, needsTeam)),
        "customPolicyDefinitionIds",
      );
    });

    it("a parameter of another type than the task's value is refused", () => {
      const numeric: DefinitionInfo = { ...LIMITS, parameters: { cpuLimit: { type: "Integer", defaultValue: 1 } } };
      assert.equal(
        thrownInput(() => resolveAssignment(request(), limitsSource, numeric)),
        "cpuLimit",
      );
    });
  });

  describe("names and sources", () => {
    it("names are stable and differ per definition", () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[a-z0-9-]{1,40}$/), fc.stringMatching(/^[a-z0-9-]{1,40}$/), (a, b) => {
          const id = (n: string) =>
            `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/policyDefinitions/${n}`;
          const nameA = assignmentName({ kind: "custom", definitionId: id(a) });
          assert.equal(nameA, assignmentName({ kind: "custom", definitionId: id(a).toUpperCase() }));
          assert.ok(nameA.length <= 64 && /^[a-z0-9-]+$/.test(nameA));
          if (a !== b) assert.notEqual(nameA, assignmentName({ kind: "custom", definitionId: id(b) }));
        }),
      );
    });

    it("a custom ID naming a selected built-in counts once", () => {
      const sources = assignmentSources(
        ["noPrivilegedContainers"],
        ["/providers/Microsoft.Authorization/policyDefinitions/95EDB821-ddaf-4404-9732-666045e056b4"],
      );
      assert.deepEqual(sources, [{ kind: "builtIn", key: "noPrivilegedContainers" }]);
    });
  });

  describe("planAssignments", () => {
    const wanted = resolveAssignment(request(), limitsSource, LIMITS);
    const existing = (overrides: Partial<ExistingAssignment> = {}): ExistingAssignment => ({
      id: `/c/providers/Microsoft.Authorization/policyAssignments/${wanted.name}`,
      name: wanted.name,
      policyDefinitionId: LIMITS.id.toUpperCase(),
      parameters: {
        memoryLimit: { value: "512Mi" },
        cpuLimit: { value: "500m" },
        excludedNamespaces: { value: ["kube-system"] },
        effect: { value: "Deny" },
      },
      enforcementMode: "Default",
      metadata: { aksHardeningTasks: { task: "AssignAksPolicies", policy: "resourceLimits" }, createdBy: "someone" },
      ...overrides,
    });

    it("missing → create; equal → nothing to write", () => {
      assert.equal(planAssignments([wanted], []).changes[0]!.action, "create");
      const plan = planAssignments([wanted], [existing()]);
      assert.equal(plan.changes[0]!.action, "unchanged");
      assert.equal(plan.empty, true);
    });

    it("a different effect or enforcement mode → update, with the difference spelled out", () => {
      const plan = planAssignments(
        [wanted],
        [existing({ enforcementMode: "DoNotEnforce", parameters: { ...existing().parameters, effect: { value: "Audit" } } })],
      );
      assert.equal(plan.changes[0]!.action, "update");
      assert.deepEqual(plan.changes[0]!.differences, ["effect: Audit → Deny", "enforcementMode: DoNotEnforce → Default"]);
    });

    it("assignments without the task's marker are never planned for a write", () => {
      const foreign = existing({ metadata: {} });
      const other = existing({ name: "portal", metadata: {} });
      const plan = planAssignments([wanted], [foreign, other]);
      assert.equal(plan.changes[0]!.action, "nameTaken");
      assert.equal(plan.empty, true);
      assert.deepEqual(
        plan.others.map((o) => o.name),
        [wanted.name, "portal"],
      );
    });

    it("the task's own assignments no longer selected are listed, not removed", () => {
      const plan = planAssignments([], [existing()]);
      assert.deepEqual(
        plan.noLongerSelected.map((o) => o.name),
        [wanted.name],
      );
      assert.equal(plan.empty, true);
    });
  });

  describe("add-on", () => {
    it("turned on only when off and asked for; other add-ons kept", () => {
      const off = { location: "westeurope", addonProfiles: { omsagent: { enabled: true } } };
      assert.deepEqual(planAddon(off, true), { empty: false, enabledBefore: false, enabledAfter: true });
      assert.deepEqual(planAddon(off, false), { empty: true, enabledBefore: false, enabledAfter: false });
      const on = withAddonEnabled(off);
      assert.deepEqual(on.addonProfiles, { omsagent: { enabled: true }, azurepolicy: { enabled: true } });
      assert.equal(planAddon(on, true).empty, true);
    });
  });

  describe("summarizeCompliance", () => {
    const changedAt = new Date("2025-01-01T10:00:00Z");
    const a = { id: "/x/policyAssignments/a", name: "a", title: "A", changedAt };
    const synced = { empty: true, enabledBefore: true, enabledAfter: true };

    it("no results, or only results older than the last change, are 'pending', never compliant", () => {
      assert.equal(summarizeCompliance([a], [], synced).rows[0]!.status, "pending");
      const stale = [{ policyAssignmentId: a.id, complianceState: "Compliant", timestamp: new Date("2025-01-01T09:00:00Z") }];
      const report = summarizeCompliance([a], stale, synced);
      assert.equal(report.rows[0]!.status, "pending");
      assert.equal(report.synced, false);
    });

    it("fresh results are counted per state", () => {
      const t = new Date("2025-01-01T10:20:00Z");
      const states = ["Compliant", "NonCompliant", "Compliant", "Unknown"].map((complianceState) => ({
        policyAssignmentId: a.id.toUpperCase(),
        complianceState,
        timestamp: t,
      }));
      const report = summarizeCompliance([a], states, synced);
      assert.deepEqual(report.rows[0], {
        assignmentId: a.id,
        assignmentName: "a",
        title: "A",
        status: "evaluated",
        compliant: 2,
        nonCompliant: 1,
        other: 1,
        lastEvaluated: t,
      });
      assert.equal(report.synced, true);
    });

    it("an add-on turned on in this run, or off, means no results yet", () => {
      const t = new Date("2025-01-01T10:20:00Z");
      const states = [{ policyAssignmentId: a.id, complianceState: "Compliant", timestamp: t }];
      assert.equal(
        summarizeCompliance([a], states, { empty: false, enabledBefore: false, enabledAfter: true }).rows[0]!.status,
        "addonJustEnabled",
      );
      assert.equal(
        summarizeCompliance([a], states, { empty: true, enabledBefore: false, enabledAfter: false }).rows[0]!.status,
        "addonOff",
      );
    });
  });

  describe("input checks", () => {
    it("CPU quantities", () => {
      for (const ok of ["500m", "1", "0.5", "2", "1500m"]) assert.equal(checkCpuQuantity(ok), ok);
      for (const bad of ["500 m", "0", "0m", "-1", "1.5m", "one", "500mc", "1 core"])
        assert.throws(() => checkCpuQuantity(bad), /cpuLimit/);
    });

    it("memory quantities", () => {
      for (const ok of ["512Mi", "1Gi", "1G", "1073741824", "1.5Gi"]) assert.equal(checkMemoryQuantity(ok), ok);
      assert.throws(() => checkMemoryQuantity("512MB"), /did you mean 512Mi\?/);
      assert.throws(() => checkMemoryQuantity("1gb"), /did you mean 1Gi\?/);
      for (const bad of ["0Mi", "Mi", "1 Gi", "1gi"]) assert.throws(() => checkMemoryQuantity(bad), /memoryLimit/);
    });

    it("image regex", () => {
      assert.equal(checkImageRegex("^myregistry\\.azurecr\\.io/.+$"), "^myregistry\\.azurecr\\.io/.+$");
      assert.throws(() => checkImageRegex("^(a"), /allowedImagesRegex: '\^\(a' is not a valid regular expression/);
      assert.throws(() => checkImageRegex("^(?!docker).+$"), /RE2/);
      assert.throws(() => checkImageRegex("(a)\\1"), /RE2/);
    });

    it("policies, definition IDs and namespaces", () => {
      assert.deepEqual(parsePolicies("noPrivilegedContainers, resourcelimits,noPrivilegedContainers"), [
        "noPrivilegedContainers",
        "resourceLimits",
      ]);
      assert.throws(() => parsePolicies("privileged"), /policies: 'privileged'/);
      const id = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/policyDefinitions/x";
      assert.deepEqual(
        parseDefinitionIds(
          `${id}\n${id.toUpperCase()}/\n\n/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/policySetDefinitions/y`,
        ),
        [id, "/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/policySetDefinitions/y"],
      );
      assert.throws(() => parseDefinitionIds("x"), /customPolicyDefinitionIds/);
      assert.equal(parseNamespaces(undefined), undefined, "none typed: nothing is sent, each definition keeps its own default");
      assert.equal(parseNamespaces(" , "), undefined);
      assert.deepEqual(parseNamespaces("a, b\nc"), ["a", "b", "c"]);
      assert.throws(() => parseNamespaces("Upper"), /excludedNamespaces/);
    });
  });
});
