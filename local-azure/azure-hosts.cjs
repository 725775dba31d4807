// Preloaded into client processes of the local Azure (NODE_OPTIONS=--require, see clients.ts), never
// shipped. A vault's URI is https://<vault>.vault.azure.net and a cluster's API server
// https://<fqdn>.azmk8s.io, both without a port, so TLS connections to such hosts are sent to the local
// Azure's HTTPS port on loopback instead (the local Azure knows from the server name which API server
// the agent is trying to reach). With LOCAL_AZURE_PUBLIC_HOSTS=1
// the same goes for management.azure.com and login.microsoftonline.com, so that a task configured
// for the public cloud signs in and calls ARM exactly as it would there (the benchmark). The server
// name (SNI and certificate check) and the Host header stay the original's, so the task and the SDK
// clients run unchanged, Key Vault's challenge resource verification included.
// CommonJS and --require rather than an ES module and --import: it costs a task process about 1 ms
// instead of starting Node's ES module loader (~12 ms), which would distort the benchmark.
"use strict";
const tls = require("node:tls");

const port = Number(process.env.LOCAL_AZURE_HTTPS_PORT);
const LOCAL_HOST =
  process.env.LOCAL_AZURE_PUBLIC_HOSTS === "1"
    ? /(\.vault\.azure\.net|\.azmk8s\.io|^management\.azure\.com|^login\.microsoftonline\.com)$/i
    : /\.(vault\.azure\.net|azmk8s\.io)$/i;
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
