export declare const TASKS: readonly [
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
export declare const FAULT_COLUMNS: readonly [
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
];
export declare const OTHER_COLUMNS: readonly ["bad input", "concurrent runs", "outside change"];
export declare const NOT_APPLICABLE_PREFIX: "(not applicable: ";
