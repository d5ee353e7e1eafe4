// The router's bounds on real loopback sockets: connections over the limit are closed, a
// client that never finishes its request head is cut off, an oversized HTTP/2 header list is
// refused, and the router keeps serving afterwards.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { get, h2Upstream, httpUpstream, startRouter, type TestRouter, type Upstream } from '../lib/router.js';

function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(true);
  return Promise.race([once(s, 'close').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
}

describe('router: limits', { timeout: 60_000 }, () => {
  let orig: Upstream, grpc: Upstream;
  let r: TestRouter;

  before(async () => {
    [orig, grpc] = await Promise.all([httpUpstream('orig'), h2Upstream('grpc')]);
    r = await startRouter({ ports: [{ listen: 0, default: orig.addr }, { listen: 0, default: grpc.addr }] }, { maxConnections: 3, headersTimeoutMs: 500, maxHeaderSize: 4096 });
  });
  after(async () => {
    await r.close();
    await Promise.all([orig.close(), grpc.close()]);
  });

  it('closes connections beyond maxConnections and accepts again once they are gone', async () => {
    const held = await Promise.all([0, 1, 2].map(async () => {
      const s = connect(r.port, '127.0.0.1');
      s.on('error', () => undefined);
      await once(s, 'connect');
      s.write('GET / HTTP/1.1\r\nHost: x\r\n'); // an unfinished head keeps it open for now
      return s;
    }));
    await new Promise((res) => setTimeout(res, 50));
    const extra = connect(r.port, '127.0.0.1');
    extra.on('error', () => undefined);
    assert.equal(await closedWithin(extra, 2000), true, 'the fourth connection is closed');
    for (const s of held) s.destroy();
    await new Promise((res) => setTimeout(res, 100));
    assert.equal((await get(r.port)).status, 200);
  });

  it('cuts off a client that does not finish its request head in time', async () => {
    const silent = connect(r.port, '127.0.0.1');
    silent.on('error', () => undefined);
    const partial = connect(r.port, '127.0.0.1');
    partial.on('error', () => undefined);
    partial.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const t0 = Date.now();
    assert.equal(await closedWithin(silent, 10_000), true, 'a silent connection is closed');
    assert.equal(await closedWithin(partial, 10_000), true, 'a half-sent head is closed');
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('refuses an HTTP/2 header list over the limit and keeps the session usable for others', async () => {
    const session = h2connect(`http://127.0.0.1:${r.ports[1]}`);
    session.on('error', () => undefined);
    const big = session.request({ ':method': 'POST', ':path': '/Unary', 'x-big': 'a'.repeat(8192) });
    big.on('error', () => undefined);
    big.end();
    const [h] = await once(big, 'response');
    assert.equal((h as Record<string, unknown>)[':status'], 431);
    big.resume();
    const ok = session.request({ ':method': 'POST', ':path': '/Unary' });
    ok.setEncoding('utf8');
    let body = '';
    ok.on('data', (d: string) => (body += d));
    ok.end('hi');
    await once(ok, 'end');
    assert.equal(body, 'grpc:hi');
    session.close();
  });
});
