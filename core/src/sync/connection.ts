// The client's end of one sidecar connection: request/response over JSON frames, outgoing
// batches as tar streams, incoming (two-way) batches applied to the local root.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  BatchReceiver,
  CHUNK_JSON_BYTES,
  FRAME_DATA,
  FRAME_END,
  FRAME_JSON,
  FrameDecoder,
  PROTOCOL_VERSION,
  ProtocolError,
  TarSender,
  checkRelPath,
  encodeJson,
  manifestOrder,
  parseMessage,
  type ApplyResult,
  type ClientMessage,
  type Entry,
  type ServerMessage,
  type SyncMode,
} from '@kdev/sync-sidecar';

export type DiffMessage = Extract<ServerMessage, { t: 'diff' }>;
export type AppliedMessage = Extract<ServerMessage, { t: 'applied' }>;
export type ChangesMessage = Extract<ServerMessage, { t: 'changes' }>;

/** Cuts items into runs whose JSON stays near CHUNK_JSON_BYTES (the sidecar takes small frames). */
function chunked<T>(items: T[], size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item) + 1;
    if (cur.length > 0 && bytes + n > CHUNK_JSON_BYTES) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += n;
  }
  out.push(cur);
  return out;
}

interface ConnectionEvents {
  close: [Error | undefined];
  changes: [ChangesMessage];
  pulled: [ApplyResult];
  warning: [string];
}

export class SyncConnection extends EventEmitter<ConnectionEvents> {
  private readonly decoder = new FrameDecoder();
  private readonly waiters = new Map<string, Array<{ resolve: (m: ServerMessage) => void; reject: (e: Error) => void }>>();
  private readonly acks = new Map<number, { resolve: (m: AppliedMessage) => void; reject: (e: Error) => void }>();
  private incoming: { id: number; deletes: string[]; receiver: BatchReceiver } | undefined;
  private incomingQueue = Promise.resolve();
  private diffParts: DiffMessage[] = [];
  private nextBatch = 1;
  private closedWith: Error | undefined;
  closed = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastSeen = Date.now();

  constructor(
    private readonly socket: Duplex,
    private readonly localRoot: string,
    private readonly accept: (rel: string, type: Entry['t']) => boolean,
    private readonly keepaliveMs = 5000,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      this.lastSeen = Date.now();
      try {
        for (const f of this.decoder.push(chunk)) this.onFrame(f.type, f.payload);
      } catch (e) {
        this.close(e instanceof Error ? e : new Error(String(e)));
      }
    });
    socket.on('error', (e: Error) => this.close(e));
    socket.on('close', () => this.close(new Error('connection to the sync sidecar closed')));
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastSeen > this.keepaliveMs * 3) this.close(new Error('the sync sidecar stopped answering'));
      else void this.write(encodeJson({ t: 'ping', n: Date.now() }));
    }, keepaliveMs);
    this.pingTimer.unref();
  }

  private onFrame(type: number, payload: Buffer): void {
    if (type === FRAME_DATA || type === FRAME_END) {
      const batch = this.incoming;
      if (!batch) throw new ProtocolError('data frame outside a batch');
      if (type === FRAME_END) this.incoming = undefined;
      this.socket.pause();
      this.incomingQueue = this.incomingQueue
        .then(async () => {
          if (type === FRAME_DATA) return void (await batch.receiver.write(payload));
          const result = await batch.receiver.finish(batch.deletes);
          await this.write(encodeJson({ t: 'applied', id: batch.id }));
          this.emit('pulled', result);
        })
        .then(
          () => {
            this.socket.resume();
          },
          (e: unknown) => this.close(e instanceof Error ? e : new Error(String(e))),
        );
      return;
    }
    if (type !== FRAME_JSON) throw new ProtocolError('unknown frame');
    const msg = parseMessage<ServerMessage>(payload);
    switch (msg.t) {
      case 'error':
        throw new ProtocolError(`the sync sidecar refused: ${msg.message}`);
      case 'applied': {
        const ack = this.acks.get(msg.id);
        this.acks.delete(msg.id);
        ack?.resolve(msg);
        return;
      }
      case 'batch': {
        if (this.incoming) throw new ProtocolError('batch inside a batch');
        const deletes = (msg.deletes ?? []).map(checkRelPath);
        this.incoming = { id: msg.id, deletes, receiver: new BatchReceiver(this.localRoot, this.accept) };
        return;
      }
      case 'changes':
        this.emit('changes', msg);
        return;
      case 'warning':
        this.emit('warning', String(msg.message));
        return;
      case 'diff':
        // a diff arrives in chunks; the last has no `more`
        this.diffParts.push(msg);
        if (msg.more === true) return;
        this.waiters.get('diff')?.shift()?.resolve({
          t: 'diff',
          missing: this.diffParts.flatMap((d) => d.missing),
          differ: this.diffParts.flatMap((d) => d.differ),
          extra: this.diffParts.flatMap((d) => d.extra),
        });
        this.diffParts = [];
        return;
      case 'pong':
        return;
      default: {
        const list = this.waiters.get(msg.t);
        const w = list?.shift();
        if (w) w.resolve(msg);
      }
    }
  }

  private write(frame: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(this.closedWith ?? new Error('connection closed'));
    if (this.socket.write(frame)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        if (this.closed) reject(this.closedWith ?? new Error('connection closed'));
        else resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private expect<T extends ServerMessage['t']>(t: T, timeoutMs: number): Promise<Extract<ServerMessage, { t: T }>> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.closedWith ?? new Error('connection closed'));
      const timer = setTimeout(() => {
        this.close(new Error(`the sync sidecar did not answer (${t}) within ${timeoutMs} ms`));
      }, timeoutMs);
      const list = this.waiters.get(t) ?? [];
      list.push({
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<ServerMessage, { t: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.waiters.set(t, list);
    });
  }

  /** True when the sidecar's root was empty at the handshake (its welcome said so). */
  remoteEmpty = false;

  /** `token`: the session's sync secret, when the sidecar was given one. */
  async hello(mode: SyncMode, timeoutMs = 15_000, token?: string): Promise<void> {
    const answer = this.expect('welcome', timeoutMs);
    answer.catch(() => undefined); // a failed write below throws first; the answer fails with it
    await this.write(encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode, client: 'kdev', ...(token ? { token } : {}) }));
    const welcome = await answer;
    if (welcome.v !== PROTOCOL_VERSION) throw new ProtocolError(`the sidecar speaks protocol ${welcome.v}, kdev ${PROTOCOL_VERSION}`);
    this.remoteEmpty = welcome.empty === true;
  }

  async manifest(entries: Entry[], timeoutMs = 120_000): Promise<DiffMessage> {
    const answer = this.expect('diff', timeoutMs);
    answer.catch(() => undefined); // as in hello()
    // sorted by folder then name, in chunks: the sidecar diffs as they come (PROTOCOL.md)
    const parts = chunked([...entries].sort(manifestOrder), (e) => e.p.length * 2 + (e.l ? e.l.length * 2 : 0) + 110);
    for (let i = 0; i < parts.length; i++) {
      const more = i < parts.length - 1;
      await this.write(encodeJson({ t: 'manifest', entries: parts[i]!, ...(more ? { more } : {}) }));
    }
    return answer;
  }

  /**
   * Sends one batch: the header with `deletes`, then whatever `fill` puts in the tar stream.
   * Resolves with the sidecar's acknowledgement once the batch is applied.
   */
  async sendBatch(deletes: string[], fill: (sender: TarSender) => Promise<void>): Promise<{ sent: { files: number; bytes: number }; applied: Promise<AppliedMessage> }> {
    // a delete list too long for one frame goes first, in batches of its own
    const deleteParts = chunked(deletes, (d) => d.length * 2 + 3);
    for (const part of deleteParts.slice(0, -1)) {
      const { applied } = await this.sendBatch(part, async () => undefined);
      await applied;
    }
    deletes = deleteParts[deleteParts.length - 1]!;
    const id = this.nextBatch++;
    const applied = new Promise<AppliedMessage>((resolve, reject) => this.acks.set(id, { resolve, reject }));
    applied.catch(() => undefined);
    await this.write(encodeJson({ t: 'batch', id, deletes }));
    const sender = new TarSender((f) => this.write(f));
    try {
      await fill(sender);
      await sender.end();
    } catch (e) {
      sender.destroy();
      // a half-sent tar stream cannot be resumed on this connection
      this.close(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    return { sent: { files: sender.files, bytes: sender.bytes }, applied };
  }

  /** Asks the sidecar for these paths (two-way); they arrive as a batch ('pulled'). */
  async pull(paths: string[]): Promise<void> {
    for (const part of chunked(paths, (p) => p.length * 2 + 3)) await this.write(encodeJson({ t: 'pull', paths: part } satisfies ClientMessage));
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = err ?? new Error('connection closed');
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const list of this.waiters.values()) for (const w of list) w.reject(this.closedWith);
    this.waiters.clear();
    for (const a of this.acks.values()) a.reject(this.closedWith);
    this.acks.clear();
    const batch = this.incoming;
    this.incoming = undefined;
    if (batch) void this.incomingQueue.then(() => batch.receiver.abort());
    this.socket.destroy();
    this.emit('close', err);
  }
}
