import { describe, it } from "mocha";
import assert from "node:assert/strict";
import {
  code,
  codeList,
  describeChange,
  LINE_BREAK,
  remark,
  renderReport,
  renderReportLog,
  rich,
  summaryFileTitle,
  type RunReport,
} from "../../core/report";
import { changeClaims } from "../harness/wording";
import { readableLogProblems } from "../harness/readable-log";

describe("test/unit/report", () => {
  const report: RunReport = {
    title: "Enable pod identity: aks-prod",
    target: "managed cluster 'aks-prod' in resource group 'rg-prod'",
    outcome: "changed",
    changes: [
      { setting: "OIDC issuer", before: remark("off"), after: "enabled" },
      { setting: rich`Secret ${code("db-url")}`, before: remark("absent"), after: rich`created${LINE_BREAK}${remark("1 version")}` },
      { setting: "Authorized IP ranges", before: codeList([]), after: codeList(["203.0.113.0/24", "198.51.100.7/32"]) },
    ],
    details: [rich`Mode: ${code("workloadIdentity")}`],
    notes: [rich`Left alone: ${code("other")}`],
    warnings: [],
    sections: [
      {
        heading: "Apply in Kubernetes",
        blocks: [
          { paragraph: rich`Annotate the service account (audience ${code("api://AzureADTokenExchange")}):` },
          { language: "yaml", codeBlock: ["metadata:", "  name: todo-app"] },
          { table: { headers: ["Assignment", "Compliant", "Status"], rows: [[code("aks-hardening-x"), "3", "—"]] } },
        ],
      },
    ],
  };

  it("the summary is markdown: code in backticks, remarks in italics, a fenced YAML block, a table", () => {
    const markdown = renderReport(report);
    assert.match(markdown, /\| OIDC issuer \| _off_ \| enabled \|/);
    assert.match(markdown, /\| Secret `db-url` \| _absent_ \| created<br>_1 version_ \|/);
    assert.match(markdown, /\| Authorized IP ranges \| _none_ \| `203\.0\.113\.0\/24`, `198\.51\.100\.7\/32` \|/);
    assert.match(markdown, /```yaml\nmetadata:\n {2}name: todo-app\n```/);
    assert.match(markdown, /\| Assignment \| Compliant \| Status \|\n\| --- \| --- \| --- \|\n\| `aks-hardening-x` \| 3 \| — \|/);
  });

  it("the log is rendered from the same structure as plain text a person reads: no markup, no fence, no bare 'yaml'", () => {
    const log = renderReportLog(report);
    assert.deepEqual(readableLogProblems(log), []);
    assert.deepEqual(log, [
      "Enable pod identity: aks-prod — Changed (managed cluster 'aks-prod' in resource group 'rg-prod')",
      "  OIDC issuer: off → enabled",
      "  Secret db-url: absent → created; 1 version",
      "  Authorized IP ranges: none → 203.0.113.0/24, 198.51.100.7/32",
      "  Mode: workloadIdentity",
      "  Apply in Kubernetes:",
      "    Annotate the service account (audience api://AzureADTokenExchange):",
      "      metadata:",
      "        name: todo-app",
      "    aks-hardening-x: compliant 3",
      "  note: Left alone: other",
    ]);
  });

  it("the summary's file name, which the agent shows as the section title, keeps the title's words with an em dash for its colon", () => {
    assert.equal(summaryFileTitle("Enable pod identity: aks-prod"), "Enable pod identity — aks-prod");
    assert.equal(summaryFileTitle('Key Vault secrets: kv<1>|"x"'), "Key Vault secrets — kv-1-x-");
  });

  it("a dry run's wording is the planned one, and the wording check finds a change told as done, not a plan or a negation", () => {
    assert.equal(describeChange(true, { done: "was turned on", planned: "would be turned on" }), "would be turned on");
    assert.equal(describeChange(false, { done: "was turned on", planned: "would be turned on" }), "was turned on");
    assert.deepEqual(changeClaims("The Azure Policy add-on was just turned on. It takes 15 minutes."), [
      "The Azure Policy add-on was just turned on.",
    ]);
    assert.deepEqual(changeClaims("  Added: 203.0.113.0/24"), ["  Added: 203.0.113.0/24"]);
    assert.deepEqual(changeClaims("it is now bound to the managed identity 'id'"), ["it is now bound to the managed identity 'id'"]);
    assert.deepEqual(changeClaims("Dry run: nothing written. Nothing was written. A real run would turn it on; it would be created."), []);
  });
});
