// Preloaded into task processes that talk to the local Azure (NODE_OPTIONS=--import, see clients.ts),
// never shipped: a vault's URI is https://<vault>.vault.azure.net with no port, so TLS connections to such hosts are sent to
// the local Azure's HTTPS port on loopback instead. The server name (SNI and certificate check) and
// the Host header stay the vault's, so the task and the Key Vault client run unchanged, challenge
// resource verification included.
import tls from "node:tls";

const port = Number(process.env.LOCAL_AZURE_HTTPS_PORT);
const VAULT_HOST = /\.vault\.azure\.net$/i;
const connect = tls.connect;

tls.connect = function connectToLocalVault(...args) {
  const [options] = args;
  if (port && options && typeof options === "object" && VAULT_HOST.test(String(options.host ?? options.servername ?? ""))) {
    const host = String(options.host ?? options.servername);
    args[0] = { ...options, host: "127.0.0.1", port, servername: options.servername || host };
  }
  return connect.apply(this, args);
};
