import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface ServerCertificate {
  cert: string;
  key: string;
  /** PEM file to hand to child processes as NODE_EXTRA_CA_CERTS. */
  caCertPath: string;
  dispose(): Promise<void>;
}

/**
 * A self-signed certificate made at start, acting as its own CA, for loopback, Key Vault hosts and
 * the public cloud's ARM and Entra hosts (the host preload sends those names to loopback).
 */
export async function createServerCertificate(): Promise<ServerCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 3600_000);
  const pems = await generate([{ name: "commonName", value: "Local Azure" }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
          { type: 2, value: "*.vault.azure.net" },
          // The clusters' API servers (`<dnsPrefix>-<hash>.hcp.<region>.azmk8s.io`) in the local Azure's
          // region: their kubeconfig names this certificate as the cluster's CA.
          { type: 2, value: "*.hcp.westeurope.azmk8s.io" },
          // Answered as the public cloud's hosts when the local Azure poses as them (publicCloudHosts).
          { type: 2, value: "management.azure.com" },
          { type: 2, value: "login.microsoftonline.com" },
        ],
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), "local-azure-"));
  const caCertPath = join(dir, "ca.pem");
  await writeFile(caCertPath, pems.cert);
  return { cert: pems.cert, key: pems.private, caCertPath, dispose: () => rm(dir, { recursive: true, force: true }) };
}
