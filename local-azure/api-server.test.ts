import assert from "node:assert/strict";
import * as tls from "node:tls";
import { after, before, describe, it } from "mocha";
import { startLocalAzure, type LocalAzure } from "./index";

describe("local-azure/api-server", () => {
  let az: LocalAzure;

  before(async () => {
    az = await startLocalAzure();
  });
  after(async () => {
    await az?.close();
  });

  /** Connects to a cluster's API server as the agent would (its FQDN as the server name) and sends an anonymous GET. */
  function connect(fqdn: string): { socket: tls.TLSSocket; status: Promise<number> } {
    const socket = tls.connect({ host: "127.0.0.1", port: az.httpsPort, servername: fqdn, rejectUnauthorized: false });
    const status = new Promise<number>((resolve, reject) => {
      let head = "";
      socket.on("secureConnect", () => socket.write(`GET /healthz HTTP/1.1\r\nHost: ${fqdn}\r\nConnection: close\r\n\r\n`));
      socket.setEncoding("latin1").on("data", (chunk: string) => {
        head += chunk;
        const line = /^HTTP\/1\.1 (\d{3})/.exec(head);
        if (line) resolve(Number(line[1]));
      });
      socket.on("error", reject);
    });
    return { socket, status };
  }

  /** Resolves once the endpoint has dropped `count` connection attempts in all (no clock involved). */
  async function dropped(fqdn: string, count: number): Promise<void> {
    while ((az.apiServers.blocked.get(fqdn) ?? 0) < count) await new Promise((resolve) => setImmediate(resolve));
  }

  function cluster(name: string, ranges: string[]) {
    const created = az.store.addManagedCluster("rg-api", name, { properties: { apiServerAccessProfile: { authorizedIPRanges: ranges } } });
    return { created, fqdn: String(created.properties!["fqdn"]).toLowerCase() };
  }

  function write(created: ReturnType<typeof cluster>["created"], ranges: string[]): void {
    az.apiServers.beforeWrite(az.store.get(created.id)!);
    az.store.put({
      ...az.store.get(created.id)!,
      properties: { ...created.properties, apiServerAccessProfile: { authorizedIPRanges: ranges } },
    });
  }

  it("answers an admitted agent anonymously with 401, as an AKS API server does", async () => {
    az.publicIp = "203.0.113.10";
    const { fqdn } = cluster("aks-open", ["203.0.113.0/24"]);
    const { socket, status } = connect(fqdn);
    assert.equal(await status, 401);
    socket.destroy();
  });

  it("drops the agent's connections until a newly written list has seen its count of dropped attempts, then admits it", async () => {
    az.publicIp = "198.51.100.50";
    az.apiServers.propagationProbes = 2;
    try {
      const { created, fqdn } = cluster("aks-late", ["10.0.0.0/8"]);
      write(created, ["10.0.0.0/8", "198.51.100.50/32"]);
      assert.equal(az.apiServers.admitsAgent(fqdn), false, "written, not yet in force");
      for (const attempt of [1, 2]) {
        const { socket } = connect(fqdn);
        await dropped(fqdn, attempt);
        socket.destroy();
      }
      const { socket, status } = connect(fqdn);
      assert.equal(await status, 401);
      socket.destroy();
      assert.equal(az.apiServers.admitsAgent(fqdn), true);
    } finally {
      az.apiServers.propagationProbes = 0;
    }
  });

  it("an address outside the list in force is never admitted; 0.0.0.0/32 stands for the cluster's own outbound IP, not the agent", async () => {
    az.publicIp = "198.51.100.51";
    const { fqdn } = cluster("aks-closed", ["0.0.0.0/32", "192.0.2.0/24"]);
    const { socket } = connect(fqdn);
    await dropped(fqdn, 1);
    socket.destroy();
    assert.equal(az.apiServers.admitsAgent(fqdn), false);
  });
});
