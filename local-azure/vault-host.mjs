// Preloaded into task processes that talk to the local Azure (NODE_OPTIONS=--import, see clients.ts),
// never shipped: a vault's URI is https://<vault>.vault.azure.net and a cluster's API server
// https://<fqdn>.azmk8s.io, both without a port, so TLS connections to such hosts are sent to the local Azure's HTTPS port on
// loopback instead. The server name (SNI and certificate check) and the Host header stay the real
// ones, so the task and the Key Vault client run unchanged, challenge resource verification included,
// and the local Azure knows which API server the agent is trying to reach.
import tls from "node:tls";

const port = Number(process.env.LOCAL_AZURE_HTTPS_PORT);
const LOCAL_HOST = /\.(vault\.azure\.net|azmk8s\.io)$/i;
const connect = tls.connect;

tls.connect = function connectToLocalAzure(...args) {
  const [options] = args;
  if (
    port &&
    options &&
    typeof options === "object" &&
    !options.socket &&
    LOCAL_HOST.test(String(options.host ?? options.servername ?? ""))
  ) {
    const host = String(options.host ?? options.servername);
    args[0] = { ...options, host: "127.0.0.1", port, servername: options.servername || host };
  }
  return connect.apply(this, args);
};
