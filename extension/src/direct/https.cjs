// The bundle's `https` (see esbuild.mjs). VS Code's extension host patches http/https
// request() so that, with the default http.proxySupport "override", it swaps the caller's
// agent for its proxy agent. That drops the agent's client certificate, and kubeconfigs that
// log in by client certificate (kubeadm, kind, minikube, kdev's local cluster) reach the API
// server as system:anonymous. kdev talks to clusters the way kubectl does: TLS and proxy-url
// from the kubeconfig. So the bundle uses the unpatched request/get, which VS Code keeps on
// the module as __vscodeOriginal; outside VS Code this is plain https.
/* global require, module */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const https = require('node:https');
const original = https.__vscodeOriginal;
module.exports = original ? { ...https, request: original.request, get: original.get } : https;
