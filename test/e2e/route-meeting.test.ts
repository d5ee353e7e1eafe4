// Two developers on `rooms` of the meeting template at once, through the gateway, on the
// real cluster: the part of the mesh a request needs to reach rooms (gateway → rooms →
// users) in a throw-away namespace; alice and bob (two ServiceAccount kubeconfigs) each
// start a routed duplicate of rooms with the template's own dev config and run rooms' own
// code in it; requests to the gateway with `x-kdev-route: alice`, with `bob` and with none
// each reach exactly the right rooms pod, as the rooms pods' own log lines (by x-request-id)
// show; the original rooms pod is untouched; both `dev end`s restore the rooms Service.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isNotFound, loadTemplate, raw, type Cluster, type DevEntry, type RawObject } from '@kdev/core/internals';
import { TEMPLATES_DIR } from '@kdev/templates/bundle.js';
import { assertLocalTarget, deployTemplate, podIps } from '@kdev/templates/tools/deploy.js';
import { jsonOf, runKdev } from '../lib/cli.js';
import { tempNamespace } from '../lib/cluster.js';
import { serviceAccountKubeconfig } from '../lib/identity.js';
import { assertRoutingUndone, podIdentities, ROUTE_RULES } from '../lib/route.js';
import { deliver } from '../lib/session.js';

/** What a request through the gateway needs to reach rooms: POST /api/rooms → rooms → users. */
const MESH = ['users', 'rooms', 'gateway'];
const N = Number(process.env.KDEV_ROUTE_MEETING_REQUESTS ?? 100);
const DEVS = ['alice', 'bob'] as const;
type Dev = (typeof DEVS)[number];

interface Sent {
  rid: string;
  status: number;
  body: string;
}

/** Polls `check` every 250 ms until it returns a value, for at most `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last: ${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** request id → the pods of `pods` whose rooms log has a request line with it (and the route it logged). */
async function roomsLines(cluster: Cluster, pods: string[]): Promise<Map<string, Array<{ pod: string; route?: string }>>> {
  const seen = new Map<string, Array<{ pod: string; route?: string }>>();
  for (const pod of pods) {
    let log: string;
    try {
      log = String(await cluster.core.readNamespacedPodLog({ name: pod, namespace: cluster.namespace, container: 'rooms' }));
    } catch (err) {
      if (isNotFound(err)) continue; // a duplicate that ended answers nothing any more
      throw err;
    }
    for (const text of log.split('\n')) {
      if (!text.startsWith('{')) continue; // the dev container's log also has the supervisor's lines
      const line = JSON.parse(text) as { svc?: string; rid?: string; route?: string; path?: string };
      if (line.svc !== 'rooms' || !line.rid || line.path !== '/rooms') continue;
      seen.set(line.rid, [...(seen.get(line.rid) ?? []), { pod, route: line.route }]);
    }
  }
  return seen;
}

describe('meeting: two developers on rooms at once, through the gateway', { timeout: 600_000 }, () => {
  let ns: Awaited<ReturnType<typeof tempNamespace>>;
  let gw = '';
  let owner = '';
  let configFile = '';
  let roomsEntry: DevEntry;
  let serviceBefore: RawObject;
  let originalPods: Map<string, string>;
  const kubeconfig: Partial<Record<Dev, string>> = {};
  const dupPod: Partial<Record<Dev, string>> = {};
  const run = Date.now().toString(36);
  const as = (who: Dev, args: string[]) => runKdev([...args, '-n', ns.name], { KUBECONFIG: kubeconfig[who] });

  before(async () => {
    ns = await tempNamespace('kdev-e2e-route-meeting');
    await deployTemplate(ns.cluster, join(TEMPLATES_DIR, 'meeting'), { only: MESH });
    for (const who of DEVS) kubeconfig[who] = await serviceAccountKubeconfig(ns.cluster, ns.name, who, ROUTE_RULES);
    const [ip] = await podIps(ns.cluster, 'gateway');
    assert.ok(ip, 'the gateway has a ready pod');
    assertLocalTarget(ip);
    gw = `http://${ip}:8080`;
    serviceBefore = await raw.get(ns.cluster, { apiVersion: 'v1', plural: 'services', namespace: ns.name, name: 'rooms' });
    originalPods = await podIdentities(ns.cluster, 'app=rooms');
    assert.equal(originalPods.size, 1, 'one original rooms pod');
    // The template's own dev config of rooms (run command, work dir, source folder), as a
    // developer's .kdev.yaml with the source folder made absolute.
    const template = loadTemplate(join(TEMPLATES_DIR, 'meeting'), { render: false });
    roomsEntry = template.devConfig.dev['deployment/rooms']!;
    assert.ok(roomsEntry?.run, 'the meeting template has a dev config for rooms');
    configFile = join(mkdtempSync(join(tmpdir(), 'kdev-route-meeting-')), '.kdev.yaml');
    writeFileSync(configFile, JSON.stringify({ version: 1, dev: { 'deployment/rooms': { ...roomsEntry, sync: { ...roomsEntry.sync, local: join(template.dir, roomsEntry.sync.local) } } } }));
    // A user for the rooms to belong to: through the gateway to users, not to rooms. The
    // gateway must hold no keep-alive connection to the original rooms pod when the Service is
    // switched: one opened before stays on that pod, route header or not (docs/routing.md,
    // "What remains").
    const r = await fetch(`${gw}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', tenant: 'acme' }) });
    assert.equal(r.status, 201, await r.clone().text());
    owner = ((await r.json()) as { id: string }).id;
  });
  after(async () => {
    if (configFile) rmSync(dirname(configFile), { recursive: true, force: true });
    await ns?.remove();
  });

  /** POST /api/rooms through the gateway, `count` times, 8 at a time, each with its own request id. */
  async function createRooms(tag: string, count: number, headers: Record<string, string> = {}): Promise<Sent[]> {
    const sent: Sent[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const rid = `rm-${run}-${tag}-${next++}`;
        try {
          const r = await fetch(`${gw}/api/rooms`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': rid, ...headers },
            body: JSON.stringify({ name: `${tag} standup`, owner, region: 'zone-a' }),
            signal: AbortSignal.timeout(20_000),
          });
          sent.push({ rid, status: r.status, body: await r.text() });
        } catch (err) {
          sent.push({ rid, status: 0, body: (err as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return sent;
  }

  /** Every request answered 201 and logged by rooms exactly once, in `pod`, with `route`. */
  async function assertReached(what: string, sent: Sent[], pod: string, route: string | undefined): Promise<void> {
    const failed = sent.filter((s) => s.status !== 201);
    assert.deepEqual(failed.slice(0, 3), [], `${what}: ${failed.length} of ${sent.length} not created`);
    const pods = [...originalPods.keys(), ...DEVS.map((d) => dupPod[d]!)];
    // a log line reaches the container log shortly after its answer: wait for all of them
    const lines = await until(`${what}: every request in a rooms log`, 30_000, async () => {
      const seen = await roomsLines(ns.cluster, pods);
      return sent.every((s) => seen.has(s.rid)) ? seen : undefined;
    });
    const byPod = new Map<string, number>();
    const wrong: string[] = [];
    for (const s of sent) {
      const at = lines.get(s.rid)!;
      for (const l of at) byPod.set(l.pod, (byPod.get(l.pod) ?? 0) + 1);
      if (at.length !== 1 || at[0]!.pod !== pod || at[0]!.route !== route) wrong.push(`${s.rid}: ${JSON.stringify(at)}`);
    }
    process.stdout.write(`# ${what}: ${sent.length} requests, answered by ${JSON.stringify(Object.fromEntries(byPod))}\n`);
    assert.deepEqual(wrong.slice(0, 5), [], `${what}: ${wrong.length} of ${sent.length} misrouted (expected pod ${pod})`);
  }

  it("alice and bob each start a routed duplicate of rooms and run rooms' own code in it", async () => {
    const local = JSON.parse(readFileSync(configFile, 'utf8')).dev['deployment/rooms'].sync.local as string;
    const files = Object.fromEntries(readdirSync(local).map((f) => [f, readFileSync(join(local, f), 'utf8')]));
    assert.ok(files['main.mjs'], `rooms' bundle in ${local} (npm run build makes it)`);
    for (const who of DEVS) {
      const r = await as(who, ['-o', 'json', 'dev', 'start', 'rooms', '--mode', 'duplicate', '--route', who, '--config', configFile, '--no-sync']);
      const session = jsonOf<{ pod: string; container: string; workDir: string; route?: { header: string; value: string } }>(r);
      assert.deepEqual(session.route, { header: 'x-kdev-route', value: who }, r.stderr);
      dupPod[who] = session.pod;
      // the files a sync would bring (rooms' bundle), then the template's run command under the supervisor
      await deliver(ns.cluster, { workload: 'deployment/rooms', namespace: ns.name, pod: session.pod, container: session.container, podSelector: '', workDir: session.workDir }, files, { synced: false });
      const started = await as(who, ['-o', 'json', 'dev', 'run', 'rooms', '--detach', '--config', configFile]);
      const status = jsonOf<{ pod: string; command: string; status: { state: string } }>(started);
      assert.equal(status.pod, session.pod, `${who}'s run goes to ${who}'s duplicate`);
      assert.equal(status.command, roomsEntry.run);
      assert.equal(status.status.state, 'running', started.stderr);
      // rooms answers in the duplicate (a dev container has no readiness probe of its own)
      const pod = await ns.cluster.core.readNamespacedPod({ name: session.pod, namespace: ns.name });
      assertLocalTarget(pod.status!.podIP!);
      await until(`rooms in ${who}'s duplicate to answer`, 60_000, async () => ((await fetch(`http://${pod.status!.podIP}:8080/readyz`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined));
    }
    const svc = await raw.get(ns.cluster, { apiVersion: 'v1', plural: 'services', namespace: ns.name, name: 'rooms' });
    assert.equal(svc.spec!.clusterIP, serviceBefore.spec!.clusterIP, 'cluster IP unchanged');
    assert.deepEqual(svc.spec!.ports, serviceBefore.spec!.ports, 'ports unchanged');
    assert.notDeepEqual(svc.spec!.selector, serviceBefore.spec!.selector, 'the Service now selects the router');
  });

  it(`${N} requests through the gateway each with alice's header, bob's and none reach exactly the right rooms pod`, async () => {
    const [a, b, none] = await Promise.all([createRooms('alice', N, { 'x-kdev-route': 'alice' }), createRooms('bob', N, { 'x-kdev-route': 'bob' }), createRooms('none', N)]);
    await assertReached('alice', a, dupPod.alice!, 'alice');
    await assertReached('bob', b, dupPod.bob!, 'bob');
    await assertReached('no header', none, [...originalPods.keys()][0]!, undefined);
    // Each copy keeps its own rooms: alice's room is found on her route only.
    const room = (JSON.parse(a[0]!.body) as { id: string }).id;
    const get = async (headers: Record<string, string>) => (await fetch(`${gw}/api/rooms/${room}`, { headers })).status;
    assert.equal(await get({ 'x-kdev-route': 'alice' }), 200);
    assert.equal(await get({ 'x-kdev-route': 'bob' }), 404);
    assert.equal(await get({}), 404);
  });

  it("bob's end keeps alice's route; alice's end restores the rooms Service exactly; the original pod is untouched", async () => {
    const e = await as('bob', ['dev', 'end', 'rooms']);
    assert.equal(e.code, 0, e.stderr);
    const [a, b] = await Promise.all([createRooms('alice-after-bob', 20, { 'x-kdev-route': 'alice' }), createRooms('bob-after-end', 20, { 'x-kdev-route': 'bob' })]);
    await assertReached('alice after bob ended', a, dupPod.alice!, 'alice');
    await assertReached("bob's header after bob ended", b, [...originalPods.keys()][0]!, 'bob');

    const f = await as('alice', ['dev', 'end', 'rooms']);
    assert.equal(f.code, 0, f.stderr);
    await assertRoutingUndone(ns.cluster, serviceBefore, 'app=rooms', originalPods);
    // The gateway's keep-alive connections to the router end with it: once it answers again,
    // every request reaches the original pod.
    await until('the gateway to create a room again', 60_000, async () => ((await createRooms('first-after-end', 1))[0]!.status === 201 ? true : undefined));
    await assertReached('after both ended', await createRooms('after-end', 20), [...originalPods.keys()][0]!, undefined);
  });
});
