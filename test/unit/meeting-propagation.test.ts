// Header propagation in the meeting services' shared toolkit: three services on loopback
// chained A → B → C; C answers with the route header and baggage it received. Checks that
// what a client sends to A reaches C, for many concurrent requests with different values
// over shared keep-alive connections (no cross-talk), through awaits and timers, and that
// work run detached or outside a request carries nothing.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { callJson, handler, Router, type Handler, type ServiceOptions } from '@kdev/templates/meeting/src/lib/http.js';
import { detached, MAX_PROPAGATED_BYTES, pickPropagated, propagatedNames, routeOf } from '@kdev/templates/meeting/src/lib/propagate.js';

interface Seen {
  route: string | null;
  baggage: string | null;
  team: string | null;
  other: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('propagation rules', () => {
  it('names: the route header and baggage, plus valid extra names', () => {
    assert.deepEqual(propagatedNames(), ['x-kdev-route', 'baggage']);
    assert.deepEqual(propagatedNames(' X-Team-Route , ,baggage'), ['x-kdev-route', 'baggage', 'x-team-route']);
    assert.throws(() => propagatedNames('x-ok,bad name'), /"bad name" is not a header name/);
  });

  it('picks only listed, non-empty headers within the size limit', () => {
    const names = propagatedNames();
    assert.deepEqual(pickPropagated({ 'x-kdev-route': 'alice', baggage: 'a=1', 'x-other': 'z', host: 'h' }, names), { 'x-kdev-route': 'alice', baggage: 'a=1' });
    assert.deepEqual(pickPropagated({ 'x-kdev-route': '', baggage: 'k=' + 'v'.repeat(MAX_PROPAGATED_BYTES) }, names), {});
  });

  it('reads the route like the router: header first, else the baggage member of that name', () => {
    assert.equal(routeOf({ 'x-kdev-route': 'alice', baggage: 'x-kdev-route=bob' }), 'alice');
    assert.equal(routeOf({ baggage: 'userId=7, X-Kdev-Route = b%20ob ;prop=1,z=2' }), 'b ob');
    assert.equal(routeOf({ baggage: 'x-kdev-route=%zz' }), undefined);
    assert.equal(routeOf({ baggage: 'other=1' }), undefined);
    assert.equal(routeOf({}), undefined);
  });
});

describe('propagation through a chain of services A → B → C', () => {
  const servers: Server[] = [];
  const logs: Array<Record<string, unknown>> = [];
  let a = '';
  let b = '';
  let c = '';

  async function start(name: string, router: Router, extra: Partial<ServiceOptions> = {}): Promise<string> {
    const s = createServer(handler({ name, port: 0, router, log: (l) => logs.push(l), ...extra }));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  before(async () => {
    const header = (v: string | string[] | undefined) => (typeof v === 'string' ? v : null);
    c = await start(
      'c',
      new Router().get('/seen', async (ctx) => {
        await sleep(Math.random() * 4); // answers out of order
        return { route: header(ctx.headers['x-kdev-route']), baggage: header(ctx.headers.baggage), team: header(ctx.headers['x-team-route']), other: header(ctx.headers['x-other']) } satisfies Seen;
      }),
    );
    // B calls C twice in sequence, then twice at once, then once from a timer
    b = await start(
      'b',
      new Router()
        .get('/b', async (ctx) => {
          const first = await ctx.call<Seen>(c, 'GET', '/seen');
          const second = await ctx.call<Seen>(c, 'GET', '/seen');
          const both = await Promise.all([ctx.call<Seen>(c, 'GET', '/seen'), ctx.forward(c, 'GET', '/seen').then((r) => r.body as Seen)]);
          const timed = await new Promise<Seen>((resolve, reject) => setTimeout(() => ctx.call<Seen>(c, 'GET', '/seen').then(resolve, reject), Math.random() * 3));
          return [first, second, ...both, timed];
        })
        .get('/detached', () => detached(() => callJson<Seen>(c, 'GET', '/seen', undefined, 'bg'))),
      { propagate: propagatedNames('x-team-route') },
    );
    // A calls B, waits a little, calls B again; POST reads a body first (stream events)
    const viaB: Handler = async (ctx) => {
      const one = await ctx.call<Seen[]>(b, 'GET', '/b');
      await sleep(Math.random() * 3);
      return [...one, ...(await ctx.call<Seen[]>(b, 'GET', '/b'))];
    };
    a = await start(
      'a',
      new Router()
        .get('/a', viaB)
        .post('/a', viaB)
        .get('/detached', (ctx) => ctx.call(b, 'GET', '/detached')),
      { propagate: propagatedNames('x-team-route') },
    );
  });
  after(() => servers.forEach((s) => s.close()));

  async function get<T>(url: string, headers: Record<string, string>, body?: unknown): Promise<T> {
    const r = await fetch(url, body === undefined ? { headers } : { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as T;
  }

  it('C sees what each of 200 concurrent clients (GET and POST) sent to A, and nothing for those that sent none', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const bare = i % 5 === 0;
        const headers: Record<string, string> = bare ? { 'x-request-id': `bare-${i}` } : { 'x-request-id': `req-${i}`, 'x-kdev-route': `dev-${i}`, baggage: `x-kdev-route=dev-${i},k=v${i}` };
        return { i, bare, seen: await get<Seen[]>(`${a}/a`, headers, i % 2 ? { pad: 'x'.repeat(i * 50) } : undefined) };
      }),
    );
    for (const { i, bare, seen } of results) {
      assert.equal(seen.length, 10, 'A → B twice, B → C five times each');
      for (const s of seen) {
        if (bare) assert.deepEqual(s, { route: null, baggage: null, team: null, other: null }, `request ${i} (no headers)`);
        else assert.deepEqual(s, { route: `dev-${i}`, baggage: `x-kdev-route=dev-${i},k=v${i}`, team: null, other: null }, `request ${i}`);
      }
    }
    // each service logged the route of every request it handled
    for (const svc of ['a', 'b', 'c']) {
      const lines = logs.filter((l) => l.svc === svc && typeof l.rid === 'string' && l.rid.startsWith('req-'));
      assert.ok(lines.length >= 160, `${svc} logged the requests`);
      for (const l of lines) assert.equal(l.route, `dev-${String(l.rid).slice(4)}`, JSON.stringify(l));
      assert.ok(logs.filter((l) => l.svc === svc && String(l.rid).startsWith('bare-')).every((l) => !('route' in l)));
    }
  });

  it('baggage alone travels, and the route it carries is logged at the end of the chain', async () => {
    const seen = await get<Seen[]>(`${a}/a`, { 'x-request-id': 'only-baggage', baggage: 'x-kdev-route=bob;p=1, tenant=acme' });
    for (const s of seen) assert.deepEqual(s, { route: null, baggage: 'x-kdev-route=bob;p=1, tenant=acme', team: null, other: null });
    assert.ok(logs.some((l) => l.svc === 'c' && l.rid === 'only-baggage' && l.route === 'bob'));
  });

  it('extra configured headers travel, others do not', async () => {
    const seen = await get<Seen[]>(`${a}/a`, { 'x-team-route': 'carol', 'x-other': 'nope' });
    for (const s of seen) assert.deepEqual(s, { route: null, baggage: null, team: 'carol', other: null });
  });

  it('work run detached, or calls made outside any request, carry nothing', async () => {
    assert.deepEqual(await get<Seen>(`${a}/detached`, { 'x-kdev-route': 'alice', baggage: 'x-kdev-route=alice' }), { route: null, baggage: null, team: null, other: null });
    assert.deepEqual(await callJson<Seen>(c, 'GET', '/seen', undefined, 'outside'), { route: null, baggage: null, team: null, other: null });
  });
});
