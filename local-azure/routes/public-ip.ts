import type { Route } from "../http";
import type { AgentEgress } from "../egress";

/** Stands in for https://api.ipify.org: the address the request's connection leaves from, as text/plain. */
export function publicIpRoutes(egress: AgentEgress): Route[] {
  return [
    { method: "GET", path: "/ip", handler: (ctx) => ({ status: 200, body: egress.addressOf(ctx.connection), contentType: "text/plain" }) },
  ];
}
