import * as http from "node:http";
import * as https from "node:https";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { formatDuration } from "../../core/wait-budget";
import { proxyFor } from "../../core/connection";
import { CONSISTENT_ANSWERS, waitUntilAdmitted } from "../../core/job-scoped-access/wait";

export interface ApiServerWait {
  /** The API server's public FQDN (the cluster's `fqdn`). */
  fqdn: string;
  /** The agent's addresses that were authorized, for the failure message. */
  addresses: readonly string[];
  /** Give up after this long. */
  timeoutMs: number;
  /** One probe's limit: a blocked address gets no answer at all, so this is what "not yet" looks like. */
  probeTimeoutMs: number;
  /** What the failure names, e.g. "managed cluster 'aks-1' in resource group 'rg'". */
  cluster: string;
}

type ProbeAnswer = { answered: true; status: number } | { answered: false; reason: string };

/**
 * Waits until the API server answers this agent consistently. AKS applies a change of authorized IP
 * ranges some time after the write completes (about two minutes at most, as the AKS docs are cited
 * for: https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges); until then the agent's
 * packets are dropped and a client sees a connect timeout ("dial tcp …:443: i/o timeout", in
 * https://learn.microsoft.com/azure/architecture/operator-guides/aks/troubleshoot-network-aks).
 * The probe is an anonymous HTTPS GET: any HTTP answer (401 anonymously) means the traffic gets
 * through. Returns how long it waited.
 */
export function waitForApiServer(wait: ApiServerWait): Promise<{ waitedMs: number; probes: number }> {
  const addresses = wait.addresses.join(", ");
  return waitUntilAdmitted({
    target: `the API server ${wait.fqdn}`,
    timeoutMs: wait.timeoutMs,
    probeTimeoutMs: wait.probeTimeoutMs,
    consecutive: CONSISTENT_ANSWERS,
    probe: async (timeoutMs) => {
      const answer = await probe(wait.fqdn, timeoutMs);
      return answer.answered ? { admitted: true, detail: `HTTP ${answer.status}` } : { admitted: false, reason: answer.reason };
    },
    failure: ({ reason, probes, admitted, waitedMs }) =>
      admitted > 0
        ? `The agent's ${wait.addresses.length === 1 ? "IP" : "IPs"} ${addresses} ${wait.addresses.length === 1 ? "is" : "are"} authorized on ${wait.cluster}, but its API server ${wait.fqdn} answered only ${admitted} of ${probes} connections within ${formatDuration(waitedMs)} (last: ${reason}): the agent's traffic also leaves from an address that was not found. ` +
          `Raise the pipeline variable AksHardening.AgentIpLookups so more lookups find it, or give the agent a fixed outbound address (a NAT gateway, a self-hosted agent).`
        : `The agent's ${wait.addresses.length === 1 ? "IP" : "IPs"} ${addresses} ${wait.addresses.length === 1 ? "is" : "are"} authorized on ${wait.cluster}, but not yet effective: its API server ${wait.fqdn} did not answer this agent within ${formatDuration(wait.timeoutMs)} (${probes} probes; last: ${reason}). ` +
          `AKS can take a few minutes to apply authorized IP ranges: raise waitForApiServerSeconds, and check that the agent's traffic leaves from that address (agentIpServiceUrl) and that its proxy lets it reach ${wait.fqdn}:443.`,
  });
}

/** One anonymous `GET /healthz`, through the agent's proxy when it has one. */
async function probe(fqdn: string, timeoutMs: number): Promise<ProbeAnswer> {
  const sockets: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ProbeAnswer>((resolve) => {
    timer = setTimeout(() => resolve({ answered: false, reason: `no answer within ${formatDuration(timeoutMs)}` }), timeoutMs);
  });
  try {
    return await Promise.race([timedOut, exchange(fqdn, sockets)]);
  } catch (error) {
    return { answered: false, reason: (error as Error).message || String(error) };
  } finally {
    clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
  }
}

async function exchange(fqdn: string, sockets: Socket[]): Promise<ProbeAnswer> {
  const tunnel = await openTunnel(fqdn, sockets);
  // The API server's certificate is signed by the cluster's own CA, which an anonymous caller does
  // not have; nothing is sent but this GET, so an unverified answer is enough to show reachability.
  const socket = tls.connect({
    ...(tunnel ? { socket: tunnel } : { host: fqdn, port: 443 }),
    servername: fqdn,
    rejectUnauthorized: false,
  });
  sockets.push(socket);
  return new Promise<ProbeAnswer>((resolve, reject) => {
    let head = "";
    socket.setEncoding("latin1");
    socket.on("secureConnect", () => socket.write(`GET /healthz HTTP/1.1\r\nHost: ${fqdn}\r\nAccept: */*\r\nConnection: close\r\n\r\n`));
    socket.on("data", (chunk: string) => {
      head += chunk;
      const line = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (line) resolve({ answered: true, status: Number(line[1]) });
      else if (head.includes("\r\n") || head.length > 1024) reject(new Error("an answer that is not HTTP"));
    });
    socket.on("error", (error) => reject(error));
    socket.on("close", () => reject(new Error("connection closed without an answer")));
  });
}

/** A CONNECT tunnel through the agent's proxy, or undefined to connect directly. */
async function openTunnel(fqdn: string, sockets: Socket[]): Promise<Socket | undefined> {
  const proxy = proxyFor(`https://${fqdn}/`);
  if (!proxy) return undefined;
  const proxyUrl = new URL(`${proxy.host}:${proxy.port}`);
  const headers: Record<string, string> = { host: `${fqdn}:443` };
  if (proxy.username) {
    headers["proxy-authorization"] = `Basic ${Buffer.from(`${proxy.username}:${proxy.password ?? ""}`).toString("base64")}`;
  }
  const request = (proxyUrl.protocol === "https:" ? https : http).request({
    host: proxyUrl.hostname,
    port: proxy.port,
    method: "CONNECT",
    path: `${fqdn}:443`,
    headers,
    agent: false,
  });
  return new Promise<Socket>((resolve, reject) => {
    request.on("connect", (response: http.IncomingMessage, socket: Socket) => {
      sockets.push(socket);
      // A proxy that cannot reach a blocked address answers 502/504 once its own connect times out.
      if (response.statusCode === 200) resolve(socket);
      else reject(new Error(`the proxy answered ${response.statusCode ?? "?"} to CONNECT ${fqdn}:443`));
    });
    request.on("socket", (socket: Socket) => sockets.push(socket));
    request.on("error", reject);
    request.end();
  });
}
