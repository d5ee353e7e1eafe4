// The meeting system as an environment created from its own Helm chart
// (templates/meeting/chart, rendered by the real helm): every workload Ready in the order
// of the template (kdev.dev/depends-on), then a meeting driven through the gateway as the
// template's own e2e test does: users, a room, joining, a media server from the scheduler.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chartTemplate, createEnvironment, deleteEnvironment, type EnvProgress } from '@kdev/core/internals';
import { TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { assertLocalTarget, podIps } from '@kdev/templates/tools/deploy.js';
import { namespaceExists, testCluster, uniqueName } from '../lib/cluster.js';

describe('the meeting chart as an environment', { timeout: 900_000 }, () => {
  const name = uniqueName('kdev-meeting-chart');
  const events: EnvProgress[] = [];
  let gw = '';

  before(async () => {
    await createEnvironment(testCluster(), { name, template: chartTemplate(join(TEMPLATES_DIR, 'meeting', 'chart')), set: { hosts: '200' }, ttl: '1h', onProgress: (e) => events.push(e) });
    const [ip] = await podIps(testCluster().inNamespace(name), 'gateway');
    assert.ok(ip, 'the gateway has a ready pod');
    assertLocalTarget(ip);
    gw = `http://${ip}:8080`;
  });
  after(async () => {
    await deleteEnvironment(testCluster(), name).catch(() => undefined);
    assert.equal(await namespaceExists(name), false);
  });

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(gw + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as T };
  }

  it('starts in the template\'s order: stores, then the scheduler, media, rooms, the gateway last', () => {
    // First Ready: dependents start then, while the workload's settle window runs.
    const readyAt = (w: string) => events.findIndex((e) => e.type === 'workload' && e.name === w && (e.state === 'ready' || /^(\d+)\/\1 ready/.test(e.message ?? '')));
    const applyAt = (w: string) => events.findIndex((e) => e.type === 'workload' && e.name === w && e.state === 'applying');
    assert.ok(readyAt('redis') < applyAt('scheduler'));
    assert.ok(readyAt('scheduler') < applyAt('media'));
    assert.ok(readyAt('media') < applyAt('rooms'));
    for (const w of ['rooms', 'quality-ingest', 'quality-query']) assert.ok(readyAt(w) < applyAt('gateway'), w);
  });

  it('drives a meeting through the gateway', async () => {
    const status = await api<Record<string, string>>('GET', '/api/status');
    assert.deepEqual(Object.values(status.body).filter((v) => v !== 'ready'), [], JSON.stringify(status.body));
    const ada = await api<{ id: string }>('POST', '/api/users', { name: 'Ada', tenant: 'acme' });
    assert.equal(ada.status, 201);
    const room = await api<{ id: string }>('POST', '/api/rooms', { name: 'standup', owner: ada.body.id, region: 'zone-b' });
    assert.equal(room.status, 201);
    const joined = await api<{ sessionId: string }>('POST', `/api/rooms/${room.body.id}/join`, { userId: ada.body.id });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    const media = await api<{ allocation: { host: string; zone: string } }>('POST', `/api/rooms/${room.body.id}/media`, {});
    assert.equal(media.status, 200, JSON.stringify(media.body));
    assert.match(media.body.allocation.host, /^host-\d+$/);
    assert.equal(media.body.allocation.zone, 'zone-b');
  });
});
