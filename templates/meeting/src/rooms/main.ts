// rooms: POST /rooms, GET /rooms/:id, POST /rooms/:id/join, POST /rooms/:id/leave,
// POST /rooms/:id/media (asks the media service for a server).
import { envUrl, onShutdown, obj, Router, serve, str } from '../lib/http.js';
import type { User } from '../users/users.js';
import { RoomRegistry, type Room } from './rooms.js';

const USERS = envUrl('USERS_URL', 'http://users');
const SIGNALLING = envUrl('SIGNALLING_URL', 'http://signalling');
const MEDIA = envUrl('MEDIA_URL', 'http://media');
const rooms = new RoomRegistry();

const router = new Router()
  .post('/rooms', async (ctx) => {
    const owner = await ctx.call<User>(USERS, 'GET', `/users/${encodeURIComponent(str(obj(ctx.body), 'owner'))}`);
    return { status: 201, body: rooms.create(ctx.body, owner) };
  })
  .get('/rooms/:id', (ctx) => rooms.get(ctx.params.id!))
  .post('/rooms/:id/join', async (ctx) => {
    const room = rooms.get(ctx.params.id!);
    const user = await ctx.call<User>(USERS, 'GET', `/users/${encodeURIComponent(str(obj(ctx.body), 'userId'))}`);
    rooms.canJoin(room, user);
    const session = await ctx.call<{ id: string }>(SIGNALLING, 'POST', '/sessions', { roomId: room.id, userId: user.id });
    rooms.join(room, { userId: user.id, name: user.name, sessionId: session.id, joinedAt: new Date().toISOString() });
    return { room, sessionId: session.id };
  })
  .post('/rooms/:id/leave', async (ctx) => {
    const room = rooms.get(ctx.params.id!);
    const userId = str(obj(ctx.body), 'userId');
    const p = room.participants.find((x) => x.userId === userId);
    if (p) await ctx.call(SIGNALLING, 'DELETE', `/sessions/${encodeURIComponent(p.sessionId)}`);
    return { left: rooms.leave(room, userId), room };
  })
  .post('/rooms/:id/media', async (ctx) => {
    const room: Room = rooms.get(ctx.params.id!);
    const o = ctx.body === undefined ? {} : obj(ctx.body);
    const alloc = await ctx.call<{ host: string; zone: string; placement: string }>(MEDIA, 'POST', '/allocations', {
      roomId: room.id,
      tenant: room.tenant,
      zone: room.region,
      participants: Math.max(room.participants.length, 1),
      ...o,
    });
    room.media = { host: alloc.host, zone: alloc.zone, placement: alloc.placement };
    return { room, allocation: alloc };
  });

const server = await serve({ name: 'rooms', port: Number(process.env.PORT ?? 8080), router });
onShutdown(server);
