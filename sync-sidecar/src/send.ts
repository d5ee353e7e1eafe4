// Sending one batch: entries go into a tar stream (tar-stream) that is cut into DATA frames,
// with back-pressure from the socket; an END frame closes the stream.
import { createReadStream } from 'node:fs';
import * as tar from 'tar-stream';
import { FRAME_DATA, FRAME_END, FRAME_HEADER_BYTES, MAX_DATA_BYTES, encodeFrame } from './protocol.js';

/** Writes a frame and resolves when the transport can take more. */
export type FrameSink = (frame: Buffer) => Promise<void>;

const HIGH_WATER = 8 * 1024 * 1024;

export class TarSender {
  private readonly pack = tar.pack();
  private added = 0;
  private sent = 0;
  private waiter: (() => void) | undefined;
  private readonly pump: Promise<void>;
  files = 0;
  bytes = 0;

  constructor(private readonly sink: FrameSink) {
    // The pack emits each entry (header, content, padding) as its own small chunks; sending
    // each entry as a frame costs a socket write (and, through a port-forward, a WebSocket
    // message) per file. Chunks are gathered into frames of up to MAX_DATA_BYTES: a frame
    // goes out when it is full, or once the event loop turns (setImmediate), so a single
    // small edit still leaves at once.
    this.pump = (async () => {
      for await (const chunk of this.pack as AsyncIterable<Buffer>) {
        this.parts.push(chunk);
        this.size += chunk.length;
        if (this.size >= MAX_DATA_BYTES) await this.flush(true);
        else if (!this.timer) {
          this.timer = setImmediate(() => {
            this.timer = undefined;
            this.flush().catch(() => undefined);
          });
        }
      }
      if (this.timer) clearImmediate(this.timer);
      this.timer = undefined;
      await this.flush();
    })();
    this.pump.catch(() => undefined);
  }

  private parts: Buffer[] = [];
  private size = 0;
  private timer: NodeJS.Immediate | undefined;
  private flushing: Promise<void> = Promise.resolve();

  /**
   * Sends what has been gathered, in frames of at most MAX_DATA_BYTES (with `fullOnly`, only
   * whole frames; the rest waits for more); calls run in order.
   */
  private flush(fullOnly = false): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.size === 0 || (fullOnly && this.size < MAX_DATA_BYTES)) return;
      // each frame is built in one buffer (header + payload copied once from the pack's chunks)
      let total = this.size;
      if (fullOnly) total -= total % MAX_DATA_BYTES;
      const parts = this.parts;
      this.parts = [];
      this.size = 0;
      let i = 0;
      let off = 0; // into parts[i]
      let left = total;
      while (left > 0) {
        const len = Math.min(MAX_DATA_BYTES, left);
        const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
        frame[0] = FRAME_DATA;
        frame.writeUInt32BE(len, 1);
        let at = FRAME_HEADER_BYTES;
        while (at < frame.length) {
          const part = parts[i]!;
          const n = Math.min(part.length - off, frame.length - at);
          part.copy(frame, at, off, off + n);
          at += n;
          off += n;
          if (off === part.length) {
            i++;
            off = 0;
          }
        }
        left -= len;
        await this.sink(frame);
        this.sent += len;
      }
      // what did not fill a whole frame waits, ahead of anything gathered meanwhile
      const rest: Buffer[] = [];
      if (i < parts.length) rest.push(off > 0 ? parts[i]!.subarray(off) : parts[i]!, ...parts.slice(i + 1));
      if (rest.length > 0) {
        this.parts = [...rest, ...this.parts];
        for (const r of rest) this.size += r.length;
      }
      if (this.waiter && this.added - this.sent < HIGH_WATER) {
        const w = this.waiter;
        this.waiter = undefined;
        w();
      }
    });
    return this.flushing;
  }

  // `added` never overestimates what the pack emits for an entry (header + padded data), so
  // once everything has been sent, sent >= added and a waiter cannot be left hanging.
  private async room(n: number): Promise<void> {
    this.added += 512 + Math.ceil(n / 512) * 512;
    if (this.added - this.sent < HIGH_WATER) return;
    await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  async file(rel: string, mode: number, content: Buffer): Promise<void> {
    this.files++;
    this.bytes += content.length;
    await new Promise<void>((resolve, reject) => this.pack.entry({ name: rel, type: 'file', mode, size: content.length }, content, (e) => (e ? reject(e) : resolve())));
    await this.room(content.length);
  }

  /** A large file, streamed; `size` must be its exact length. */
  async fileStream(rel: string, mode: number, path: string, size: number): Promise<void> {
    this.files++;
    this.bytes += size;
    await new Promise<void>((resolve, reject) => {
      const entry = this.pack.entry({ name: rel, type: 'file', mode, size }, (e) => (e ? reject(e) : resolve()));
      const input = size === 0 ? createReadStream(path, { start: 0, end: -1 }) : createReadStream(path, { start: 0, end: size - 1 });
      input.on('error', reject);
      input.pipe(entry as unknown as NodeJS.WritableStream);
    });
    await this.room(0);
  }

  /** A large file, streamed from an open descriptor (closed when done); `size` is its length. */
  async fileFd(rel: string, mode: number, fd: number, size: number): Promise<void> {
    this.files++;
    this.bytes += size;
    await new Promise<void>((resolve, reject) => {
      const entry = this.pack.entry({ name: rel, type: 'file', mode, size }, (e) => (e ? reject(e) : resolve()));
      const input = createReadStream('', { fd, start: 0, end: Math.max(0, size - 1), highWaterMark: 256 * 1024 });
      input.on('error', reject);
      input.pipe(entry as unknown as NodeJS.WritableStream);
    });
    await this.room(0);
  }

  async dir(rel: string, mode: number): Promise<void> {
    this.files++;
    this.pack.entry({ name: rel, type: 'directory', mode });
    await this.room(0);
  }

  async link(rel: string, target: string): Promise<void> {
    this.files++;
    this.pack.entry({ name: rel, type: 'symlink', linkname: target, mode: 0o777 });
    await this.room(0);
  }

  /** Closes the tar stream and sends the END frame. */
  async end(): Promise<void> {
    this.pack.finalize();
    await this.pump;
    await this.sink(encodeFrame(FRAME_END, Buffer.alloc(0)));
  }

  destroy(): void {
    this.pack.destroy();
  }
}
