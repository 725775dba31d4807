// A mocha reporter for the reliability matrices. Tests are named `<Task> × <column>[ — <detail>]`;
// this groups them by task and column into one markdown table: cells passed / total and the worst-case
// duration, "n/a" (with the reason) where a cell does not apply. It also counts the runs the secret
// scan covered (every packaged-task run of every test). The table goes to the file named by the
// reporter option `output` (`--reporter-option output=docs/reliability.md`); the console gets mocha's
// spec reporter. Tests of the hostile-data files are named `<what was tried> → <what the task did>`
// and become the "Hostile data" table, one row per name (the same name in several suites — e.g. one
// per connection scheme — counts each run).
import { writeFileSync } from "node:fs";
import Mocha from "mocha";
import { FAULT_COLUMNS as FAULTS, NOT_APPLICABLE_PREFIX, OTHER_COLUMNS as OTHERS, TASKS } from "../test/reliability/columns.mjs";

const NAME = /^(\w+) × (.+?)(?: — (.+))?$/;
const HOSTILE_FILE = /(hostile-data|debug-secrets)\.test\.ts$/;
const HOSTILE_NAME = /^(.+?) → (.+)$/;
const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;

export default class ReliabilityReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const output = options?.reporterOptions?.output ?? "docs/reliability.md";
    const cells = new Map();
    const properties = { passed: 0, total: 0 };
    const hostile = new Map();
    const record = (test, outcome) => {
      if (HOSTILE_FILE.test(test.file ?? "")) {
        const match = HOSTILE_NAME.exec(test.title);
        if (!match || outcome === "pending") return;
        const row = hostile.get(test.title) ?? { tried: match[1], did: match[2], passed: 0, total: 0 };
        row.total++;
        if (outcome === "pass") row.passed++;
        hostile.set(test.title, row);
        return;
      }
      if (/no-data-lost\.property/.test(test.file ?? "")) {
        if (outcome === "pending") return;
        properties.total++;
        if (outcome === "pass") properties.passed++;
        return;
      }
      let title = test.title;
      let na;
      const at = title.indexOf(` ${NOT_APPLICABLE_PREFIX}`);
      if (at >= 0) {
        na = title.slice(at + NOT_APPLICABLE_PREFIX.length + 1, -1);
        title = title.slice(0, at);
      }
      const match = NAME.exec(title);
      if (!match) return;
      const [, task, column] = match;
      const key = `${task}|${column}`;
      const cell = cells.get(key) ?? { passed: 0, total: 0, worstMs: 0, na: undefined, failures: [] };
      if (outcome === "pending") {
        if (na) cell.na = na;
      } else {
        cell.total++;
        if (outcome === "pass") cell.passed++;
        else cell.failures.push(title);
        cell.worstMs = Math.max(cell.worstMs, test.duration ?? 0);
      }
      cells.set(key, cell);
    };
    runner.on(EVENT_TEST_PASS, (test) => record(test, "pass"));
    runner.on(EVENT_TEST_FAIL, (test) => record(test, "fail"));
    runner.on(EVENT_TEST_PENDING, (test) => record(test, "pending"));
    runner.once(EVENT_RUN_END, () => writeFileSync(output, render(cells, properties, [...hostile.values()])));
  }
}

function render(cells, properties, hostile) {
  const notes = [];
  const show = (task, column) => {
    const cell = cells.get(`${task}|${column}`);
    if (!cell) return "—";
    if (cell.total === 0 && cell.na) {
      let index = notes.indexOf(cell.na);
      if (index < 0) index = notes.push(cell.na) - 1;
      return `n/a ${String.fromCharCode(97 + index)}`;
    }
    const mark = cell.passed === cell.total ? "✅" : "❌";
    return `${mark} ${cell.passed}/${cell.total} · ${(cell.worstMs / 1000).toFixed(1)} s`;
  };
  const table = (columns) => [
    `| Task | ${columns.join(" | ")} |`,
    `| --- | ${columns.map(() => "---").join(" | ")} |`,
    ...TASKS.map((task) => `| \`${task}@1\` | ${columns.map((column) => show(task, column)).join(" | ")} |`),
  ];
  let passed = 0;
  let total = 0;
  const failures = [];
  for (const cell of cells.values()) {
    passed += cell.passed;
    total += cell.total;
    failures.push(...cell.failures);
  }
  const lines = [
    "# Reliability matrices",
    "",
    "Written by `npm run test:reliability` (the packaged tasks against the local Azure). Each entry: cells passed / total · worst-case duration of one cell (one packaged-task run, retries and waits included; the tests pause 10 ms between tries, `AksHardening.RetryDelaySeconds` 0.01, and honour every `Retry-After` the cell sends). A task with several routes counts one cell per route the fault was injected on.",
    "",
    `**${passed}/${total} cells passed**${failures.length ? ` — failed: ${failures.map((f) => `\`${f}\``).join(", ")}` : ""}.`,
    "",
    "## Faults",
    "",
    ...Array.from({ length: Math.ceil(FAULTS.length / 5) }, (_, i) => [...table(FAULTS.slice(i * 5, i * 5 + 5)), ""]).flat(),
    ...notes.map((note, i) => `${String.fromCharCode(97 + i)}. Not applicable: ${note}.`),
    "",
    "## Answers of real Azure the tasks were not first written for",
    "",
    "Each is modelled in the local Azure with its source in a comment, and each spell ends by events the cell controls (refused writes, authorization checks), never by elapsed time.",
    "",
    "- **409 EtagMismatch**: AKS's other answer to a write that meets a running operation (\"Another operation (Updating) is in progress\", sent without ARM's `error` envelope; Azure/terraform-azurerm-aks#354, #604, terraform-provider-azapi#889). Waited for like 409 OperationNotAllowed: wait, re-read, re-plan, bounded by `AksHardening.ClusterBusyTimeoutSeconds`.",
    "- **409 cluster busy, answer lost**: a write lands, its answer is lost, and the pipeline's retry meets the operation that write started. The task waits, re-reads, finds its change and reports `changed=true`.",
    "- **409 ObjectIsBeingRecovered**: right after a recovery Key Vault refuses writes of the secret for a while (azure-sdk-for-net#31581, terraform-provider-azurerm#12285). Written again with back-off (1 s, 2 s, 4 s … at most 2 min), each wait logged.",
    "- **403 ForbiddenByFirewall**: the vault's network rules do not admit the agent's address. The error says so, names the address Key Vault saw and how to allow it; it is not reported as a missing permission (nor is 403 SecretDisabled, a disabled secret).",
    "- **400 UnmatchedPrincipalType**: ARM checks a sent `principalType` against the directory. The tasks send `ServicePrincipal` only for managed identities they read from ARM and no type for an object ID of unknown kind (a user, a group, an app), so users and groups can be granted on RBAC vaults.",
    '- **late propagation**: the Managed Identity Operator grant `EnablePodIdentity@1` makes is not yet in effect when AKS checks it; AKS refuses the cluster write with 400 "Cluster identity has no assignment permission over identity …" (Azure/AKS#2943) or reports the pod identity Failed. It is written again after a growing pause (5 s, 10 s …, at most 5 min) until AKS reports it Assigned. For `RestrictApiServer@1` it is the delay of the authorized ranges: the address of the agent is written, but the API server drops its connections for a while (AKS docs: up to two minutes); the task probes the API server until it answers the agent (`waitForApiServerSeconds`), and the post-job step closes the address again. For `SecureClusterAccess@1` it is the pipeline\'s own new grant, which the API server does not allow yet: it is asked again (SelfSubjectAccessReview) until it does, within `AksHardening.RoleAssignmentWaitSeconds`. For `ProtectKeyVault@1` it is the list of role assignments right after its grant, which can come from a Resource Manager replica that has not seen it yet (Azure/azure-cli#20727): the vault is switched to Azure RBAC only once the grant is listed, and past the wait nothing that depends on it is changed.',
    "- **a private endpoint that did not come up**: the operation of `ProtectKeyVault@1`'s private endpoint or DNS zone group ends Failed or Canceled in Azure. The step fails with one line saying so and what to do, public access stays on, and the re-run writes the endpoint (or zone group) again rather than counting what exists as in place.",
    "- **a vault closed to the agent**: after `ProtectKeyVault@1` sets the firewall to deny by default, a pipeline agent outside the allowed addresses gets 403 ForbiddenByFirewall; `KeyVaultSecrets@1` with `includeAgentIp` opens the firewall to its agent for the job, writes, and its post-job step closes it again, leaving the protected rules as they were (test/tasks/protect-key-vault.test.ts).",
    '- **400 forbidden range**: Key Vault refuses a private (RFC 1918) range in an IP rule ("… belongs to forbidden range 10.0.0.0–10.255.255.255 (private IP addresses)", Azure/azure-powershell#11471). `ProtectKeyVault@1` refuses such an `allowedIpRanges` entry before any write and names allowClusters (a virtual network rule) or a private endpoint as the way to admit that network.',
    "- **400 ResourceIdentityRequired**: ARM refuses an assignment whose policies `Modify` or `DeployIfNotExists` unless it carries a managed identity (Azure/azure-powershell#11996, Azure/azure-cli#13150, hashicorp/terraform-provider-azurerm#4950). `AssignAksPolicies@1` reads a custom definition's rule (and a custom initiative's members) and sends a system-assigned identity with the cluster's location; the summary names the roles the identity needs (test/tasks/assign-aks-policies.test.ts).",
    "- **a failed read beside the cluster's**: `AksHardeningReport@1` makes only the checks fed by a refused or failed upgrade-profile, versions, policy or policy-states read unknown, with Azure's reason, and still publishes the scorecard (test/tasks/aks-hardening-report.test.ts).",
    "- **several egress addresses**: a Microsoft-hosted agent's connections leave from more than one public address, so the one an IP-echo service reported is not always the next one's (MicrosoftDocs/azure-devops-docs#7844, Azure/AKS#4849, MicrosoftDocs/azure-docs#68469). Modelled as an agent whose connections alternate between addresses: `includeAgentIp` looks the address up over several connections, opens every one seen and waits for three answers in a row; with one lookup the wait fails saying the agent also leaves from an address not found.",
    "- **a vault's firewall, late**: a vault applies a change of its IP rules a while after the update returns (Azure-Samples/azuresandbox#176, liprec/vsts-release-aas#40); until then the data plane answers 403 ForbiddenByFirewall. `KeyVaultSecrets@1` with `includeAgentIp` probes the data plane until it admits the agent three times in a row (`AksHardening.KeyVaultFirewallWaitSeconds`).",
    "- **no eTag on a vault**: two updates of a vault's IP rules at once, and the later one drops the earlier one's rule. The job reads the vault again after its update and puts back the address of every running job; `ProtectKeyVault@1` reads it again after its update and writes back the rules it added that another update dropped (concurrency table below).",
    "",
    "## Job-scoped access: threat model",
    "",
    "`includeAgentIp` opens a firewall (an API server's authorized ranges, a vault's IP rules) for one job and closes it after; the record of what was opened for which job (the holds) decides what later runs close or keep. The design, and where the record lives and why, is in [job-scoped-access.md](job-scoped-access.md).",
    "",
    "| Who | Can | Cannot, and why |",
    "| --- | --- | --- |",
    "| someone who may write tags (Tag Contributor: `Microsoft.Resources/tags/*`, `Microsoft.Resources/deployments/*`, reads) | write any tag, read every hold | make a run close or keep an address, or change a scorecard verdict: holds are resource links (`Microsoft.Resources/links/write`, not in the role); every entry of the tag 1.1.0 used is named in a warning and ignored (tested below, and by the scorecard in test/tasks/aks-hardening-report.test.ts) |",
    "| someone who may read (Reader) | read holds: an address, an 8-digit hash of agent and job, an end time | write them |",
    "| someone with `Microsoft.Resources/links/write` on the resource (Owner, Contributor, a custom role) | write a hold | make it cover more than one public address (`/32`) or last longer than a job can (7 days 5 minutes): anything else under the prefix is untrusted; Owner and Contributor could change the firewall itself anyway |",
    "| a hostile IP-echo service | answer any text | open a private, loopback, link-local, CGNAT, multicast, reserved or 0.0.0.0 address, or more than 4 addresses: refused before any write; its answer is bounded to 256 bytes and must come over https |",
    "| a concurrent job, from the same address or not | write its own hold and the list | close an address another running job holds, or leave one open for good: holds before lists, release before reading, a second look after every unconditioned write |",
    "| a job or post-job step that dies half-way | leave a hold released or past its timeout | leave an address no hold accounts for: the next run on the resource closes it in its own write |",
    "",
    "## Bad inputs, concurrency",
    "",
    ...table(OTHERS),
    "",
    "A bad input fails before any write with a message that starts with the input's name. Concurrent runs: two runs against one resource at once; both changes are there afterwards. Outside change: someone else writes between the task's read and its write (for `RestrictApiServer@1` that is the 412 column above).",
    "",
    `## No data lost (property-based, fast-check)`,
    "",
    `${properties.passed}/${properties.total} properties hold (random cluster, vault and policy state and random valid requests through every planner; each proves the task changes only what it owns and that applying twice equals applying once).`,
    "",
    "## Secrets",
    "",
    "Every packaged-task run of every test file (these matrices and the per-task tests) is scanned as it ends: no output line and no job summary may hold the client secret, the certificate key, System.AccessToken, a secret variable, a value the run registered as secret, or any access or OIDC token the local Azure issued. A leak fails the test that made the run.",
    "",
    "## Missing permissions",
    "",
    "Before its first write each writing task reads the service connection's own permissions where it writes (docs/permission-check.md). The per-task tests give a connection one role short of what the run needs and see the run refused before any write, naming the action, the scope and the roles that have it: `EnablePodIdentity@1` and `SecureClusterAccess@1` with Contributor (no role assignments), `AssignAksPolicies@1` with Contributor (no policy assignments; its dry run warns instead), `ConfigureAutoUpgrade@1` without `maintenanceConfigurations/write`, `EnableDefender@1` without `Microsoft.Security/pricings/write` (its dry run warns instead). A connection that may not read its own permissions (403) is told so and goes on; a compliant re-run reads no permission at all.",
    "",
    "## Held to the REST specs",
    "",
    "Every request the packaged tasks' Azure clients send in every test file (these matrices and the per-task tests; ARM and the Key Vault data plane), and every answer the local Azure gives it, is checked with oav against the REST spec contracts in test/contracts when the file ends: an exchange off spec, or a request that matches no operation of its api-version, fails the file. Only the differences listed with public evidence in test/contracts/known-differences.ts are tolerated; test/contracts/contracts.test.ts injects errors into copies of recorded exchanges to prove they are caught.",
    "",
    "## Hostile data",
    "",
    "Text from inputs and from Azure fed to the packaged tasks (test/tasks/hostile-data.test.ts, test/tasks/debug-secrets.test.ts). The agent runs a logging command found anywhere in a line of output; the job summary renders markdown and HTML. \"No command but its own\": every `##vso[` in the output starts one of task-lib's commands at the start of a line, `setvariable` only names the task's outputs, and no `##[` appears.",
    "",
    "| Tried | What the task did | Runs |",
    "| --- | --- | --- |",
    ...hostile.map(
      (row) => `| ${cell(row.tried)} | ${cell(row.did)} | ${row.passed === row.total ? "✅" : "❌"} ${row.passed}/${row.total} |`,
    ),
    "",
    "Behind these: every task.json allows `setvariable` for its own outputs only (`restrictions.settableVariables`, checked by the task.json lint), so a command that still slipped through could set nothing else; `npm run publish` hands the Marketplace token to tfx on standard input, never in a command line nor in any child process's environment (test/extension/publish.test.ts); every task exits non-zero when it fails, so a result line the agent cannot read never turns a failure into a success (the fixture checks the exit code against the result on every run).",
    "",
  ];
  return lines.join("\n");
}

/** A test name as a table cell: its markup shows as typed. */
function cell(text) {
  return text.replace(/[\\`*_[\]|<>#]/g, "\\$&");
}
