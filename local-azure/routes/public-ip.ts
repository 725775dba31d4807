import type { Route } from "../http";

/** Stands in for https://api.ipify.org: the agent's public IP as text/plain. */
export function publicIpRoutes(current: () => string): Route[] {
  return [{ method: "GET", path: "/ip", handler: () => ({ status: 200, body: current(), contentType: "text/plain" }) }];
}
