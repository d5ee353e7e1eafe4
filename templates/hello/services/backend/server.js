// hello/backend: answers GET /greeting with a JSON greeting. Node 18, no dependencies.
'use strict';
const http = require('http');
const os = require('os');

const greeting = process.env.GREETING || 'Hello';
const port = Number(process.env.PORT || 8080);

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  if (req.url === '/greeting') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ greeting, from: os.hostname() }));
    return;
  }
  res.statusCode = 404;
  res.end('not found\n');
});
server.listen(port, () => console.log(`backend listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
