import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * One raw HTTP(S) request from a test process to the local Azure, trusting `ca`. With `connectTo` the
 * connection goes there (the local Azure's port) while the URL's host stays the TLS server name and
 * the Host header, as for an API server's or a vault's own name.
 */
export function rawCall(
  url: string,
  p: { method: string; headers?: Record<string, string>; body?: string; ca?: string | Buffer; connectTo?: { host: string; port: number } },
): Promise<RawAnswer> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const send = secure ? httpsRequest : httpRequest;
  const where = p.connectTo
    ? { host: p.connectTo.host, port: p.connectTo.port, path: `${target.pathname}${target.search}`, servername: target.hostname }
    : { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}` };
  return new Promise((resolve, reject) => {
    const req = send(
      {
        ...where,
        method: p.method,
        headers: { ...(p.connectTo ? { host: target.host } : {}), ...p.headers },
        ...(secure && p.ca ? { ca: p.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(p.body);
  });
}
