// The meeting template end to end on the real cluster: deploy it into a throw-away
// namespace, drive a meeting through the gateway (users, a room, joining, a media server
// from the scheduler, quality reports, querying them back from OpenSearch), delete it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { assertLocalTarget, deployTemplate, podIps } from '@kdev/templates/tools/deploy.js';
import { tempNamespace } from '../lib/cluster.js';

describe('meeting template', { timeout: 900_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let gw = '';

  before(async () => {
    ns = await tempNamespace('kdev-e2e-meeting');
    await deployTemplate(ns.cluster, join(TEMPLATES_DIR, 'meeting'), { params: { hosts: '200' } });
    const [ip] = await podIps(ns.cluster, 'gateway');
    assert.ok(ip, 'the gateway has a ready pod');
    assertLocalTarget(ip);
    gw = `http://${ip}:8080`;
  });
  after(async () => ns?.remove());

  async function api<T>(method: string, path: string, body?: unknown, rid?: string): Promise<{ status: number; body: T; rid: string | null }> {
    const r = await fetch(gw + path, { method, headers: { 'content-type': 'application/json', ...(rid ? { 'x-request-id': rid } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as T, rid: r.headers.get('x-request-id') };
  }

  it('drives a meeting through the gateway', async () => {
    const status = await api<Record<string, string>>('GET', '/api/status');
    assert.deepEqual(Object.values(status.body).filter((v) => v !== 'ready'), [], JSON.stringify(status.body));

    const page = await fetch(gw + '/');
    assert.match(await page.text(), /kdev meeting/);

    const ada = await api<{ id: string }>('POST', '/api/users', { name: 'Ada', tenant: 'acme' });
    const bob = await api<{ id: string }>('POST', '/api/users', { name: 'Bob', tenant: 'acme' });
    assert.equal(ada.status, 201);

    const room = await api<{ id: string; region: string }>('POST', '/api/rooms', { name: 'standup', owner: ada.body.id, region: 'zone-b' }, 'e2e-room-1');
    assert.equal(room.status, 201);
    assert.equal(room.rid, 'e2e-room-1');

    for (const u of [ada, bob]) {
      const j = await api<{ room: { participants: unknown[] }; sessionId: string }>('POST', `/api/rooms/${room.body.id}/join`, { userId: u.body.id });
      assert.equal(j.status, 200, JSON.stringify(j.body));
      assert.match(j.body.sessionId, /^s-/);
    }
    const peers = await api<{ peers: unknown[] }>('GET', `/api/rooms/${room.body.id}/peers`);
    assert.equal(peers.body.peers.length, 2, 'signalling knows both participants');
    const stranger = await api('POST', `/api/rooms/${room.body.id}/join`, { userId: 'u-nobody' });
    assert.equal(stranger.status, 404);

    const media = await api<{ allocation: { host: string; zone: string; replica: string } }>('POST', `/api/rooms/${room.body.id}/media`, {});
    assert.equal(media.status, 200, JSON.stringify(media.body));
    assert.match(media.body.allocation.host, /^host-\d+$/);
    assert.equal(media.body.allocation.zone, 'zone-b', 'the zone constraint held');
    const host = await fetch(`http://${(await podIps(ns.cluster, 'scheduler'))[0]}:8080/hosts/${media.body.allocation.host}`).then((r) => r.json() as Promise<{ spec: { features: string[] }; use: { cpu: number } }>);
    assert.ok(host.spec.features.includes('h264-hw'), 'the feature constraint held');

    const reports = Array.from({ length: 30 }, (_, i) => ({
      user: i % 2 ? ada.body.id : bob.body.id,
      room: room.body.id,
      region: 'eu-west',
      network: i % 3 ? 'wifi' : 'cellular',
      bitrateKbps: 1000 + i,
      lossPct: (i % 5) / 2,
      jitterMs: 10 + i,
      cpuPct: 40,
      memMb: 600,
      os: 'Linux',
      appVersion: i < 15 ? '5.1.0' : '5.2.0',
    }));
    const posted = await api<{ accepted: number }>('POST', '/api/quality', { reports });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal(posted.body.accepted, 30);
    const invalid = await api('POST', '/api/quality', { ...reports[0], lossPct: 400 });
    assert.equal(invalid.status, 400);

    // indexing is asynchronous (queue → indexer → refresh): wait for the documents to be searchable
    let byRoom: { status: number; body: { total: number; breakdown: Array<{ key: string; count: number }>; avg: { bitrateKbps?: number } } } | undefined;
    for (let i = 0; i < 60; i++) {
      byRoom = await api('GET', `/api/quality/rooms/${room.body.id}`);
      if (byRoom.status === 200 && byRoom.body.total === 30) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.equal(byRoom?.body.total, 30, JSON.stringify(byRoom?.body));
    assert.equal(byRoom!.body.breakdown.length, 2);
    assert.ok(Math.abs(byRoom!.body.avg.bitrateKbps! - 1014.5) < 0.01);
    const byUser = await api<{ total: number }>('GET', `/api/quality/users/${ada.body.id}`);
    assert.equal(byUser.body.total, 15);
    const byVersion = await api<{ series: Array<{ key: string; count: number }> }>('GET', '/api/quality/aggregate?by=version&interval=60&since=3600');
    assert.deepEqual(byVersion.body.series.map((s) => [s.key, s.count]).sort(), [['5.1.0', 15], ['5.2.0', 15]]);
    const dash = await fetch(gw + '/dashboard');
    assert.match(await dash.text(), /Call quality/);
  });
});
