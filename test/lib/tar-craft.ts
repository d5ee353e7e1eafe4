// Hand-made tar streams for the hostile-client tests: valid-looking ustar headers whose
// fields (size encodings, checksums, types, pax records) can each be made hostile.
import { createHash } from 'node:crypto';
import {
  FRAME_DATA,
  CHUNK_JSON_BYTES,
  FRAME_END,
  FRAME_JSON,
  FrameDecoder,
  PROTOCOL_VERSION,
  encodeFrame,
  encodeJson,
  manifestOrder,
  parseMessage,
  type ClientMessage,
  type Entry,
  type ServerMessage,
} from '@kdev/sync-sidecar';

export interface HeaderSpec {
  name: string;
  /** '0' file, '5' folder, '2' symlink, 'x' pax, or anything hostile. */
  flag?: string;
  size?: number;
  mode?: number;
  linkname?: string;
  prefix?: string;
  /** Raw bytes for the 12-byte size field (overrides `size`). */
  sizeField?: Buffer;
  /** Leave the checksum wrong. */
  badChecksum?: boolean;
  magic?: string;
}

function put(block: Buffer, at: number, len: number, text: string): void {
  Buffer.from(text, 'utf8').copy(block, at, 0, len);
}

export function header(h: HeaderSpec): Buffer {
  const b = Buffer.alloc(512);
  put(b, 0, 100, h.name);
  put(b, 100, 8, (h.mode ?? 0o644).toString(8).padStart(7, '0') + '\0');
  put(b, 108, 8, '0000000\0');
  put(b, 116, 8, '0000000\0');
  if (h.sizeField) h.sizeField.copy(b, 124, 0, 12);
  else put(b, 124, 12, (h.size ?? 0).toString(8).padStart(11, '0') + '\0');
  put(b, 136, 12, '00000000000\0');
  b[156] = (h.flag ?? '0').charCodeAt(0);
  put(b, 157, 100, h.linkname ?? '');
  put(b, 257, 8, h.magic ?? 'ustar\u000000');
  put(b, 345, 155, h.prefix ?? '');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  if (h.badChecksum) sum += 1;
  put(b, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return b;
}

export function padded(data: Buffer): Buffer {
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([data, Buffer.alloc(pad)]);
}

export function fileEntry(name: string, content: string | Buffer, mode = 0o644): Buffer {
  const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return Buffer.concat([header({ name, size: data.length, mode }), padded(data)]);
}

export function dirEntry(name: string, mode = 0o755): Buffer {
  return header({ name, flag: '5', mode });
}

export function linkEntry(name: string, target: string): Buffer {
  return header({ name, flag: '2', linkname: target, mode: 0o777 });
}

/** A pax record `<len> key=value\n` with its length computed (or forced). */
export function paxRecord(key: string, value: string, forceLen?: number): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return `${forceLen ?? len}${body}`;
}

export function paxEntry(records: string, declaredSize?: number): Buffer {
  const data = Buffer.from(records);
  return Buffer.concat([header({ name: 'PaxHeader', flag: 'x', size: declaredSize ?? data.length }), padded(data)]);
}

export const END = Buffer.alloc(1024);

export function tarOf(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, END]);
}

export function sha(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

export function hello(mode: 'send-only' | 'two-way' = 'send-only', token?: string): Buffer {
  return encodeJson({ t: 'hello', v: PROTOCOL_VERSION, mode, ...(token ? { token } : {}) } as ClientMessage);
}

/** The frames of one batch: header, the tar in DATA frames of `frame` bytes, END. */
export function batchFrames(id: number, deletes: string[], tar: Buffer, frame = 64 * 1024): Buffer[] {
  const out = [encodeJson({ t: 'batch', id, deletes })];
  for (let off = 0; off < tar.length; off += frame) out.push(encodeFrame(FRAME_DATA, tar.subarray(off, off + frame)));
  out.push(encodeFrame(FRAME_END, Buffer.alloc(0)));
  return out;
}

/** Collects the JSON messages of a byte stream. */
export function messageCollector(): { push: (c: Buffer) => void; messages: ServerMessage[] } {
  const decoder = new FrameDecoder();
  const messages: ServerMessage[] = [];
  return {
    messages,
    push: (c) => {
      for (const f of decoder.push(c)) if (f.type === FRAME_JSON) messages.push(parseMessage(f.payload));
    },
  };
}

/** A manifest as the client sends it: sorted, in chunks of about CHUNK_JSON_BYTES. */
export function manifestFrames(entries: Entry[]): Buffer[] {
  const sorted = [...entries].sort(manifestOrder);
  const frames: Buffer[] = [];
  for (let at = 0; at < sorted.length; ) {
    const part: Entry[] = [];
    for (let bytes = 0; at < sorted.length && bytes < CHUNK_JSON_BYTES; at++) {
      part.push(sorted[at]!);
      bytes += sorted[at]!.p.length + 100;
    }
    frames.push(encodeJson({ t: 'manifest', entries: part, ...(at < sorted.length ? { more: true } : {}) }));
  }
  return frames;
}

/** Reads diff chunks until the last; the number of paths they name. Throws on an error message. */
export async function countDiff(next: (t: ServerMessage['t'], timeoutMs?: number) => Promise<ServerMessage>, timeoutMs: number): Promise<number> {
  let paths = 0;
  for (;;) {
    const d = await next('diff', timeoutMs);
    if (d.t !== 'diff') throw new Error(`expected a diff: ${JSON.stringify(d).slice(0, 300)}`);
    paths += d.missing.length + d.differ.length + d.extra.length;
    if (!d.more) return paths;
  }
}
