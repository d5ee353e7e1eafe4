// The meeting services' shared toolkit: routing, request ids across calls, probes, the
// RESP parser and the Redis client's pipelining (against a small RESP server on loopback).
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { callJson, handler, HttpError, matchPath, Router } from '@kdev/templates/meeting/src/lib/http.js';
import { encodeCommand, Redis, RedisReplyError, RespParser } from '@kdev/templates/meeting/src/lib/redis.js';

function listen(s: Server): Promise<string> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

describe('router', () => {
  it('matches params and wildcards', () => {
    assert.deepEqual(matchPath(['rooms', ':id', 'join'], '/rooms/r%201/join'), { id: 'r 1' });
    assert.equal(matchPath(['rooms', ':id'], '/rooms/a/b'), undefined);
    assert.deepEqual(matchPath(['static', '*'], '/static/a/b.js'), { '*': 'a/b.js' });
    const r = new Router().get('/a/:x', () => 1);
    assert.equal(r.find('POST', '/a/1'), 'method');
    assert.equal(r.find('GET', '/b'), undefined);
  });
});

describe('services over HTTP', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));
  const logs: Array<Record<string, unknown>> = [];

  it('carry the request id across calls, answer probes, and map errors', async () => {
    const back = createHttpServer(
      handler({
        name: 'back',
        port: 0,
        log: (l) => logs.push(l),
        router: new Router().get('/who', (ctx) => ({ rid: ctx.requestId })).get('/missing', () => {
          throw new HttpError(404, 'no such thing');
        }),
        ready: () => false,
      }),
    );
    servers.push(back);
    const backUrl = await listen(back);
    const front = createHttpServer(
      handler({
        name: 'front',
        port: 0,
        log: (l) => logs.push(l),
        router: new Router()
          .get('/chain', async (ctx) => ({ mine: ctx.requestId, theirs: (await ctx.call<{ rid: string }>(backUrl, 'GET', '/who')).rid }))
          .get('/fwd', (ctx) => ctx.forward(backUrl, 'GET', '/missing'))
          .post('/echo', (ctx) => ({ status: 201, body: ctx.body })),
      }),
    );
    servers.push(front);
    const frontUrl = await listen(front);

    const r = await fetch(`${frontUrl}/chain`, { headers: { 'x-request-id': 'req-42' } });
    assert.equal(r.headers.get('x-request-id'), 'req-42');
    assert.deepEqual(await r.json(), { mine: 'req-42', theirs: 'req-42' });
    assert.ok(logs.some((l) => l.svc === 'back' && l.rid === 'req-42'), 'the callee logged the same id');

    const gen = await fetch(`${frontUrl}/chain`);
    const body = (await gen.json()) as { mine: string; theirs: string };
    assert.match(body.mine, /^[0-9a-f-]{36}$/);
    assert.equal(body.theirs, body.mine);

    const bad = await fetch(`${frontUrl}/chain`, { headers: { 'x-request-id': 'has spaces and ${}' } });
    assert.notEqual(bad.headers.get('x-request-id'), 'has spaces and ${}');

    assert.equal((await fetch(`${frontUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${backUrl}/readyz`)).status, 503);
    assert.equal((await fetch(`${frontUrl}/nope`)).status, 404);
    assert.equal((await fetch(`${frontUrl}/chain`, { method: 'POST' })).status, 405);
    const inv = await fetch(`${frontUrl}/echo`, { method: 'POST', body: '{oops' });
    assert.equal(inv.status, 400);
    assert.equal((await fetch(`${frontUrl}/echo`, { method: 'POST', body: '{"a":1}' })).status, 201);
    const fwd = await fetch(`${frontUrl}/fwd`);
    assert.equal(fwd.status, 404);
    assert.match(((await fwd.json()) as { error: string }).error, /no such thing/);
    await assert.rejects(callJson(backUrl, 'GET', '/missing', undefined, 'x'), (e: unknown) => e instanceof HttpError && e.status === 404);
    await assert.rejects(callJson('http://127.0.0.1:1', 'GET', '/', undefined, 'x'), (e: unknown) => e instanceof HttpError && e.status === 502);
  });
});

describe('RESP', () => {
  it('parses replies split at any byte', () => {
    const wire = Buffer.from('+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*3\r\n$1\r\na\r\n*1\r\n:1\r\n*-1\r\n-ERR bad\r\n$0\r\n\r\n');
    for (let cut = 1; cut < wire.length; cut++) {
      const p = new RespParser();
      const out = [...p.feed(wire.subarray(0, cut)), ...p.feed(wire.subarray(cut))];
      assert.equal(out.length, 7, `cut at ${cut}`);
      assert.deepEqual(out.slice(0, 5), ['OK', 42, 'hello', null, ['a', [1], null]]);
      assert.ok(out[5] instanceof RedisReplyError);
      assert.equal(out[6], '');
    }
  });

  it('parses nested and empty arrays fed one byte at a time, replies completing in between', () => {
    const wire = Buffer.from('*4\r\n*0\r\n*2\r\n*1\r\n$2\r\nxy\r\n*0\r\n:7\r\n*-1\r\n+PONG\r\n*2\r\n:1\r\n*1\r\n$3\r\nabc\r\n');
    const p = new RespParser();
    const out: unknown[] = [];
    const completedAt: number[] = [];
    for (let i = 0; i < wire.length; i++) {
      const got = p.feed(wire.subarray(i, i + 1));
      for (const v of got) {
        out.push(v);
        completedAt.push(i);
      }
    }
    assert.deepEqual(out, [[[], [['xy'], []], 7, null], 'PONG', [1, ['abc']]]);
    // each reply is returned by the feed that brings its last byte, not later
    assert.deepEqual(completedAt, [wire.indexOf('*-1\r\n') + 4, wire.indexOf('+PONG\r\n') + 6, wire.length - 1]);
  });

  it('reads a large array reply cut into hundreds of chunks', () => {
    const n = 20_000;
    let text = `*${n}\r\n`;
    for (let i = 0; i < n; i++) text += `$${String(i).length}\r\n${i}\r\n`;
    const wire = Buffer.from(text);
    const p = new RespParser();
    const replies: Array<{ at: number; value: unknown }> = [];
    for (let o = 0; o < wire.length; o += 512) for (const v of p.feed(wire.subarray(o, o + 512))) replies.push({ at: o, value: v });
    // one reply, returned by the feed of the last chunk, and nothing before it
    assert.equal(replies.length, 1);
    assert.equal(replies[0]!.at, Math.floor((wire.length - 1) / 512) * 512);
    const reply = replies[0]!.value;
    assert.equal((reply as string[]).length, n);
    assert.equal((reply as string[])[n - 1], String(n - 1));
  });

  it('encodes commands as bulk strings', () => {
    assert.equal(encodeCommand(['SET', 'k', 1]).toString(), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n');
    // lengths in bytes (UTF-8), Buffers copied as they are, text on both sides of them
    const mixed = encodeCommand(['SET', 'ké', Buffer.from([0, 13, 10]), 'x']);
    assert.deepEqual(mixed, Buffer.concat([Buffer.from('*4\r\n$3\r\nSET\r\n$3\r\nké\r\n$3\r\n'), Buffer.from([0, 13, 10]), Buffer.from('\r\n$1\r\nx\r\n')]));
  });

  it('pipelines commands in order and reports server errors as values', async () => {
    const seen: string[] = [];
    const server = createServer((sock) => {
      const p = new RespParser();
      sock.on('data', (d) => {
        for (const cmd of p.feed(d)) {
          const [name, ...args] = cmd as string[];
          seen.push(name!);
          if (name === 'ECHO') sock.write(`$${Buffer.byteLength(args[0]!)}\r\n${args[0]}\r\n`);
          else sock.write('-ERR unknown command\r\n');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const redis = new Redis({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    const out = await redis.pipeline([['ECHO', 'a'], ['NOPE'], ['ECHO', 'ü']]);
    assert.equal(out[0], 'a');
    assert.ok(out[1] instanceof RedisReplyError);
    assert.equal(out[2], 'ü');
    await assert.rejects(redis.call('NOPE'), RedisReplyError);
    assert.equal(await redis.call('ECHO', 'z'), 'z');
    assert.deepEqual(seen, ['ECHO', 'NOPE', 'ECHO', 'NOPE', 'ECHO']);
    redis.close();
    server.close();
  });
});
