// The shared store on Redis. Every write goes through a Lua script, which Redis runs
// atomically: a commit checks each host's version against the one the replica planned
// with (optimistic concurrency), re-checks capacity, applies the usage, bumps the global
// version and appends the change to the change log (a sorted set of compact deltas scored
// by version), which replicas read to refresh their caches.
import { createHash } from 'node:crypto';
import type { Redis, RespValue } from '../lib/redis.js';
import { ok } from '../lib/redis.js';
import type { HostSpec, HostUsage } from './placement.js';
import { decodeDelta, KEYS, LOG_KEEP, LOG_TRIM, type CommitItem, type CommitOutcome, type Store, type SyncResult, type UsageDelta } from './store.js';

// Keeps the change log bounded: past LOG_KEEP + LOG_TRIM entries, the oldest LOG_TRIM go
// and the floor moves up (a replica behind the floor reloads its cache from a snapshot).
const TRIM_LUA = `
if redis.call('ZCARD', '${KEYS.log}') > ${LOG_KEEP + LOG_TRIM} then
  redis.call('ZREMRANGEBYRANK', '${KEYS.log}', 0, ${LOG_TRIM - 1})
  local first = redis.call('ZRANGE', '${KEYS.log}', 0, 0, 'WITHSCORES')
  redis.call('SET', '${KEYS.logFloor}', tonumber(first[2]) - 1)
end
`;

// ARGV[1]: JSON [[placement, host, expect, cpu, mem, gpu, tenant], ...]
// returns JSON [[1, v] | [0, reason, useJSON?], ...]
export const COMMIT_LUA = `
local items = cjson.decode(ARGV[1])
local out = {}
for i, it in ipairs(items) do
  local pid, host, expect, cpu, mem, gpu, tenant = it[1], it[2], it[3], it[4], it[5], it[6], it[7]
  local raw = redis.call('HGET', '${KEYS.use}', host)
  if not raw then
    out[i] = {0, 'unknown-host'}
  else
    local u = cjson.decode(raw)
    if u.v ~= expect then
      out[i] = {0, 'conflict', raw}
    else
      local s = cjson.decode(redis.call('HGET', '${KEYS.spec}', host))
      if u.cpu + cpu > s.cpu or u.mem + mem > s.mem or u.gpu + gpu > s.gpu then
        out[i] = {0, 'capacity', raw}
      else
        u.cpu = u.cpu + cpu
        u.mem = u.mem + mem
        u.gpu = u.gpu + gpu
        u.ten[tenant] = (u.ten[tenant] or 0) + 1
        local v = redis.call('INCR', '${KEYS.version}')
        u.v = v
        redis.call('HSET', '${KEYS.use}', host, cjson.encode(u))
        redis.call('ZADD', '${KEYS.log}', v, v .. '|' .. host .. '|' .. cpu .. '|' .. mem .. '|' .. gpu .. '|1|' .. tenant)
        redis.call('HSET', '${KEYS.placements}', pid, cjson.encode({host, cpu, mem, gpu, tenant}))
        out[i] = {1, v}
      end
    end
  end
end
${TRIM_LUA}
return cjson.encode(out)
`;

// ARGV[1]: placement id. Returns 1 if released.
export const RELEASE_LUA = `
local raw = redis.call('HGET', '${KEYS.placements}', ARGV[1])
if not raw then return 0 end
local p = cjson.decode(raw)
local host, cpu, mem, gpu, tenant = p[1], p[2], p[3], p[4], p[5]
local u = cjson.decode(redis.call('HGET', '${KEYS.use}', host))
u.cpu = u.cpu - cpu
u.mem = u.mem - mem
u.gpu = u.gpu - gpu
local n = (u.ten[tenant] or 1) - 1
if n > 0 then u.ten[tenant] = n else u.ten[tenant] = nil end
local v = redis.call('INCR', '${KEYS.version}')
u.v = v
redis.call('HSET', '${KEYS.use}', host, cjson.encode(u))
redis.call('ZADD', '${KEYS.log}', v, v .. '|' .. host .. '|' .. cpu .. '|' .. mem .. '|' .. gpu .. '|-1|' .. tenant)
redis.call('HDEL', '${KEYS.placements}', ARGV[1])
${TRIM_LUA}
return 1
`;

// ARGV[1]: since. Returns {floor, delta, delta, ...}: the log's floor and the encoded
// deltas after \`since\`, in version order (no decoding in Redis, none of the host's state).
export const CHANGES_LUA = `
local floor = tonumber(redis.call('GET', '${KEYS.logFloor}') or '0')
local out = redis.call('ZRANGEBYSCORE', '${KEYS.log}', '(' .. ARGV[1], '+inf')
table.insert(out, 1, floor)
return out
`;

function parseUse(raw: string): HostUsage {
  const u = JSON.parse(raw) as HostUsage & { ten: Record<string, number> | unknown[] };
  // cjson writes an empty table as {} but a decoded-then-emptied one may come back as []
  if (Array.isArray(u.ten)) u.ten = {};
  return u;
}

export class RedisStore implements Store {
  constructor(
    private readonly redis: Redis,
    /** A second connection for the blocking pop, so it never delays commits. */
    private readonly blocking?: Redis,
  ) {}

  async snapshot(): Promise<{ version: number; hosts: Array<{ spec: HostSpec; use: HostUsage }> }> {
    const [ver, specs, uses] = await this.redis.pipeline([['GET', KEYS.version], ['HGETALL', KEYS.spec], ['HGETALL', KEYS.use]]);
    const specList = ok(specs) as string[];
    const useList = ok(uses) as string[];
    const useById = new Map<string, string>();
    for (let i = 0; i < useList.length; i += 2) useById.set(useList[i]!, useList[i + 1]!);
    const hosts: Array<{ spec: HostSpec; use: HostUsage }> = [];
    for (let i = 0; i < specList.length; i += 2) {
      const raw = useById.get(specList[i]!);
      if (raw) hosts.push({ spec: JSON.parse(specList[i + 1]!) as HostSpec, use: parseUse(raw) });
    }
    return { version: Number(ok(ver) ?? 0), hosts };
  }

  async sync(since: number, pop: number, results: readonly string[]): Promise<SyncResult> {
    const cmds: Array<Array<string | number>> = [];
    if (results.length > 0) cmds.push(['RPUSH', KEYS.results, ...results]);
    cmds.push(['EVALSHA', sha(CHANGES_LUA), 0, since]);
    if (pop > 0) cmds.push(['LPOP', KEYS.queue, pop]);
    const replies = await this.redis.pipeline(cmds);
    let idx = results.length > 0 ? 1 : 0;
    if (results.length > 0) ok(replies[0]);
    let changesReply: RespValue = replies[idx]!;
    if (changesReply instanceof Error && changesReply.message.startsWith('NOSCRIPT')) changesReply = await this.redis.eval(CHANGES_LUA, [], [since]);
    const arr = ok(changesReply) as RespValue[];
    const deltas: UsageDelta[] = [];
    for (let i = 1; i < arr.length; i++) {
      const d = typeof arr[i] === 'string' ? decodeDelta(arr[i] as string) : undefined;
      if (d) deltas.push(d);
    }
    idx++;
    const popped = pop > 0 ? ok(replies[idx]) : null;
    return { floor: Number(arr[0]), deltas, requests: Array.isArray(popped) ? (popped as string[]) : [] };
  }

  async commit(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    if (items.length === 0) return [];
    const arg = JSON.stringify(items.map((i) => [i.placement, i.host, i.expect, i.cpu, i.mem, i.gpu, i.tenant]));
    const raw = (await this.redis.eval(COMMIT_LUA, [], [arg])) as string;
    const out = JSON.parse(raw) as Array<[1, number] | [0, 'conflict' | 'capacity' | 'unknown-host', string?]>;
    return out.map((o) => (o[0] === 1 ? { ok: true, v: o[1] } : { ok: false, reason: o[1], ...(o[2] ? { use: parseUse(o[2]) } : {}) }));
  }

  async release(placement: string): Promise<boolean> {
    return (await this.redis.eval(RELEASE_LUA, [], [placement])) === 1;
  }

  async giveBack(requests: readonly string[], results: readonly string[]): Promise<void> {
    const cmds: Array<Array<string | number>> = [];
    if (requests.length > 0) cmds.push(['LPUSH', KEYS.queue, ...[...requests].reverse()]);
    if (results.length > 0) cmds.push(['RPUSH', KEYS.results, ...results]);
    if (cmds.length > 0) for (const r of await this.redis.pipeline(cmds)) ok(r);
  }

  async waitRequest(timeoutMs: number): Promise<string | undefined> {
    const conn = this.blocking ?? this.redis;
    const r = await conn.call('BLPOP', KEYS.queue, Math.max(0.01, timeoutMs / 1000));
    return Array.isArray(r) ? String(r[1]) : undefined;
  }

  close(): void {
    this.redis.close();
    this.blocking?.close();
  }
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
    const useArgs: string[] = [];
    part.forEach((s, j) => {
      if (s.id.includes('|')) throw new Error(`host id ${JSON.stringify(s.id)}: '|' separates the change log's fields`);
      const v = base + j + 1;
      specArgs.push(s.id, JSON.stringify(s));
      useArgs.push(s.id, JSON.stringify({ v, cpu: 0, mem: 0, gpu: 0, ten: {} }));
    });
    // a new host reaches replicas through their snapshot, not the change log
    for (const r of await redis.pipeline([['HSET', KEYS.spec, ...specArgs], ['HSET', KEYS.use, ...useArgs]])) ok(r);
  }
}
