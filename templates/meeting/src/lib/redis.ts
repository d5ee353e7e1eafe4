// A minimal Redis client (RESP2) written for the meeting services: pipelining, Lua
// scripts by SHA with a fallback to EVAL, reconnect on the next command after a failure.
// Node's standard library only.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export type RespValue = string | number | null | RespValue[] | RedisReplyError;

export class RedisReplyError extends Error {}

type Arg = string | number | Buffer;

/**
 * Encodes one command as a RESP array of bulk strings. Text arguments (the common case: a
 * commit carries hundreds) are written into one string and encoded once; Buffers are
 * copied as they are.
 */
export function encodeCommand(args: readonly Arg[]): Buffer {
  let text = `*${args.length}\r\n`;
  let parts: Buffer[] | undefined;
  for (const a of args) {
    if (Buffer.isBuffer(a)) {
      parts ??= [];
      parts.push(Buffer.from(`${text}$${a.length}\r\n`), a);
      text = '\r\n';
      continue;
    }
    const s = String(a);
    text += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  if (!parts) return Buffer.from(text);
  parts.push(Buffer.from(text));
  return Buffer.concat(parts);
}

/**
 * Incremental RESP2 parser: feed it bytes, it returns every complete reply. Errors are
 * returned as RedisReplyError values (not thrown), so one bad reply in a pipeline does
 * not hide the others.
 *
 * Each element is parsed once, however the bytes are chunked: arrays under construction
 * wait on a stack across feeds, and only an element cut in two is looked at again. (A
 * parser that restarts the whole reply on every chunk is quadratic in the reply: a 20,000-
 * entry change log read in 16 KiB chunks cost 7.7 µs per entry instead of 0.3.)
 */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Arrays being filled, outermost first. */
  private readonly open: Array<{ items: RespValue[]; left: number }> = [];

  feed(chunk: Buffer): RespValue[] {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    const out: RespValue[] = [];
    for (;;) {
      const start = this.pos;
      const el = this.element();
      if (el === INCOMPLETE) {
        this.pos = start;
        break;
      }
      let value: RespValue;
      if (el instanceof ArrayHeader) {
        if (el.n > 0) {
          this.open.push({ items: [], left: el.n });
          continue;
        }
        value = [];
      } else value = el;
      // hand the value up: it may complete its array, and that one its parent
      for (;;) {
        const top = this.open[this.open.length - 1];
        if (!top) {
          out.push(value);
          break;
        }
        top.items.push(value);
        if (--top.left > 0) break;
        this.open.pop();
        value = top.items;
      }
    }
    return out;
  }

  private line(): string | undefined {
    const end = this.buf.indexOf('\r\n', this.pos);
    if (end < 0) return undefined;
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 2;
    return s;
  }

  /** One scalar, or the header of an array (its items follow as elements of their own). */
  private element(): RespValue | ArrayHeader | typeof INCOMPLETE {
    if (this.pos >= this.buf.length) return INCOMPLETE;
    const type = String.fromCharCode(this.buf[this.pos]!);
    this.pos++;
    const l = this.line();
    if (l === undefined) return INCOMPLETE;
    switch (type) {
      case '+':
        return l;
      case '-':
        return new RedisReplyError(l);
      case ':':
        return Number(l);
      case '$': {
        const n = Number(l);
        if (n < 0) return null;
        if (this.pos + n + 2 > this.buf.length) return INCOMPLETE;
        const s = this.buf.toString('utf8', this.pos, this.pos + n);
        this.pos += n + 2;
        return s;
      }
      case '*': {
        const n = Number(l);
        return n < 0 ? null : new ArrayHeader(n);
      }
      default:
        throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
    }
  }
}

const INCOMPLETE = Symbol('incomplete');

class ArrayHeader {
  constructor(readonly n: number) {}
}

interface Pending {
  resolve: (v: RespValue) => void;
  reject: (e: Error) => void;
}

export interface RedisOptions {
  host: string;
  port: number;
  connectTimeoutMs?: number;
}

export function parseRedisUrl(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:') throw new Error(`not a redis:// URL: ${url}`);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

export class Redis {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private pending: Pending[] = [];
  private parser = new RespParser();
  private scripts = new Map<string, string>();
  closed = false;

  constructor(readonly opts: RedisOptions) {}

  private connect(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    if (this.connecting) return this.connecting;
    this.connecting = new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: this.opts.host, port: this.opts.port });
      s.setNoDelay(true);
      const timer = setTimeout(() => s.destroy(new Error(`redis ${this.opts.host}:${this.opts.port}: connect timeout`)), this.opts.connectTimeoutMs ?? 5000);
      s.once('connect', () => {
        clearTimeout(timer);
        this.socket = s;
        this.connecting = undefined;
        this.parser = new RespParser();
        resolve(s);
      });
      s.on('data', (chunk: Buffer) => {
        for (const v of this.parser.feed(chunk)) {
          const p = this.pending.shift();
          p?.resolve(v); // server errors are values; only a broken connection rejects
        }
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        this.fail(e);
        if (this.connecting) {
          this.connecting = undefined;
          reject(e);
        }
      });
      s.on('close', () => this.fail(new Error(`redis ${this.opts.host}:${this.opts.port}: connection closed`)));
    });
    return this.connecting;
  }

  private fail(e: Error): void {
    this.socket = undefined;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(e);
  }

  /** Sends one command. */
  async call(...args: Arg[]): Promise<RespValue> {
    const [v] = await this.pipeline([args]);
    return ok(v);
  }

  /** Sends commands in one write; resolves with every reply (errors as values). */
  async pipeline(commands: readonly (readonly Arg[])[]): Promise<RespValue[]> {
    if (this.closed) throw new Error('redis client is closed');
    const s = await this.connect();
    const replies = commands.map((): Promise<RespValue> => new Promise((resolve, reject) => this.pending.push({ resolve, reject })));
    s.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  /** Runs a Lua script by SHA, loading it on NOSCRIPT. */
  async eval(script: string, keys: readonly Arg[], args: readonly Arg[]): Promise<RespValue> {
    let sha = this.scripts.get(script);
    if (!sha) {
      sha = createHash('sha1').update(script).digest('hex');
      this.scripts.set(script, sha);
    }
    const r = await this.pipeline([['EVALSHA', sha, keys.length, ...keys, ...args]]);
    const v = r[0]!;
    if (v instanceof RedisReplyError && v.message.startsWith('NOSCRIPT')) {
      const [again] = await this.pipeline([['EVAL', script, keys.length, ...keys, ...args]]);
      if (again instanceof RedisReplyError) throw again;
      return again!;
    }
    if (v instanceof RedisReplyError) throw v;
    return v;
  }

  close(): void {
    this.closed = true;
    this.socket?.end();
    this.socket = undefined;
  }
}

/** Throws when a pipeline reply is an error; returns the value otherwise. */
export function ok(v: RespValue | undefined): RespValue {
  if (v instanceof RedisReplyError) throw v;
  return v ?? null;
}
