import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";

/** Answers a CONNECT: opens the target, says so, and pipes both ways until either side ends. */
export function tunnel(client: net.Socket, head: Buffer, target: { host: string; port: number }): void {
  const upstream = net.connect(target.port, target.host, () => {
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", () => client.destroy());
  client.on("error", () => upstream.destroy());
  client.on("close", () => upstream.destroy());
}

/** A forward proxy on loopback that tunnels CONNECT requests and records their targets, as a corporate proxy would see them. */
export class RecordingProxy {
  readonly tunnels: string[] = [];
  /** The Proxy-Authorization header of each CONNECT ("" when none was sent). */
  readonly authorizations: string[] = [];
  /** Tunnelled sockets are no longer HTTP connections: close() must end them itself. */
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  /**
   * `route` stands in for the proxy's own name resolution: where a target outside loopback (an API
   * server's FQDN) really is. Without it, only loopback targets are tunnelled.
   */
  static async start(
    options: { route?: (host: string, port: number) => { host: string; port: number } | undefined } = {},
  ): Promise<RecordingProxy> {
    const server = http.createServer((_req, res) => {
      res.writeHead(405).end("only CONNECT");
    });
    const proxy = await new Promise<RecordingProxy>((resolve) => {
      server.listen(0, "127.0.0.1", () =>
        resolve(new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      );
    });
    server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      const target = req.url ?? "";
      proxy.tunnels.push(target);
      proxy.authorizations.push(req.headers["proxy-authorization"] ?? "");
      proxy.sockets.add(client);
      client.on("close", () => proxy.sockets.delete(client));
      const [host = "", port] = target.split(":");
      // Loopback targets, and what `route` places: the proxy never reaches beyond this machine.
      const routed = host === "127.0.0.1" || host === "localhost" ? { host, port: Number(port) } : options.route?.(host, Number(port));
      if (!routed) {
        client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
        return;
      }
      tunnel(client, head, routed);
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
