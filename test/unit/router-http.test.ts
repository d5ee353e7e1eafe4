// The header router (router/) over real loopback sockets: HTTP/1.1 routing by header with
// keep-alive, chunked bodies, WebSocket passthrough, TCP passthrough, table reload, a dead
// routed upstream (502, default unaffected) and hostile clients.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import { get, httpUpstream, startRouter, tcpUpstream, type TestRouter, type Upstream } from '../lib/router.js';

const H = 'x-kdev-route';

function table(a: Upstream, b: Upstream, defaults: Upstream[], extra: object[] = []) {
  return {
    ports: [
      { listen: 0, protocol: 'http', default: defaults.map((d) => d.addr), routes: [{ header: H, value: 'alice', upstream: a.addr }, { header: H, value: 'bob', upstream: b.addr }] },
      ...extra,
    ],
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('router: HTTP/1.1', { timeout: 120_000 }, () => {
  let alice: Upstream, bob: Upstream, orig1: Upstream, orig2: Upstream, tcp: Upstream;
  let r: TestRouter;

  before(async () => {
    [alice, bob, orig1, orig2, tcp] = await Promise.all([httpUpstream('alice'), httpUpstream('bob'), httpUpstream('orig1'), httpUpstream('orig2'), tcpUpstream('db')]);
    r = await startRouter(table(alice, bob, [orig1, orig2], [{ listen: 0, protocol: 'tcp', default: tcp.addr }]));
  });
  after(async () => {
    await r.close();
    await Promise.all([alice, bob, orig1, orig2, tcp].map((u) => u.close()));
  });

  it('1,000 requests each with alice, bob and no header reach exactly the right upstream', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const counts: Record<string, number> = {};
    let misrouted = 0;
    const kinds: { h: Record<string, string>; want: string[] }[] = [{ h: { [H]: 'alice' }, want: ['alice'] }, { h: { [H]: 'bob' }, want: ['bob'] }, { h: {}, want: ['orig1', 'orig2'] }];
    for (let batch = 0; batch < 1000; batch += 50) {
      await Promise.all(kinds.flatMap((k) => Array.from({ length: 50 }, async () => {
        const res = await get(r.port, k.h, { agent });
        const name = JSON.parse(res.body).name as string;
        counts[name] = (counts[name] ?? 0) + 1;
        if (res.status !== 200 || !k.want.includes(name)) misrouted++;
      })));
    }
    agent.destroy();
    assert.equal(misrouted, 0);
    assert.equal(counts.alice, 1000);
    assert.equal(counts.bob, 1000);
    assert.equal((counts.orig1 ?? 0) + (counts.orig2 ?? 0), 1000);
    assert.ok(counts.orig1! >= 400 && counts.orig2! >= 400, `round-robin over the defaults: ${JSON.stringify(counts)}`);
  });

  it('routes each request of one keep-alive connection on its own header', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seq = ['alice', 'bob', '', 'alice', '', 'bob', 'bob', 'alice'];
    const got: string[] = [];
    const sockets = new Set<unknown>();
    for (const v of seq) {
      const res = await get(r.port, v ? { [H]: v } : {}, { agent });
      got.push(JSON.parse(res.body).name);
      for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) sockets.add(s);
    }
    agent.destroy();
    assert.deepEqual(got.map((n) => (n.startsWith('orig') ? '' : n)), seq);
    assert.equal(sockets.size, 1, 'one client connection carried every request');
  });

  it('routes on a W3C baggage member when the header itself is absent', async () => {
    const res = await get(r.port, { baggage: `other=1, ${H}=bob;p=1` });
    assert.equal(JSON.parse(res.body).name, 'bob');
  });

  it('streams a chunked upload to the routed upstream, still chunked', async () => {
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(16 * 1024, i));
    const res = await get(r.port, { [H]: 'alice', 'content-type': 'application/octet-stream' }, { method: 'POST', body: chunks });
    const body = JSON.parse(res.body);
    assert.equal(res.status, 200);
    assert.deepEqual([body.name, body.bytes, body.chunked], ['alice', 64 * 16 * 1024, true]);
  });

  it('passes WebSocket upgrades through, routed on the upgrade request', async () => {
    for (const [headers, want] of [[{ [H]: 'bob' }, /^bob:/], [{}, /^orig[12]:/]] as const) {
      const ws = new WebSocket(`ws://127.0.0.1:${r.port}/chat`, { headers });
      await once(ws, 'open');
      const replies: string[] = [];
      ws.on('message', (m) => replies.push(m.toString()));
      for (let i = 0; i < 20; i++) ws.send(`m${i}`);
      await until(() => replies.length === 20, 'websocket echoes');
      assert.ok(replies.every((m, i) => want.test(m) && m.endsWith(`:m${i}`)), replies.join(','));
      ws.close();
      await once(ws, 'close');
    }
  });

  it('passes a tcp port through to its default upstream untouched', async () => {
    const s = connect(r.ports[1]!, '127.0.0.1');
    const bytes = Buffer.from('GET / HTTP/1.1\r\nx-kdev-route: alice\r\n\r\n\u0000\u00ff binary');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.write(bytes);
    await until(() => got.length >= 3 + bytes.length, 'tcp echo');
    assert.equal(got, `db|${bytes.toString('latin1')}`);
    s.destroy();
  });

  it('answers 400/431 to malformed or oversized requests and keeps serving', async () => {
    const raw = async (text: string | Buffer) => {
      const s = connect(r.port, '127.0.0.1');
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('error', () => undefined);
      s.write(text);
      await Promise.race([once(s, 'close'), new Promise((res) => setTimeout(res, 3000).unref())]);
      s.destroy();
      return got;
    };
    assert.match(await raw('GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await raw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 1, 2, 3, 0, 0, 0, 0, 13, 10, 13, 10])), /^HTTP\/1\.1 400/);
    assert.match(await raw(`GET / HTTP/1.1\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`), /^HTTP\/1\.1 431/);
    assert.match(await raw('GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), /^HTTP\/1\.1 400/);
    const half = connect(r.port, '127.0.0.1');
    half.on('error', () => undefined);
    half.end('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort');
    const h2garbage = connect(r.port, '127.0.0.1');
    h2garbage.on('error', () => undefined);
    h2garbage.end('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u0000\u0000\u0004\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff garbage');
    await new Promise((res) => setTimeout(res, 200));
    const ok = await get(r.port, { [H]: 'alice' });
    assert.equal(JSON.parse(ok.body).name, 'alice');
  });

  it('reloads the table when its file changes and keeps it when the new one is invalid', async () => {
    const origOnReload = r.logs.length;
    const tcpPort = { listen: 0, protocol: 'tcp', default: tcp.addr };
    r.write(table(bob, alice, [orig1], [tcpPort]));
    await until(async () => JSON.parse((await get(r.port, { [H]: 'alice' })).body).name === 'bob', 'the swapped table');
    assert.equal(JSON.parse((await get(r.port, { [H]: 'bob' })).body).name, 'alice');
    r.write('{"ports": [ { "listen": 0, "default": "nohost" } ]');
    await until(() => r.logs.slice(origOnReload).some((l) => /not JSON|the table in use is kept/.test(l)), 'the refusal');
    assert.equal(JSON.parse((await get(r.port, { [H]: 'alice' })).body).name, 'bob', 'the previous table still routes');
    r.write({ ports: [{ listen: 0, default: orig1.addr }] });
    await until(() => r.logs.some((l) => /ports \(listen, protocol\) changed/.test(l)), 'the refusal of a port change');
    r.write(table(alice, bob, [orig1, orig2], [tcpPort]));
    await until(async () => JSON.parse((await get(r.port, { [H]: 'alice' })).body).name === 'alice', 'the restored table');
  });
});

describe('router: a routed upstream down', { timeout: 60_000 }, () => {
  it('answers 502 to its header and keeps serving the default', async () => {
    const orig = await httpUpstream('orig');
    const dead = await httpUpstream('dead');
    const r = await startRouter({ ports: [{ listen: 0, default: [orig.addr], routes: [{ header: H, value: 'alice', upstream: dead.addr }] }] });
    try {
      assert.equal(JSON.parse((await get(r.port, { [H]: 'alice' })).body).name, 'dead');
      await dead.close();
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      for (let i = 0; i < 50; i++) {
        const [down, up] = await Promise.all([get(r.port, { [H]: 'alice' }, { agent }), get(r.port, {}, { agent })]);
        assert.equal(down.status, 502);
        assert.match(down.body, /route x-kdev-route=alice\) unreachable: ECONNREFUSED/);
        assert.equal(up.status, 200);
        assert.equal(JSON.parse(up.body).name, 'orig');
      }
      agent.destroy();
      const ws = new WebSocket(`ws://127.0.0.1:${r.port}/`, { headers: { [H]: 'alice' } });
      ws.on('error', () => undefined);
      const [req, res] = await once(ws, 'unexpected-response');
      assert.equal((res as { statusCode?: number }).statusCode, 502);
      (req as { destroy(): void }).destroy();
    } finally {
      await r.close();
      await orig.close();
    }
  });

  it('refuses an invalid table at start with the field named', async () => {
    await assert.rejects(startRouter({ ports: [{ listen: 0, default: [], routes: [] }] }), /ports\[0\]\.default/);
    await assert.rejects(startRouter({ ports: [{ listen: 0, default: '127.0.0.1:1', routes: [{ header: 'x', value: 'v', upstream: 'nope' }] }] }), /ports\[0\]\.routes\[0\]\.upstream: "nope" is not host:port/);
    await assert.rejects(startRouter({ ports: [{ listen: 0, protocol: 'tcp', default: '127.0.0.1:1', routes: [{ header: 'x', value: 'v', upstream: '127.0.0.1:2' }] }] }), /a tcp port has no header/);
  });
});
