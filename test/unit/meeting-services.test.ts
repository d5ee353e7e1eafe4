// The meeting mesh's domain logic: users, rooms, signalling, media sizing, gateway pages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dashboardPage } from '@kdev/templates/meeting/src/gateway/dashboard.js';
import { homePage } from '@kdev/templates/meeting/src/gateway/page.js';
import { HttpError } from '@kdev/templates/meeting/src/lib/http.js';
import { parseAllocation, size } from '@kdev/templates/meeting/src/media/sizing.js';
import { RoomRegistry } from '@kdev/templates/meeting/src/rooms/rooms.js';
import { SignallingHub } from '@kdev/templates/meeting/src/signalling/signalling.js';
import { UserDirectory } from '@kdev/templates/meeting/src/users/users.js';

const status = (n: number) => (e: unknown) => e instanceof HttpError && e.status === n;

describe('users', () => {
  it('creates users with a tenant and rejects bad input', () => {
    const d = new UserDirectory(2);
    const u = d.create({ name: 'Ada Lovelace', tenant: 'acme' });
    assert.match(u.id, /^u-/);
    assert.equal(d.get(u.id).tenant, 'acme');
    assert.equal(d.create({ name: 'Bob' }).tenant, 'default');
    assert.throws(() => d.create({ name: 'x' }), status(507));
    assert.throws(() => d.create({ name: '' }), status(400));
    assert.throws(() => d.create({ name: 'a', tenant: 'UPPER' }), status(400));
    assert.throws(() => d.get('nope'), status(404));
    assert.deepEqual(d.list('acme').map((x) => x.id), [u.id]);
  });
});

describe('rooms', () => {
  it('keeps tenants apart, caps capacity, joins idempotently', () => {
    const rooms = new RoomRegistry();
    const room = rooms.create({ name: 'standup', capacity: 2, region: 'zone-b' }, { id: 'u1', tenant: 'acme' });
    assert.equal(room.region, 'zone-b');
    const join = (id: string) => rooms.join(room, { userId: id, name: id, sessionId: `s-${id}`, joinedAt: '' });
    rooms.canJoin(room, { id: 'u1', tenant: 'acme' });
    join('u1');
    join('u1');
    assert.equal(room.participants.length, 1);
    assert.throws(() => rooms.canJoin(room, { id: 'x', tenant: 'other' }), status(403));
    join('u2');
    assert.throws(() => rooms.canJoin(room, { id: 'u3', tenant: 'acme' }), status(409));
    assert.equal(rooms.leave(room, 'u2'), true);
    assert.throws(() => rooms.create({ name: 'x', capacity: 1 }, { id: 'u', tenant: 't' }), status(400));
  });
});

describe('signalling', () => {
  it('delivers offers within a room, says bye on close, bounds mailboxes', () => {
    const hub = new SignallingHub(3);
    const a = hub.open({ roomId: 'r1', userId: 'a' });
    const b = hub.open({ roomId: 'r1', userId: 'b' });
    const c = hub.open({ roomId: 'r2', userId: 'c' });
    const m = hub.send({ from: a.id, to: b.id, type: 'offer', payload: 'v=0' });
    assert.deepEqual(hub.inbox(b.id).map((x) => x.type), ['offer']);
    assert.deepEqual(hub.inbox(b.id, m.seq), []);
    assert.throws(() => hub.send({ from: a.id, to: c.id, type: 'offer' }), status(403));
    assert.throws(() => hub.send({ from: a.id, to: b.id, type: 'nonsense' }), status(400));
    for (let i = 0; i < 5; i++) hub.send({ from: a.id, to: b.id, type: 'candidate', payload: String(i) });
    assert.equal(hub.inbox(b.id).length, 3);
    assert.equal(hub.close(a.id), true);
    assert.equal(hub.inbox(b.id).at(-1)!.type, 'bye');
    assert.deepEqual(hub.peers('r1').map((s) => s.userId), ['b']);
  });
});

describe('media sizing', () => {
  it('grows with participants and asks for the features the room needs', () => {
    const small = size(parseAllocation({ roomId: 'r', tenant: 't', participants: 2 }));
    const big = size(parseAllocation({ roomId: 'r', tenant: 't', participants: 100, recording: true, codec: 'av1' }));
    assert.ok(big.cpu > small.cpu && big.mem > small.mem);
    assert.deepEqual(small.features, ['h264-hw']);
    assert.deepEqual(big.features, ['recording', 'av1']);
    assert.ok(big.cpu <= 16_000);
    assert.throws(() => parseAllocation({ roomId: 'r', tenant: 't', codec: 'vp9' }), status(400));
  });
});

describe('gateway pages', () => {
  it('are self-contained (no external scripts) and reach the API', () => {
    for (const page of [homePage('7'), dashboardPage()]) {
      assert.doesNotMatch(page, /<script[^>]+src=|https?:\/\/(?!www\.w3)/);
      assert.match(page, /\/api\//);
    }
    assert.match(homePage('7'), /version <b id="version">7<\/b>/);
    assert.match(dashboardPage(), /<svg/);
  });
});
