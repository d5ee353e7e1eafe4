// Rooms and who is in them. The rooms service checks users with the users service,
// registers participants with signalling and asks media for a media server.
import { randomUUID } from 'node:crypto';
import { HttpError, num, obj, str } from '../lib/http.js';

export interface Participant {
  userId: string;
  name: string;
  sessionId: string;
  joinedAt: string;
}

export interface Room {
  id: string;
  name: string;
  owner: string;
  tenant: string;
  region: string;
  capacity: number;
  participants: Participant[];
  media?: { host: string; zone: string; placement: string };
  createdAt: string;
}

const REGION = /^[a-z0-9-]{1,40}$/;

export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();

  create(body: unknown, owner: { id: string; tenant: string }): Room {
    const o = obj(body);
    const room: Room = {
      id: `r-${randomUUID().slice(0, 8)}`,
      name: str(o, 'name', { max: 120 }),
      owner: owner.id,
      tenant: owner.tenant,
      region: str(o, 'region', { optional: true, pattern: REGION }) || 'zone-a',
      capacity: num(o, 'capacity', { min: 2, max: 1000, fallback: 50 }),
      participants: [],
      createdAt: new Date().toISOString(),
    };
    this.rooms.set(room.id, room);
    return room;
  }

  get(id: string): Room {
    const r = this.rooms.get(id);
    if (!r) throw new HttpError(404, `no room ${id}`);
    return r;
  }

  /** Checks that a user may join (before side effects elsewhere). */
  canJoin(room: Room, user: { id: string; tenant: string }): void {
    if (user.tenant !== room.tenant) throw new HttpError(403, `user ${user.id} is not in tenant ${room.tenant}`);
    if (room.participants.some((p) => p.userId === user.id)) return;
    if (room.participants.length >= room.capacity) throw new HttpError(409, `room ${room.id} is full (${room.capacity})`);
  }

  join(room: Room, p: Participant): Room {
    if (!room.participants.some((x) => x.userId === p.userId)) room.participants.push(p);
    return room;
  }

  leave(room: Room, userId: string): boolean {
    const before = room.participants.length;
    room.participants = room.participants.filter((p) => p.userId !== userId);
    return room.participants.length < before;
  }
}
