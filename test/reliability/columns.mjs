// The reliability matrices' rows and columns: shared by the tests (cells.ts) and the reporter that
// turns their results into the table (scripts/reliability-reporter.mjs), so the two cannot drift.
export const TASKS = [
  "RestrictApiServer",
  "EnablePodIdentity",
  "KeyVaultSecrets",
  "AssignAksPolicies",
  "ConfigureAutoUpgrade",
  "EnableDefender",
  "AksHardeningReport",
  "ProtectKeyVault",
  "SecureClusterAccess",
];

export const FAULT_COLUMNS = [
  "429 Retry-After",
  "500/503",
  "connection reset",
  "slow past timeout",
  "409 cluster busy",
  "412 stale If-Match",
  "LRO Failed",
  "LRO Canceled",
  "token endpoint down",
  "OIDC endpoint down",
  "409 EtagMismatch",
  "409 ObjectIsBeingRecovered",
  "403 ForbiddenByFirewall",
  "400 UnmatchedPrincipalType",
  "late propagation",
];

export const OTHER_COLUMNS = ["bad input", "concurrent runs", "outside change"];

/** A cell that does not apply is a pending test titled `<Task> × <column> (not applicable: <reason>)`. */
export const NOT_APPLICABLE_PREFIX = "(not applicable: ";
