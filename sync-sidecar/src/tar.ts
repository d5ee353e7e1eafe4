// The one tar parser of a batch: the subset kdev's sender writes (ustar headers, pax `x`
// headers for long names, link targets and sizes), parsed block by block as bytes arrive. It
// alone decides every entry's size, so no guard can disagree with it; it never buffers more
// than one 512-byte header and one pax header (at most MAX_TAR_EXT_HEADER). Anything else —
// a bad checksum, a non-octal number field, base-256 sizes, GNU or global headers, hard links,
// devices, data after the end-of-archive blocks — is a ProtocolError.
import { MAX_TAR_EXT_HEADER, ProtocolError } from './protocol.js';

export interface TarHeader {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  size: number;
  linkname: string;
}

export interface TarHandler {
  /** A new entry; its `size` bytes of data follow through data(). */
  entry(h: TarHeader): void;
  data(chunk: Buffer): void;
  /** The current entry's data is complete. */
  entryEnd(): void;
}

const BLOCK = 512;

function bad(message: string): ProtocolError {
  return new ProtocolError(`malformed tar stream: ${message}`);
}
/** Largest entry accepted (ustar's 11 octal digits: 8 GiB - 1; pax sizes up to this too). */
export const MAX_TAR_ENTRY = 8 * 1024 * 1024 * 1024 - 1;

function octal(field: Buffer, what: string): number {
  let end = field.length;
  while (end > 0 && (field[end - 1] === 0 || field[end - 1] === 0x20)) end--;
  let start = 0;
  while (start < end && field[start] === 0x20) start++;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = field[i]!;
    if (c < 0x30 || c > 0x37) throw bad(`tar header: ${what} is not an octal number`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

function cstring(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.toString('utf8', 0, nul < 0 ? field.length : nul);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === octal(block.subarray(148, 156), 'checksum');
}

/** Parses pax records (`<len> <key>=<value>\n`); keeps path, linkpath and size. */
function parsePax(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break; // padding
    const sp = buf.indexOf(0x20, i);
    if (sp < 0 || sp - i > 10) throw bad('pax header: malformed record');
    const lenText = buf.toString('latin1', i, sp);
    if (!/^[1-9][0-9]*$/.test(lenText)) throw bad('pax header: malformed record length');
    const len = Number(lenText);
    if (i + len > buf.length || buf[i + len - 1] !== 0x0a) throw bad('pax header: record length does not match');
    const rec = buf.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) throw bad('pax header: record without a key');
    const key = rec.slice(0, eq);
    if (key === 'path' || key === 'linkpath' || key === 'size') out.set(key, rec.slice(eq + 1));
    i += len;
  }
  return out;
}

export class TarParser {
  private readonly header = Buffer.alloc(BLOCK);
  private fill = 0;
  private left = 0; // data bytes of the current entry still to come
  private pad = 0; // padding bytes after it
  private inEntry = false;
  private pax: { buf: Buffer; fill: number } | undefined;
  private nextPax: Map<string, string> | undefined;
  private zeros = 0;
  private ended = false;

  constructor(private readonly handler: TarHandler) {}

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - i);
        const part = chunk.subarray(i, i + n);
        if (this.pax) {
          part.copy(this.pax.buf, this.pax.fill);
          this.pax.fill += n;
        } else this.handler.data(part);
        this.left -= n;
        i += n;
        if (this.left === 0) this.endData();
        continue;
      }
      if (this.pad > 0) {
        const n = Math.min(this.pad, chunk.length - i);
        this.pad -= n;
        i += n;
        continue;
      }
      const n = Math.min(BLOCK - this.fill, chunk.length - i);
      chunk.copy(this.header, this.fill, i, i + n);
      this.fill += n;
      i += n;
      if (this.fill === BLOCK) {
        this.fill = 0;
        this.onHeader();
      }
    }
  }

  /** The stream is complete: it must end on an entry boundary. */
  end(): void {
    if (this.left > 0 || this.pad > 0 || this.fill > 0 || this.inEntry || this.pax || this.nextPax) throw bad('cut short (unexpected end)');
  }

  private endData(): void {
    if (this.pax) {
      this.nextPax = parsePax(this.pax.buf);
      this.pax = undefined;
    } else {
      this.inEntry = false;
      this.handler.entryEnd();
    }
  }

  private onHeader(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      if (this.nextPax) throw bad('tar stream: pax header without an entry');
      this.zeros++;
      if (this.zeros >= 2) this.ended = true;
      return;
    }
    if (this.ended || this.zeros > 0) throw bad('tar stream: data after the end of the archive');
    if (!checksumOk(h)) throw bad('tar header: bad checksum');
    const magic = h.toString('latin1', 257, 263);
    if (magic !== 'ustar\0') throw bad('tar header: not a ustar header');
    if (h[124]! & 0x80) throw bad('tar header: base-256 sizes are not accepted');
    const flag = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    let size = octal(h.subarray(124, 136), 'size');
    if (flag === 'x') {
      if (this.nextPax) throw bad('tar stream: two pax headers in a row');
      if (size > MAX_TAR_EXT_HEADER) throw bad(`oversize tar extension header: ${size} bytes (max ${MAX_TAR_EXT_HEADER})`);
      this.pax = { buf: Buffer.alloc(size), fill: 0 };
      this.startData(size);
      return;
    }
    const pax = this.nextPax;
    this.nextPax = undefined;
    const type = flag === '0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : flag === '2' ? 'symlink' : undefined;
    if (!type) throw bad(`tar entry type ${JSON.stringify(flag)} is not allowed`);
    const prefix = cstring(h.subarray(345, 500));
    let name = cstring(h.subarray(0, 100));
    if (prefix) name = `${prefix}/${name}`;
    let linkname = cstring(h.subarray(157, 257));
    if (pax?.has('path')) name = pax.get('path')!;
    if (pax?.has('linkpath')) linkname = pax.get('linkpath')!;
    if (pax?.has('size')) {
      const text = pax.get('size')!;
      if (!/^[0-9]{1,16}$/.test(text)) throw bad('pax header: size is not a decimal number');
      size = Number(text);
    }
    if (size > MAX_TAR_ENTRY) throw bad(`tar entry of ${size} bytes is too large`);
    if (type !== 'file' && size !== 0) throw bad(`tar ${type} entry with data`);
    const mode = octal(h.subarray(100, 108), 'mode') & 0o7777;
    this.inEntry = true;
    this.handler.entry({ name, type, mode, size, linkname });
    this.startData(size);
  }

  private startData(size: number): void {
    this.left = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.endData();
  }
}
