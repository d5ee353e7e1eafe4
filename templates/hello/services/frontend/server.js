// hello/frontend: GET / asks the backend for a greeting and answers "<greeting>, world".
// Node 18, no dependencies.
'use strict';
const http = require('http');

const backend = process.env.BACKEND_URL || 'http://backend';
const port = Number(process.env.PORT || 8080);

function getJson(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('timeout', function () {
        this.destroy(new Error('backend timed out'));
      })
      .on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  if (req.url === '/') {
    try {
      const answer = await getJson(`${backend}/greeting`);
      res.end(`${answer.greeting}, world (from ${answer.from})\n`);
    } catch (err) {
      res.statusCode = 502;
      res.end(`backend unavailable: ${err.message}\n`);
    }
    return;
  }
  res.statusCode = 404;
  res.end('not found\n');
});
server.listen(port, () => console.log(`frontend listening on ${port}, backend ${backend}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
