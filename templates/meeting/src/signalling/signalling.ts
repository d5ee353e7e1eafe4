// Signalling: sessions per room and a mailbox per session, through which peers exchange
// SDP offers/answers and ICE candidates before media flows.
import { randomUUID } from 'node:crypto';
import { HttpError, obj, str } from '../lib/http.js';

export interface Session {
  id: string;
  roomId: string;
  userId: string;
  createdAt: string;
}

export interface Message {
  seq: number;
  from: string;
  to: string;
  type: 'offer' | 'answer' | 'candidate' | 'bye';
  payload: string;
}

const TYPES = new Set(['offer', 'answer', 'candidate', 'bye']);

export class SignallingHub {
  private readonly sessions = new Map<string, Session>();
  private readonly mailboxes = new Map<string, Message[]>();
  private seq = 0;
  constructor(private readonly mailboxLimit = 256) {}

  open(body: unknown): Session {
    const o = obj(body);
    const s: Session = { id: `s-${randomUUID().slice(0, 12)}`, roomId: str(o, 'roomId'), userId: str(o, 'userId'), createdAt: new Date().toISOString() };
    this.sessions.set(s.id, s);
    this.mailboxes.set(s.id, []);
    return s;
  }

  close(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    for (const peer of this.peers(s.roomId)) if (peer.id !== id) this.push({ from: id, to: peer.id, type: 'bye', payload: '' });
    this.sessions.delete(id);
    this.mailboxes.delete(id);
    return true;
  }

  peers(roomId: string): Session[] {
    return [...this.sessions.values()].filter((s) => s.roomId === roomId);
  }

  /** Sends a message to one peer of the same room; the oldest messages drop when a mailbox is full. */
  send(body: unknown): Message {
    const o = obj(body);
    const from = str(o, 'from');
    const to = str(o, 'to');
    const type = str(o, 'type');
    if (!TYPES.has(type)) throw new HttpError(400, `type must be one of ${[...TYPES].join(', ')}`);
    const a = this.sessions.get(from);
    const b = this.sessions.get(to);
    if (!a || !b) throw new HttpError(404, `no session ${!a ? from : to}`);
    if (a.roomId !== b.roomId) throw new HttpError(403, 'peers are in different rooms');
    return this.push({ from, to, type: type as Message['type'], payload: str(o, 'payload', { optional: true, max: 64_000 }) });
  }

  private push(m: Omit<Message, 'seq'>): Message {
    const box = this.mailboxes.get(m.to);
    const msg = { seq: ++this.seq, ...m };
    if (!box) return msg;
    box.push(msg);
    if (box.length > this.mailboxLimit) box.splice(0, box.length - this.mailboxLimit);
    return msg;
  }

  /** Messages for a session after `after` (the last seq the client saw). */
  inbox(id: string, after = 0): Message[] {
    const box = this.mailboxes.get(id);
    if (!box) throw new HttpError(404, `no session ${id}`);
    return box.filter((m) => m.seq > after);
  }
}
