// The bundle's `http`: the unpatched request/get, as in https.cjs (see there for why).
/* global require, module */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const http = require('node:http');
const original = http.__vscodeOriginal;
module.exports = original ? { ...http, request: original.request, get: original.get } : http;
