// Header propagation in the meeting template on the real cluster: the mesh (gateway, rooms,
// users, signalling, media, scheduler and Redis) in a throw-away namespace; requests sent to
// the gateway with `x-kdev-route: alice` (or only W3C baggage naming a route) must reach
// every service down the chain with that route, as each service's own log line of the
// request (by its x-request-id) shows. No router is involved: this checks what the services
// send on, which is what lets kdev's router pick a developer's duplicate further down.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { assertLocalTarget, deployTemplate, podIps } from '@kdev/templates/tools/deploy.js';
import { tempNamespace } from '../lib/cluster.js';

const MESH = ['redis', 'users', 'signalling', 'scheduler', 'media', 'rooms', 'gateway'];

describe('meeting: the route header follows a request through the mesh', { timeout: 600_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let gw = '';
  const run = Date.now().toString(36);

  before(async () => {
    ns = await tempNamespace('kdev-e2e-meeting-prop');
    await deployTemplate(ns.cluster, join(TEMPLATES_DIR, 'meeting'), { only: MESH, params: { hosts: '50', schedulerReplicas: '1' } });
    const [ip] = await podIps(ns.cluster, 'gateway');
    assert.ok(ip, 'the gateway has a ready pod');
    assertLocalTarget(ip);
    gw = `http://${ip}:8080`;
  });
  after(async () => ns?.remove());

  async function api<T>(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    const r = await fetch(gw + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const text = await r.text();
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** The log lines each service wrote for one request id, waiting until `apps` all have one. */
  async function linesOf(rid: string, apps: string[]): Promise<Map<string, Array<Record<string, unknown>>>> {
    const found = new Map<string, Array<Record<string, unknown>>>();
    for (let attempt = 0; attempt < 20; attempt++) {
      found.clear();
      const pods = await ns.cluster.core.listNamespacedPod({ namespace: ns.name, labelSelector: `app in (${apps.join(',')})` });
      for (const p of pods.items) {
        const log = await ns.cluster.core.readNamespacedPodLog({ name: p.metadata!.name!, namespace: ns.name });
        for (const raw of String(log).split('\n')) {
          if (!raw.includes(rid)) continue;
          const line = JSON.parse(raw) as Record<string, unknown>;
          if (line.rid === rid) found.set(String(line.svc), [...(found.get(String(line.svc)) ?? []), line]);
        }
      }
      if (apps.every((a) => found.has(a))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    return found;
  }

  function assertRoute(found: Map<string, Array<Record<string, unknown>>>, apps: string[], route: string | undefined): void {
    for (const app of apps) {
      const lines = found.get(app) ?? [];
      assert.ok(lines.length > 0, `${app} logged the request`);
      for (const l of lines) assert.equal(l.route, route, `${app}: ${JSON.stringify(l)}`);
    }
  }

  it('x-kdev-route sent to the gateway reaches rooms, then users and signalling, and media then the scheduler', async () => {
    const ada = await api<{ id: string }>('POST', '/api/users', { name: 'Ada', tenant: 'acme' });
    const room = await api<{ id: string }>('POST', '/api/rooms', { name: 'standup', owner: ada.id, region: 'zone-a' });

    const join = `prop-join-${run}`;
    await api('POST', `/api/rooms/${room.id}/join`, { userId: ada.id }, { 'x-request-id': join, 'x-kdev-route': 'alice' });
    // gateway → rooms (two hops from the client) → users and signalling (three)
    assertRoute(await linesOf(join, ['gateway', 'rooms', 'users', 'signalling']), ['gateway', 'rooms', 'users', 'signalling'], 'alice');

    const media = `prop-media-${run}`;
    await api('POST', `/api/rooms/${room.id}/media`, {}, { 'x-request-id': media, 'x-kdev-route': 'alice' });
    // gateway → rooms → media → scheduler: four hops from the client
    assertRoute(await linesOf(media, ['gateway', 'rooms', 'media', 'scheduler']), ['gateway', 'rooms', 'media', 'scheduler'], 'alice');
  });

  it('W3C baggage naming a route travels the same way; a request without either carries no route', async () => {
    const bo = await api<{ id: string }>('POST', '/api/users', { name: 'Bo', tenant: 'acme' });
    const room = await api<{ id: string }>('POST', '/api/rooms', { name: 'retro', owner: bo.id, region: 'zone-b' });

    const bag = `prop-baggage-${run}`;
    await api('POST', `/api/rooms/${room.id}/media`, {}, { 'x-request-id': bag, baggage: 'tenant=acme, x-kdev-route=bob' });
    assertRoute(await linesOf(bag, ['gateway', 'rooms', 'media', 'scheduler']), ['gateway', 'rooms', 'media', 'scheduler'], 'bob');

    const none = `prop-none-${run}`;
    await api('POST', `/api/rooms/${room.id}/join`, { userId: bo.id }, { 'x-request-id': none });
    assertRoute(await linesOf(none, ['gateway', 'rooms', 'users', 'signalling']), ['gateway', 'rooms', 'users', 'signalling'], undefined);
  });
});
