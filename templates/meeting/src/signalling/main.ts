// signalling: POST /sessions, DELETE /sessions/:id, GET /rooms/:id/peers,
// POST /messages, GET /sessions/:id/messages?after=.
import { onShutdown, Router, serve } from '../lib/http.js';
import { SignallingHub } from './signalling.js';

const hub = new SignallingHub();
const router = new Router()
  .post('/sessions', (ctx) => ({ status: 201, body: hub.open(ctx.body) }))
  .delete('/sessions/:id', (ctx) => ({ closed: hub.close(ctx.params.id!) }))
  .get('/rooms/:id/peers', (ctx) => ({ peers: hub.peers(ctx.params.id!) }))
  .post('/messages', (ctx) => ({ status: 201, body: hub.send(ctx.body) }))
  .get('/sessions/:id/messages', (ctx) => ({ messages: hub.inbox(ctx.params.id!, Number(ctx.query.get('after') ?? 0)) }));

const server = await serve({ name: 'signalling', port: Number(process.env.PORT ?? 8080), router });
onShutdown(server);
