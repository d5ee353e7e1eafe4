// The gateway's API: one public surface over the services, each call carrying the
// request id. Built as a function of the service URLs so tests can point it anywhere.
import { Router, type Ctx, type Reply } from '../lib/http.js';
import { dashboardPage } from './dashboard.js';
import { homePage } from './page.js';

export interface Upstreams {
  users: string;
  rooms: string;
  signalling: string;
  media: string;
  scheduler: string;
  ingest: string;
  query: string;
}

const enc = encodeURIComponent;

function relay(ctx: Ctx, base: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return ctx.forward(base, method, path, body);
}

export function gatewayRouter(up: Upstreams, version: string): Router {
  const qs = (ctx: Ctx) => (ctx.query.toString() ? `?${ctx.query.toString()}` : '');
  return new Router()
    .get('/', () => ({ text: homePage(version), contentType: 'text/html; charset=utf-8' }))
    .get('/dashboard', () => ({ text: dashboardPage(), contentType: 'text/html; charset=utf-8' }))
    .get('/api/version', () => ({ service: 'gateway', version }))
    .post('/api/users', (ctx) => relay(ctx, up.users, 'POST', '/users', ctx.body))
    .get('/api/users/:id', (ctx) => relay(ctx, up.users, 'GET', `/users/${enc(ctx.params.id!)}`))
    .post('/api/rooms', (ctx) => relay(ctx, up.rooms, 'POST', '/rooms', ctx.body))
    .get('/api/rooms/:id', (ctx) => relay(ctx, up.rooms, 'GET', `/rooms/${enc(ctx.params.id!)}`))
    .post('/api/rooms/:id/join', (ctx) => relay(ctx, up.rooms, 'POST', `/rooms/${enc(ctx.params.id!)}/join`, ctx.body))
    .post('/api/rooms/:id/leave', (ctx) => relay(ctx, up.rooms, 'POST', `/rooms/${enc(ctx.params.id!)}/leave`, ctx.body))
    .post('/api/rooms/:id/media', (ctx) => relay(ctx, up.rooms, 'POST', `/rooms/${enc(ctx.params.id!)}/media`, ctx.body ?? {}))
    .get('/api/rooms/:id/media', (ctx) => relay(ctx, up.media, 'GET', `/allocations/${enc(ctx.params.id!)}`))
    .get('/api/rooms/:id/peers', (ctx) => relay(ctx, up.signalling, 'GET', `/rooms/${enc(ctx.params.id!)}/peers`))
    .post('/api/signalling/messages', (ctx) => relay(ctx, up.signalling, 'POST', '/messages', ctx.body))
    .get('/api/signalling/sessions/:id/messages', (ctx) => relay(ctx, up.signalling, 'GET', `/sessions/${enc(ctx.params.id!)}/messages${qs(ctx)}`))
    .get('/api/scheduler/stats', (ctx) => relay(ctx, up.scheduler, 'GET', '/stats'))
    .post('/api/quality', (ctx) => relay(ctx, up.ingest, 'POST', '/reports', ctx.body))
    .get('/api/quality/stats', (ctx) => relay(ctx, up.ingest, 'GET', '/stats'))
    .get('/api/quality/users/:id', (ctx) => relay(ctx, up.query, 'GET', `/users/${enc(ctx.params.id!)}${qs(ctx)}`))
    .get('/api/quality/rooms/:id', (ctx) => relay(ctx, up.query, 'GET', `/rooms/${enc(ctx.params.id!)}${qs(ctx)}`))
    .get('/api/quality/aggregate', (ctx) => relay(ctx, up.query, 'GET', `/aggregate${qs(ctx)}`))
    .get('/api/status', async (ctx) => {
      const entries = await Promise.all(
        Object.entries(up).map(async ([name, base]) => {
          try {
            await ctx.call(base, 'GET', '/readyz');
            return [name, 'ready'] as const;
          } catch (err) {
            return [name, err instanceof Error ? err.message : 'down'] as const;
          }
        }),
      );
      return { gateway: 'ready', ...Object.fromEntries(entries) };
    });
}
