import { readFileSync } from "node:fs";
import type { Fixture, ConnectionKind } from "./fixture";
import { rawCall, type RawAnswer } from "../../local-azure/test-support/raw-call";

/** The AKS Microsoft Entra server app (AKS docs, kubelogin-authentication.md): the API server's token audience. */
export const AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630";

export type { RawAnswer };

/**
 * What a deploy step after SecureClusterAccess@1 asks of Azure, as the service connection, when
 * local accounts are off (docs/tasks/SecureClusterAccess.md, "Deploy steps after it"):
 * `az aks get-credentials` reads the user kubeconfig (the API server and the CA that checks it),
 * `kubelogin convert-kubeconfig -l azurecli` makes kubectl present an Entra token for the AKS server
 * app from the step's own sign-in, and `kubectl auth can-i` sends a SelfSubjectAccessReview. Made
 * here with raw HTTPS requests to the local Azure (the demo and the tests run no az, kubelogin or
 * kubectl), each token registered with the fixture so that no output may show it.
 */
export class DeploySignIn {
  constructor(
    private readonly fx: Fixture,
    private readonly kind: ConnectionKind = "spnKey",
  ) {}

  /** One HTTPS request to the local Azure, addressed to `host` (an API server's FQDN) and checked against `ca`. */
  call(p: {
    method: string;
    host?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
    ca?: string;
  }): Promise<RawAnswer> {
    // The local Azure's certificate; for an API server, the CA its kubeconfig names.
    const ca = p.ca ?? readFileSync(this.fx.azure.caCertPath, "utf8");
    // An API server is reached by its own name (the TLS server name); Azure itself at the local address, which names no server.
    if (!p.host) return rawCall(`https://127.0.0.1:${this.fx.azure.httpsPort}${p.path}`, { ...p, ca });
    return rawCall(`https://${p.host}${p.path}`, { ...p, ca, connectTo: { host: "127.0.0.1", port: this.fx.azure.httpsPort } });
  }

  /** A token for `scope`, signed in as the connection's app (client secret), as az login in an AzureCLI@2 step would. */
  async token(scope: string): Promise<string> {
    const { endpoint } = this.fx.connection(this.kind);
    const answer = await this.call({
      method: "POST",
      path: `/${this.fx.azure.tenantId}/oauth2/v2.0/token`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: endpoint.parameters["serviceprincipalid"]!,
        client_secret: endpoint.parameters["serviceprincipalkey"]!,
        scope,
      }).toString(),
    });
    if (answer.status !== 200) throw new Error(`token for ${scope}: ${answer.status} ${answer.text}`);
    const token = (answer.json as { access_token: string }).access_token;
    this.fx.secrets.push(token);
    return token;
  }

  /** An ARM request as the connection (api-version of the managed clusters spec the local Azure serves). */
  async arm(method: string, path: string): Promise<RawAnswer> {
    const token = await this.token(`${this.fx.azure.armAudience}.default`);
    return this.call({ method, path: `${path}?api-version=2026-04-01`, headers: { authorization: `Bearer ${token}` } });
  }

  /** `az aks get-credentials`: the API server's host and the CA its kubeconfig names. */
  async userKubeconfig(clusterId: string): Promise<{ server: string; ca: string }> {
    const credential = await this.arm("POST", `${clusterId}/listClusterUserCredential`);
    if (credential.status !== 200) throw new Error(`listClusterUserCredential: ${credential.status} ${credential.text}`);
    const kubeconfig = Buffer.from((credential.json as { kubeconfigs: { value: string }[] }).kubeconfigs[0]!.value, "base64").toString();
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kubeconfig)![1]!, "base64").toString();
    return { server: new URL(/server: (\S+)/.exec(kubeconfig)![1]!).hostname, ca };
  }

  /** `kubectl auth can-i` through kubelogin: a SelfSubjectAccessReview with an Entra token for the AKS server app. */
  async canI(kubeconfig: { server: string; ca: string }, attributes: Record<string, string>): Promise<RawAnswer> {
    const token = await this.token(`${AKS_SERVER_APP}/.default`);
    return this.call({
      method: "POST",
      host: kubeconfig.server,
      path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      ca: kubeconfig.ca,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: attributes },
      }),
    });
  }
}
