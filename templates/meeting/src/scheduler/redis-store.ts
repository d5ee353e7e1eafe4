// The shared store on Redis. Every write goes through a Lua script, which Redis runs
// atomically: a commit re-checks each host's capacity against what is placed on it now
// (optimistic concurrency on the one thing that can make a placement wrong; a host that
// others changed since the replica's view but that still fits takes the placement), applies
// the usage, bumps the global version and appends the commit to the change log (a sorted
// set scored by version), which replicas read to refresh their caches.
//
// Redis is the one resource every replica shares, and every replica reads every change,
// so both sides do little per item:
// - a host's usage is a packed `v|cpu|mem|gpu` string and its capacity `cpu|mem|gpu` (read
//   with one string.match, no JSON); its per-tenant counts live in a hash of their own
//   (sched:ten:<host>, one HINCRBY), so a commit's cost does not grow with the tenants a
//   host has seen (with JSON usage records holding the tenant counts, every commit decoded
//   and re-encoded that growing object: about 20 µs of Redis time per placement);
// - a commit takes one version for all its items and writes the usages, the placements
//   and one change-log entry for the whole batch with one command each: per item, the
//   script reads the usage and the capacity and counts the tenant, nothing more;
// - a log entry carries its writer, so a replica skips its own commits without decoding
//   them, and decodes the others' in one pass over the entry (store.ts, decodeEntry).
//   (With one sorted-set member per change, replicas spent about 6 µs per change reading
//   the log: a reply element, a split and five Number() conversions each. Every replica
//   reads every change, so that cost grew with the number of replicas.)
import { createHash, randomBytes } from 'node:crypto';
import type { Redis, RespValue } from '../lib/redis.js';
import { ok, RedisReplyError } from '../lib/redis.js';
import type { HostSpec, HostUsage } from './placement.js';
import { decodeEntry, FencedError, KEYS, LOG_KEEP, LOG_SEPARATORS, LOG_TRIM, type CommitItem, type CommitOutcome, type Refusal, type Store, type SyncResult, type UsageDelta } from './store.js';

// Keeps the change log bounded: past LOG_KEEP + LOG_TRIM entries, the oldest LOG_TRIM go
// and the floor moves up (a replica behind the floor reloads its cache from a snapshot).
const TRIM_LUA = `
if redis.call('ZCARD', '${KEYS.log}') > ${LOG_KEEP + LOG_TRIM} then
  redis.call('ZREMRANGEBYRANK', '${KEYS.log}', 0, ${LOG_TRIM - 1})
  local first = redis.call('ZRANGE', '${KEYS.log}', 0, 0, 'WITHSCORES')
  redis.call('SET', '${KEYS.logFloor}', tonumber(first[2]) - 1)
end
`;

// Shared by the scripts: packed records, a host's tenant counts, where a placement is,
// multi-field HSET.
const HELPERS_LUA = `
local NUM = '(-?[%d.e+]+)'
local function use_of(raw)
  local v, cpu, mem, gpu = string.match(raw, '^' .. NUM .. '|' .. NUM .. '|' .. NUM .. '|' .. NUM .. '$')
  return tonumber(v), tonumber(cpu), tonumber(mem), tonumber(gpu)
end
local function tenants_of(host)
  return redis.call('HGETALL', '${KEYS.tenantsPrefix}' .. host)
end
local function placement_host(pid)
  local rec = redis.call('HGET', '${KEYS.placements}', pid)
  return rec and string.match(rec, '^([^|]*)')
end
-- a store that holds a lease (epoch ~= '0') and no longer has it was swept: fenced
local function fenced(id, epoch)
  return epoch ~= '0' and redis.call('HGET', '${KEYS.leases}', id) ~= epoch
end
local function push_all(cmd, key, args, from, to)
  for i = from, to, 1000 do
    redis.call(cmd, key, unpack(args, i, math.min(i + 999, to)))
  end
end
local function hset_all(key, args)
  for i = 1, #args, 400 do
    redis.call('HSET', key, unpack(args, i, math.min(i + 399, #args)))
  end
end
`;

// ARGV: writer, store id, lease epoch, then per item: placement, cpu, mem, gpu, tenant, n,
// then n pairs of host, expect (the host planned, then its alternates). A store whose lease
// a sweep took away is refused whole (error FENCED): what it planned was put back in the
// queue for others. Flat arguments and a plain array reply:
// no JSON to decode or encode in Redis, and the numbers stay the strings they came as.
// Returns, per item, {ok, v, at, refusals, use?, tenants?}: ok 1 committed at version v on
// the at-th host (0-based) after the refusals listed ({host, reason, use?, tenants?}, use
// packed, tenants flat), and, when that host's version was not the one planned with (others
// changed it since), its usage and tenants after the commit; ok 0 when every host refused.
// A host refuses only when the item no longer fits it (capacity) or it is unknown. Items
// are checked in order against the state their predecessors left, so a host that an
// earlier item of the same commit filled refuses a later one: never over-commits.
// A placement id that is placed already (an earlier commit of it ran, its answer lost; or
// the same id twice in one commit) is not placed again: ok 2, then its host, that host's
// usage and tenants, so a retried commit is harmless.
export const COMMIT_LUA = `
${HELPERS_LUA}
local writer = ARGV[1]
if fenced(ARGV[2], ARGV[3]) then return redis.error_reply('FENCED') end
local out, uses, placed, changes, pending, now = {}, {}, {}, {}, {}, {}
local nv, nvs = nil, nil
local a = 4
while a <= #ARGV do
  local pid, cpu, mem, gpu, tenant, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5])
  local first = a + 6
  a = first + 2 * n
  local refused = {}
  local outcome = {0, 0, -1, refused}
  local before = now[pid] or placement_host(pid)
  if before then
    outcome = {2, 0, -1, refused, before, pending[before] or redis.call('HGET', '${KEYS.use}', before), tenants_of(before)}
    n = 0
  end
  for k = 0, n - 1 do
    local host, expect = ARGV[first + 2 * k], tonumber(ARGV[first + 2 * k + 1])
    local raw = pending[host] or redis.call('HGET', '${KEYS.use}', host)
    if not raw then
      refused[#refused + 1] = {host, 'unknown-host'}
    else
      local v, ucpu, umem, ugpu = use_of(raw)
      local ccpu, cmem, cgpu = string.match(redis.call('HGET', '${KEYS.cap}', host), '^' .. NUM .. '|' .. NUM .. '|' .. NUM .. '$')
      local fits = ucpu + cpu <= tonumber(ccpu) and umem + mem <= tonumber(cmem) and ugpu + gpu <= tonumber(cgpu)
      if not fits then
        refused[#refused + 1] = {host, 'capacity', raw, tenants_of(host)}
      else
        if not nv then
          nv = redis.call('INCR', '${KEYS.version}')
          nvs = tostring(nv)
        end
        local rec = nvs .. '|' .. (ucpu + cpu) .. '|' .. (umem + mem) .. '|' .. (ugpu + gpu)
        pending[host] = rec
        uses[#uses + 1] = host
        uses[#uses + 1] = rec
        placed[#placed + 1] = pid
        placed[#placed + 1] = host .. '|' .. cpu .. '|' .. mem .. '|' .. gpu .. '|' .. tenant
        now[pid] = host
        changes[#changes + 1] = host .. ',' .. cpu .. ',' .. mem .. ',' .. gpu .. ',1,' .. tenant
        redis.call('HINCRBY', '${KEYS.tenantsPrefix}' .. host, tenant, 1)
        outcome = {1, nv, k, refused}
        -- changed since the version planned with: the whole usage, for the replica's cache
        if v ~= expect then
          outcome[5] = rec
          outcome[6] = tenants_of(host)
        end
        break
      end
    end
  end
  out[#out + 1] = outcome
end
if nv then
  hset_all('${KEYS.use}', uses)
  hset_all('${KEYS.placements}', placed)
  redis.call('ZADD', '${KEYS.log}', nv, nvs .. '|' .. writer .. '|' .. table.concat(changes, ';'))
${TRIM_LUA}
end
return out
`;

// ARGV[1]: placement id. Returns 1 if released.
export const RELEASE_LUA = `
${HELPERS_LUA}
local raw = redis.call('HGET', '${KEYS.placements}', ARGV[1])
if not raw then return 0 end
local host, cpu, mem, gpu, tenant = string.match(raw, '^([^|]*)|' .. NUM .. '|' .. NUM .. '|' .. NUM .. '|(.*)$')
cpu, mem, gpu = tonumber(cpu), tonumber(mem), tonumber(gpu)
local v, ucpu, umem, ugpu = use_of(redis.call('HGET', '${KEYS.use}', host))
local nv = redis.call('INCR', '${KEYS.version}')
redis.call('HSET', '${KEYS.use}', host, nv .. '|' .. (ucpu - cpu) .. '|' .. (umem - mem) .. '|' .. (ugpu - gpu))
if redis.call('HINCRBY', '${KEYS.tenantsPrefix}' .. host, tenant, -1) <= 0 then
  redis.call('HDEL', '${KEYS.tenantsPrefix}' .. host, tenant)
end
redis.call('ZADD', '${KEYS.log}', nv, nv .. '||' .. host .. ',' .. cpu .. ',' .. mem .. ',' .. gpu .. ',-1,' .. tenant)
redis.call('HDEL', '${KEYS.placements}', ARGV[1])
${TRIM_LUA}
return 1
`;

// ARGV[1]: since. Returns {floor, entry, entry, ...}: the log's floor and the entries after
// \`since\`, in version order (no decoding in Redis, none of the host's state).
export const CHANGES_LUA = `
local floor = tonumber(redis.call('GET', '${KEYS.logFloor}') or '0')
local out = redis.call('ZRANGEBYSCORE', '${KEYS.log}', '(' .. ARGV[1], '+inf')
table.insert(out, 1, floor)
return out
`;

// ARGV: store id, exchange number, count, lease epoch, then the results to push. Checks the
// lease first: a store that was swept (fenced) is refused whole (error FENCED), so its
// results are never pushed and it takes nothing; a store without a lease (epoch '0') gets
// one. Then pushes the results, pops up to count queued requests and keeps them,
// after the exchange number, in that store's taken list: if the answer is lost, the store
// reads them back (reclaim) instead of losing them. The previous exchange's list becomes
// `:prev` (those requests are committed by now, their results still in the replica) and
// the one before goes: what a replica holds in memory is always in Redis too, so if it
// dies another replica's sweep puts those requests back in the queue. sched:takers scores
// each store by the time of its last exchange (Redis's clock).
export const TAKE_LUA = `
${HELPERS_LUA}
local epoch = ARGV[4]
if fenced(ARGV[1], epoch) then return redis.error_reply('FENCED') end
if epoch == '0' then
  epoch = tostring(redis.call('INCR', '${KEYS.epoch}'))
  redis.call('HSET', '${KEYS.leases}', ARGV[1], epoch)
end
if #ARGV > 4 then push_all('RPUSH', '${KEYS.results}', ARGV, 5, #ARGV) end
local key = '${KEYS.takenPrefix}' .. ARGV[1]
local prev = key .. ':prev'
redis.call('DEL', prev)
if redis.call('EXISTS', key) == 1 then redis.call('RENAME', key, prev) end
local items = redis.call('LPOP', '${KEYS.queue}', ARGV[3])
if items then
  redis.call('RPUSH', key, ARGV[2])
  for i = 1, #items, 1000 do
    redis.call('RPUSH', key, unpack(items, i, math.min(i + 999, #items)))
  end
end
if items or redis.call('EXISTS', prev) == 1 then
  local t = redis.call('TIME')
  redis.call('ZADD', '${KEYS.takers}', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
else
  redis.call('ZREM', '${KEYS.takers}', ARGV[1])
end
return {epoch, items or {}}
`;

// ARGV: stale after (ms). The stores whose last exchange is older than that and which still
// hold taken requests (a replica that died, or one silent that long): their requests go back
// to the head of the queue, older first, their lists are removed and their leases deleted,
// so a silent replica that wakes up is refused (fenced) instead of answering a request that
// is someone else's now. Returns how many went back.
export const SWEEP_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local back = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', '${KEYS.takers}', '-inf', now - tonumber(ARGV[1]))) do
  local key = '${KEYS.takenPrefix}' .. id
  -- the newest list first, each in reverse, so that LPUSH leaves them in their order
  for _, list in ipairs({key, key .. ':prev'}) do
    local items = redis.call('LRANGE', list, 1, -1)
    for i = #items, 1, -1 do
      redis.call('LPUSH', '${KEYS.queue}', items[i])
      back = back + 1
    end
    redis.call('DEL', list)
  end
  redis.call('ZREM', '${KEYS.takers}', id)
  redis.call('HDEL', '${KEYS.leases}', id)
end
return back
`;

// ARGV: store id, lease epoch, number of requests, the requests, then the results. A clean
// stop: the requests go back to the head of the queue, the results are pushed, and the
// store's lists and lease go. A fenced store gives back nothing (returns 0): a sweep put
// what it held back already.
export const GIVE_BACK_LUA = `
${HELPERS_LUA}
if fenced(ARGV[1], ARGV[2]) then return 0 end
local n = tonumber(ARGV[3])
for i = 3 + n, 4, -1 do redis.call('LPUSH', '${KEYS.queue}', ARGV[i]) end
if #ARGV > 3 + n then push_all('RPUSH', '${KEYS.results}', ARGV, 4 + n, #ARGV) end
local key = '${KEYS.takenPrefix}' .. ARGV[1]
redis.call('DEL', key, key .. ':prev')
redis.call('ZREM', '${KEYS.takers}', ARGV[1])
redis.call('HDEL', '${KEYS.leases}', ARGV[1])
return 1
`;

// ARGV: placement ids. Returns {id, host, usage, tenants} for each id that is placed.
export const PLACED_LUA = `
${HELPERS_LUA}
local out = {}
for i = 1, #ARGV do
  local host = placement_host(ARGV[i])
  if host then out[#out + 1] = {ARGV[i], host, redis.call('HGET', '${KEYS.use}', host), tenants_of(host)} end
end
return out
`;

/** A host's usage from its packed record and its flat tenant → count list. */
function parseUse(raw: string, tenants: readonly RespValue[] = []): HostUsage {
  const f = raw.split('|');
  if (f.length !== 4) throw new Error(`bad usage record ${JSON.stringify(raw)}`);
  const ten: Record<string, number> = {};
  for (let i = 0; i + 1 < tenants.length; i += 2) {
    const n = Number(tenants[i + 1]);
    if (n > 0) ten[String(tenants[i])] = n;
  }
  return { v: Number(f[0]), cpu: Number(f[1]), mem: Number(f[2]), gpu: Number(f[3]), ten };
}

/** The packed usage record of a host (`v|cpu|mem|gpu`). */
const packUse = (u: Pick<HostUsage, 'v' | 'cpu' | 'mem' | 'gpu'>): string => `${u.v}|${u.cpu}|${u.mem}|${u.gpu}`;

export interface RedisStoreOptions {
  /** A second connection for the blocking wait (waitRequest), so it never delays commits. */
  blocking?: Redis;
  /**
   * Leave this store's own commits out of sync() (a scheduler replica: its cache applied
   * them when they were committed). Each store then tags its commits with a random writer id.
   * A commit whose answer was lost (the connection dropped after Redis ran it) is then
   * missing from that cache until the replica looks its requests up again (placedAlready
   * brings the host's current usage) or the host's next refusal does.
   */
  skipOwn?: boolean;
}

export class RedisStore implements Store {
  private readonly blocking?: Redis;
  /** Names this store: its taken lists (TAKE_LUA) and, with skipOwn, its commits. */
  readonly id = randomBytes(6).toString('hex');
  /** The writer id of this store's commits ('' when it reads its own commits back). */
  readonly writer: string;
  private exchanges = 0;
  /** The number of the last exchange that took requests and whose answer has not been read. */
  private unansweredTake: number | undefined;
  /**
   * This store's lease epoch ('0': none yet). The first taking exchange gets one; every
   * commit, take and give-back carries it, and Redis refuses them once a sweep deleted it.
   */
  private epoch = '0';
  /** Reading the change log: time spent decoding its entries, and the changes they held (others' only). */
  readonly stats = { decodeMs: 0, changesDecoded: 0 };

  constructor(
    private readonly redis: Redis,
    opts: RedisStoreOptions = {},
  ) {
    this.blocking = opts.blocking;
    this.writer = opts.skipOwn ? this.id : '';
  }

  /**
   * Every host's spec and usage at one moment: one MULTI/EXEC, so no commit lands between
   * reading the version, the usages and the tenant counts.
   */
  async snapshot(): Promise<{ version: number; hosts: Array<{ spec: HostSpec; use: HostUsage }> }> {
    const ids = ok(await this.redis.call('HKEYS', KEYS.spec)) as string[];
    const cmds: Array<Array<string | number>> = [['MULTI'], ['GET', KEYS.version], ['HGETALL', KEYS.spec], ['HGETALL', KEYS.use]];
    for (const id of ids) cmds.push(['HGETALL', KEYS.tenantsPrefix + id]);
    cmds.push(['EXEC']);
    const replies = await this.redis.pipeline(cmds);
    const exec = ok(replies[replies.length - 1]) as RespValue[] | null;
    if (!Array.isArray(exec)) throw new Error('snapshot transaction aborted');
    const [ver, specs, uses, ...tenants] = exec.map(ok);
    const specList = specs as string[];
    const useList = uses as string[];
    const useById = new Map<string, string>();
    for (let i = 0; i < useList.length; i += 2) useById.set(useList[i]!, useList[i + 1]!);
    const tenantsById = new Map<string, RespValue[]>();
    ids.forEach((id, i) => tenantsById.set(id, (tenants[i] as RespValue[] | null) ?? []));
    const hosts: Array<{ spec: HostSpec; use: HostUsage }> = [];
    for (let i = 0; i < specList.length; i += 2) {
      const id = specList[i]!;
      const raw = useById.get(id);
      if (raw) hosts.push({ spec: JSON.parse(specList[i + 1]!) as HostSpec, use: parseUse(raw, tenantsById.get(id)) });
    }
    return { version: Number(ver ?? 0), hosts };
  }

  async sync(since: number, pop: number, results: readonly string[]): Promise<SyncResult> {
    const replies = await this.redis.pipeline(this.syncCommands(since, pop, results));
    return this.syncResult(replies, since, pop, results);
  }

  async commit(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    if (items.length === 0) return [];
    const reply = await this.redis.eval(COMMIT_LUA, [], this.commitArgs(items)).catch((err: unknown) => (err instanceof RedisReplyError ? err : Promise.reject(err)));
    return parseOutcomes(this.unfenced(reply));
  }

  async commitThenSync(items: readonly CommitItem[], since: number, pop: number, results: readonly string[]): Promise<{ outcomes: CommitOutcome[]; sync: SyncResult }> {
    if (items.length === 0) return { outcomes: [], sync: await this.sync(since, pop, results) };
    const args = this.commitArgs(items);
    const replies = await this.redis.pipeline([['EVALSHA', sha(COMMIT_LUA), 0, ...args], ...this.syncCommands(since, pop, results)]);
    const outcomes = parseOutcomes(this.unfenced(await this.scriptReply(replies[0]!, COMMIT_LUA, args)));
    return { outcomes, sync: await this.syncResult(replies.slice(1), since, pop, results) };
  }

  /**
   * A script's reply, with FENCED (this store's lease is gone) thrown as a FencedError: the
   * store forgets its lease and what its last exchange took (a sweep put it back).
   */
  private unfenced(reply: RespValue): RespValue {
    // Redis 7 answers redis.error_reply('FENCED') as "ERR FENCED"
    if (reply instanceof RedisReplyError && /^(ERR )?FENCED\b/.test(reply.message)) {
      this.epoch = '0';
      this.unansweredTake = undefined;
      throw new FencedError(this.id);
    }
    return ok(reply);
  }

  /** COMMIT_LUA's arguments: the writer, this store's id and lease, then each item flat (see the script). */
  private commitArgs(items: readonly CommitItem[]): string[] {
    const args = [this.writer, this.id, this.epoch];
    for (const i of items) {
      args.push(i.placement, String(i.cpu), String(i.mem), String(i.gpu), i.tenant, String(1 + (i.alternates?.length ?? 0)), i.host, String(i.expect));
      for (const a of i.alternates ?? []) args.push(a.host, String(a.expect));
    }
    return args;
  }

  /** TAKE_LUA's arguments (the results travel in the script, checked against the lease). */
  private takeArgs(pop: number, results: readonly string[]): Array<string | number> {
    return [this.id, this.unansweredTake!, pop, this.epoch, ...results];
  }

  /**
   * The changes, then (pop > 0) the fenced exchange: results pushed and requests taken.
   * Without a pop (a replica not on the shared queue) there are no results to push.
   */
  private syncCommands(since: number, pop: number, results: readonly string[]): Array<Array<string | number>> {
    const cmds: Array<Array<string | number>> = [];
    if (pop === 0 && results.length > 0) cmds.push(['RPUSH', KEYS.results, ...results]);
    cmds.push(['EVALSHA', sha(CHANGES_LUA), 0, since]);
    if (pop > 0) {
      this.unansweredTake = ++this.exchanges;
      cmds.push(['EVALSHA', sha(TAKE_LUA), 0, ...this.takeArgs(pop, results)]);
    }
    return cmds;
  }

  private async syncResult(replies: RespValue[], since: number, pop: number, results: readonly string[]): Promise<SyncResult> {
    let idx = pop === 0 && results.length > 0 ? 1 : 0;
    if (idx === 1) ok(replies[0]);
    const arr = ok(await this.scriptReply(replies[idx]!, CHANGES_LUA, [since])) as RespValue[];
    const deltas: UsageDelta[] = [];
    let top = since;
    const t0 = performance.now();
    for (let i = 1; i < arr.length; i++) {
      const entry = arr[i];
      const v = typeof entry === 'string' ? decodeEntry(entry, this.writer, deltas) : NaN;
      if (v > top) top = v;
    }
    this.stats.decodeMs += performance.now() - t0;
    this.stats.changesDecoded += deltas.length;
    idx++;
    let popped: RespValue = null;
    if (pop > 0) {
      const [epoch, items] = this.unfenced(await this.scriptReply(replies[idx]!, TAKE_LUA, this.takeArgs(pop, results))) as [string, RespValue];
      this.epoch = String(epoch);
      popped = items;
      this.unansweredTake = undefined;
    }
    return { floor: Number(arr[0]), deltas, top, requests: Array.isArray(popped) ? (popped as string[]) : [] };
  }

  /**
   * The reply of a script sent by EVALSHA in a pipeline. One that Redis had not cached (a
   * restarted Redis) did not run, so it runs now.
   */
  private async scriptReply(reply: RespValue, script: string, args: ReadonlyArray<string | number>): Promise<RespValue> {
    return reply instanceof Error && reply.message.startsWith('NOSCRIPT') ? this.redis.eval(script, [], args) : reply;
  }

  async placedAlready(ids: readonly string[]): Promise<Map<string, { host: string; use: HostUsage }>> {
    const out = new Map<string, { host: string; use: HostUsage }>();
    if (ids.length === 0) return out;
    for (const row of ok(await this.redis.eval(PLACED_LUA, [], ids)) as RespValue[][]) {
      const [id, host, use, tenants] = row as [string, string, string, RespValue[]];
      out.set(id, { host, use: parseUse(use, tenants) });
    }
    return out;
  }

  async reclaim(): Promise<string[]> {
    const exchange = this.unansweredTake;
    if (exchange === undefined) return [];
    const [list, lease] = await this.redis.pipeline([
      ['LRANGE', KEYS.takenPrefix + this.id, 0, -1],
      ['HGET', KEYS.leases, this.id],
    ]);
    const taken = ok(list) as string[];
    this.unansweredTake = undefined;
    // an older exchange's list means the unanswered one never ran: it took nothing. The
    // list stays: the requests are in this replica's hands again, and the next exchange
    // moves it on like any other. The exchange that ran may have granted this store its
    // lease (the answer carrying it was lost): the requests come back with it.
    if (taken[0] !== String(exchange)) return [];
    const epoch = ok(lease);
    if (epoch === null) return []; // swept since: the requests are back in the queue
    this.epoch = String(epoch);
    return taken.slice(1);
  }

  async sweep(staleMs: number): Promise<number> {
    return Number(await this.redis.eval(SWEEP_LUA, [], [staleMs]));
  }

  async release(placement: string): Promise<boolean> {
    return (await this.redis.eval(RELEASE_LUA, [], [placement])) === 1;
  }

  async giveBack(requests: readonly string[], results: readonly string[]): Promise<void> {
    ok(await this.redis.eval(GIVE_BACK_LUA, [], [this.id, this.epoch, requests.length, ...requests, ...results]));
    this.epoch = '0';
  }

  /**
   * BLMOVE from the queue's head back to its head: blocks until a request is queued, then
   * leaves it there (the list is unchanged), so a request is only ever taken by an exchange
   * that keeps it in a taken list. Every replica blocked on it wakes.
   */
  async waitRequest(timeoutMs: number): Promise<boolean> {
    const conn = this.blocking ?? this.redis;
    const r = await conn.call('BLMOVE', KEYS.queue, KEYS.queue, 'LEFT', 'LEFT', Math.max(0.01, timeoutMs / 1000));
    return r !== null;
  }

  close(): void {
    this.redis.close();
    this.blocking?.close();
  }
}

function parseOutcomes(reply: RespValue): CommitOutcome[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected commit reply ${JSON.stringify(reply)}`);
  return reply.map((o) => {
    const [ok, v, at, list] = o as [number, number, number, RespValue[]];
    const refused: Refusal[] = list.map((r) => {
      const [host, reason, use, tenants] = r as [string, Refusal['reason'], string?, RespValue[]?];
      return { host, reason, ...(use ? { use: parseUse(use, Array.isArray(tenants) ? tenants : []) } : {}) };
    });
    if (ok === 1) {
      const [, , , , use, tenants] = o as [number, number, number, RespValue[], string?, RespValue[]?];
      return { ok: true, v, at, refused, ...(use ? { use: parseUse(use, Array.isArray(tenants) ? tenants : []) } : {}) };
    }
    if (ok === 2) {
      const [, , , , host, use, tenants] = o as [number, number, number, RespValue[], string, string, RespValue[]];
      const now = parseUse(use, Array.isArray(tenants) ? tenants : []);
      return { ok: true, v: now.v, at: -1, refused, earlier: { host, use: now } };
    }
    const last = refused.at(-1);
    return { ok: false, reason: last?.reason ?? 'unknown-host', ...(last?.use ? { use: last.use } : {}), refused };
  });
}

const shas = new Map<string, string>();
function sha(script: string): string {
  let s = shas.get(script);
  if (!s) shas.set(script, (s = createHash('sha1').update(script).digest('hex')));
  return s;
}

/** Writes the fleet (bench, seeding): specs, zero usage, versions. */
export async function registerHosts(redis: Redis, specs: readonly HostSpec[], chunk = 1000): Promise<void> {
  for (let i = 0; i < specs.length; i += chunk) {
    const part = specs.slice(i, i + chunk);
    const [first] = await redis.pipeline([['INCRBY', KEYS.version, part.length]]);
    const top = Number(ok(first));
    const base = top - part.length;
    const specArgs: string[] = [];
    const capArgs: string[] = [];
    const useArgs: string[] = [];
    part.forEach((s, j) => {
      if (LOG_SEPARATORS.test(s.id)) throw new Error(`host id ${JSON.stringify(s.id)}: '|', ';' and ',' separate the change log's fields`);
      const v = base + j + 1;
      specArgs.push(s.id, JSON.stringify(s));
      capArgs.push(s.id, `${s.cpu}|${s.mem}|${s.gpu}`);
      useArgs.push(s.id, packUse({ v, cpu: 0, mem: 0, gpu: 0 }));
    });
    // a new host reaches replicas through their snapshot, not the change log
    for (const r of await redis.pipeline([['HSET', KEYS.spec, ...specArgs], ['HSET', KEYS.cap, ...capArgs], ['HSET', KEYS.use, ...useArgs]])) ok(r);
  }
}
