import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { apiServerHostProblem } from "../../core/api-server-host";

describe("test/unit/api-server-host", () => {
  it("an API server host under the connection's cloud's AKS domain may be probed, in each cloud", () => {
    assert.equal(apiServerHostProblem("aks-prod-dns-1a2b3c4d.hcp.westeurope.azmk8s.io", "AzureCloud"), undefined);
    assert.equal(apiServerHostProblem("AKS-1.HCP.EASTUS.AZMK8S.IO", undefined), undefined, "no environment: the public cloud");
    assert.equal(apiServerHostProblem("aks-1.hcp.chinaeast2.cx.prod.service.azk8s.cn", "AzureChinaCloud"), undefined);
    assert.equal(apiServerHostProblem("aks-1.hcp.usgovvirginia.cx.aks.containerservice.azure.us", "AzureUSGovernment"), undefined);
  });

  it("any other host is named and not probed: another cloud's domain, a look-alike, a domain of its own", () => {
    for (const [fqdn, environment] of [
      ["aks-1.hcp.westeurope.azmk8s.io", "AzureChinaCloud"],
      ["aks-1.hcp.chinaeast2.cx.prod.service.azk8s.cn", "AzureCloud"],
      ["aks-1.hcp.westeurope.azmk8s.io.evil.example", "AzureCloud"],
      ["evilazmk8s.io", "AzureCloud"],
      ["azmk8s.io", "AzureCloud"],
      ["api.evil.example", "AzureCloud"],
    ] as const) {
      assert.match(
        apiServerHostProblem(fqdn, environment) ?? "",
        new RegExp(`reports the API server FQDN '${fqdn.replace(/\./g, "\\.")}', which is not under`),
      );
    }
    assert.match(
      apiServerHostProblem("aks-1.local.azurestack.external", "AzureStack") ?? "",
      /cloud 'AzureStack', whose AKS API server domain the task does not know/,
    );
  });

  it("an FQDN that is not a host name is neither probed nor echoed", () => {
    for (const fqdn of [
      undefined,
      "",
      "##vso[task.setvariable variable=x]y",
      "aks-1.hcp.westeurope.azmk8s.io.",
      "a b.azmk8s.io",
      "127.0.0.1:443",
    ]) {
      assert.equal(apiServerHostProblem(fqdn, "AzureCloud"), "reports no usable API server FQDN", String(fqdn));
    }
  });
});
