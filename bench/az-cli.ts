/**
 * The Azure CLI pointed at the local Azure: Debian's `azure-cli` (installed here when missing), a
 * registered cloud whose endpoints are the local Azure, a service-principal login, and a loopback
 * CONNECT proxy (HTTPS_PROXY) for the two hosts az reaches outside the cloud's endpoints: MSAL's
 * instance discovery on login.microsoftonline.com (terminated here with a certificate of our own and
 * answered by the local Azure's discovery route) and `<vault>.vault.azure.net` (tunnelled to the local
 * Azure, whose certificate covers it). Any other host is refused and recorded.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";
import type { LocalAzure } from "../local-azure/index";
import { tunnel } from "../test/harness/proxy";
import { timedSpawn, type Spawned } from "./measure";

const DISCOVERY_HOST = "login.microsoftonline.com";
const VAULT_HOST = /^[a-z0-9-]+\.vault\.azure\.net$/i;

/** `az` on PATH, installing Debian's package when missing; otherwise the reason it cannot be had. */
export function ensureAzureCli(log: (line: string) => void): { version: string } | { skipped: string } {
  const probe = () => spawnSync("az", ["version", "-o", "json"], { encoding: "utf8", timeout: 60_000 });
  let found = probe();
  if (found.status !== 0) {
    if (process.getuid?.() !== 0)
      return { skipped: "az is not installed and this process is not root, so it cannot apt-get install azure-cli" };
    log("  installing Debian's azure-cli (apt-get) …");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    let install = spawnSync("apt-get", ["install", "-y", "azure-cli"], { encoding: "utf8", env, timeout: 900_000 });
    if (install.status !== 0) {
      spawnSync("apt-get", ["update"], { encoding: "utf8", env, timeout: 300_000 });
      install = spawnSync("apt-get", ["install", "-y", "azure-cli"], { encoding: "utf8", env, timeout: 900_000 });
    }
    if (install.status !== 0)
      return { skipped: `apt-get install azure-cli failed: ${(install.stderr || install.stdout).trim().split("\n").pop()}` };
    found = probe();
    if (found.status !== 0) return { skipped: `az does not run after install: ${found.stderr.trim().split("\n").pop()}` };
  }
  try {
    return { version: (JSON.parse(found.stdout) as Record<string, string>)["azure-cli"] ?? "unknown" };
  } catch {
    return { version: "unknown" };
  }
}

/** The loopback proxy az is pointed at with HTTPS_PROXY. */
export class AzProxy {
  readonly refused: string[] = [];
  readonly discoveryRequests: string[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(azure: LocalAzure, certificate: { cert: string; key: string }): Promise<AzProxy> {
    const localCa = fs.readFileSync(azure.caCertPath, "utf8");
    // Requests for the discovery host, after TLS is terminated here: re-sent to the local Azure.
    const discovery = http.createServer((req, res) => {
      proxy.discoveryRequests.push(`${req.method} ${req.url}`);
      const upstream = https.request(
        {
          host: "127.0.0.1",
          port: azure.httpsPort,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: `127.0.0.1:${azure.httpsPort}` },
          ca: localCa,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    const server = http.createServer((_req, res) => res.writeHead(405).end("only CONNECT"));
    const url = await new Promise<string>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
    );
    const proxy = new AzProxy(server, url);
    server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      proxy.sockets.add(client);
      client.on("close", () => proxy.sockets.delete(client));
      client.on("error", () => client.destroy());
      const [host = "", port = "443"] = (req.url ?? "").split(":");
      if (host.toLowerCase() === DISCOVERY_HOST) {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length > 0) client.unshift(head);
        const secure = new tls.TLSSocket(client, { isServer: true, cert: certificate.cert, key: certificate.key });
        secure.on("error", () => client.destroy());
        discovery.emit("connection", secure);
        return;
      }
      // Only loopback: vault hosts go to the local Azure, loopback targets to themselves.
      const target = VAULT_HOST.test(host)
        ? { host: "127.0.0.1", port: azure.httpsPort }
        : host === "127.0.0.1" || host === "localhost"
          ? { host: "127.0.0.1", port: Number(port) }
          : undefined;
      if (!target) {
        proxy.refused.push(req.url ?? "");
        client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
        return;
      }
      tunnel(client, head, target);
    });
    return proxy;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

export interface AzSession {
  /** The environment that points `az` at the local Azure, signed in (its config dir, CA bundle and proxy). */
  env: NodeJS.ProcessEnv;
  /** The `az login` arguments, for a script that signs in as its first step. */
  login: string[];
  run(args: string[]): Promise<Spawned & { args: string[] }>;
  proxy: AzProxy;
  close(): Promise<void>;
}

/** Registers the local Azure as a cloud in a private config dir, signs in as the service principal. */
export async function startAzSession(azure: LocalAzure, servicePrincipal: { clientId: string; clientSecret: string }): Promise<AzSession> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-az-"));
  const pems = await generate([{ name: "commonName", value: DISCOVERY_HOST }], {
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: DISCOVERY_HOST }] },
    ],
  });
  const bundle = path.join(dir, "ca-bundle.pem");
  fs.writeFileSync(bundle, `${fs.readFileSync(azure.caCertPath, "utf8")}\n${pems.cert}\n`);
  const proxy = await AzProxy.start(azure, { cert: pems.cert, key: pems.private });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: "C.UTF-8",
    AZURE_CONFIG_DIR: path.join(dir, "config"),
    AZURE_EXTENSION_DIR: path.join(dir, "extensions"),
    AZURE_CORE_COLLECT_TELEMETRY: "false",
    AZURE_CORE_ONLY_SHOW_ERRORS: "true",
    AZURE_CORE_NO_COLOR: "true",
    AZURE_CORE_SURVEY_MESSAGE: "false",
    REQUESTS_CA_BUNDLE: bundle,
    HTTPS_PROXY: proxy.url,
    https_proxy: proxy.url,
    NO_PROXY: "127.0.0.1,localhost",
    no_proxy: "127.0.0.1,localhost",
  };
  const run = async (args: string[]) => ({ ...(await timedSpawn("az", args, env, dir, 180_000)), args });
  const must = async (args: string[]) => {
    const r = await run(args);
    if (r.exitCode !== 0) throw new Error(`az ${args.join(" ")} failed (${r.exitCode}): ${r.stderr.trim()}`);
    return r;
  };
  await must([
    "cloud",
    "register",
    "-n",
    "LocalAzure",
    "--endpoint-resource-manager",
    `${azure.url}/`,
    "--endpoint-active-directory",
    azure.url,
    "--endpoint-active-directory-resource-id",
    azure.armAudience,
    // Set so that az does not ask the ARM URL for /metadata/endpoints (the local Azure has none).
    "--endpoint-active-directory-graph-resource-id",
    "https://graph.windows.net/",
    "--suffix-keyvault-dns",
    ".vault.azure.net",
  ]);
  await must(["cloud", "set", "-n", "LocalAzure"]);
  const login = [
    "login",
    "--service-principal",
    "-u",
    servicePrincipal.clientId,
    "-p",
    servicePrincipal.clientSecret,
    "--tenant",
    azure.tenantId,
  ];
  await must(login);
  await must(["account", "set", "-s", azure.subscriptionId]);
  return {
    env,
    run,
    login,
    proxy,
    close: async () => {
      await proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
