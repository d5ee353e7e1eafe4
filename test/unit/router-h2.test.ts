// The header router over HTTP/2 cleartext (prior knowledge, as gRPC clients speak it): many
// concurrent streams on one client session, each routed on its own header; a gRPC-like unary
// call and a bidirectional streaming call keep their frames and trailers both ways; a dead
// routed upstream answers 502 while the default keeps serving.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { once } from 'node:events';
import { h2Upstream, startRouter, type TestRouter, type Upstream } from '../lib/router.js';

const H = 'x-kdev-route';

interface Call { status: number; headers: IncomingHttpHeaders; body: string; trailers: IncomingHttpHeaders }

/** A unary call: the frames, then the client's trailers; resolves with everything that came back. */
function unary(session: ClientHttp2Session, route: string | undefined, frames: string[], end: string): Promise<Call> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/Unary', 'content-type': 'application/grpc', ...(route ? { [H]: route } : {}) }, { waitForTrailers: true });
    const call: Call = { status: 0, headers: {}, body: '', trailers: {} };
    req.on('wantTrailers', () => req.sendTrailers({ 'x-end': end }));
    req.on('response', (h) => ((call.headers = h), (call.status = Number(h[':status']))));
    req.on('trailers', (t) => (call.trailers = t));
    req.setEncoding('utf8');
    req.on('data', (d: string) => (call.body += d));
    req.on('end', () => resolve(call));
    req.on('error', reject);
    for (const f of frames) req.write(f);
    req.end();
  });
}

describe('router: HTTP/2 (h2c) and gRPC-like calls', { timeout: 120_000 }, () => {
  let alice: Upstream, bob: Upstream, orig: Upstream;
  let r: TestRouter;
  let session: ClientHttp2Session;

  before(async () => {
    [alice, bob, orig] = await Promise.all([h2Upstream('alice'), h2Upstream('bob'), h2Upstream('orig')]);
    r = await startRouter({ ports: [{ listen: 0, default: [orig.addr], routes: [{ header: H, value: 'alice', upstream: alice.addr }, { header: H, value: 'bob', upstream: bob.addr }] }] });
    session = connect(`http://127.0.0.1:${r.port}`);
    session.on('error', () => undefined);
  });
  after(async () => {
    session.close();
    await r.close();
    await Promise.all([alice, bob, orig].map((u) => u.close()));
  });

  it('routes 600 concurrent unary calls on one session by header, trailers kept both ways', async () => {
    let misrouted = 0;
    const routes = [['alice', 'alice'], ['bob', 'bob'], [undefined, 'orig']] as const;
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(Array.from({ length: 150 }, async (_, i) => {
        const [route, want] = routes[i % 3]!;
        const call = await unary(session, route, [`a${i}`, `b${i}`], `end${i}`);
        const ok = call.status === 200 && call.headers['x-upstream'] === want && call.body === `${want}:a${i}b${i}`
          && call.trailers['grpc-status'] === '0' && call.trailers['grpc-message'] === want && call.trailers['x-client-trailer'] === `end${i}`;
        if (!ok) misrouted++;
      }));
    }
    assert.equal(misrouted, 0);
  });

  it('keeps a bidirectional stream open: each request frame gets its reply before the next is sent', async () => {
    for (const [route, want] of [['bob', 'bob'], [undefined, 'orig']] as const) {
      const req = session.request({ ':method': 'POST', ':path': '/Stream', ...(route ? { [H]: route } : {}) });
      req.setEncoding('utf8');
      let got = '';
      req.on('data', (d: string) => (got += d));
      for (let i = 0; i < 10; i++) {
        const expect = `${got}${want}:f${i}`;
        req.write(`f${i}`);
        const deadline = Date.now() + 5000;
        while (got !== expect) {
          assert.ok(Date.now() < deadline, `reply ${i} did not arrive: ${got}`);
          await once(req, 'data');
        }
      }
      const trailers = once(req, 'trailers');
      req.end();
      const [t] = await trailers;
      assert.equal((t as IncomingHttpHeaders)['grpc-message'], want);
    }
  });

  it('forwards a request without a body (END_STREAM on its headers)', async () => {
    const req = session.request({ ':method': 'GET', ':path': '/Get', [H]: 'alice' });
    req.setEncoding('utf8');
    let body = '';
    req.on('data', (d: string) => (body += d));
    const [h] = await once(req, 'response');
    await once(req, 'end');
    assert.equal((h as IncomingHttpHeaders)['x-upstream'], 'alice');
    assert.equal(body, 'alice:');
  });

  it('answers 502 on a stream routed to a dead upstream; the default keeps serving', async () => {
    await bob.close();
    const down = await unary(session, 'bob', ['x'], 'e');
    assert.equal(down.status, 502);
    assert.match(down.body, /route x-kdev-route=bob\) unreachable/);
    const up = await unary(session, undefined, ['y'], 'e');
    assert.deepEqual([up.status, up.body, up.trailers['grpc-status']], [200, 'orig:y', '0']);
  });
});
