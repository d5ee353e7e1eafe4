// media: allocates a media server (SFU) for a room through the scheduler.
// POST /allocations, GET /allocations/:roomId, DELETE /allocations/:roomId.
import { envUrl, HttpError, onShutdown, Router, serve } from '../lib/http.js';
import { parseAllocation, size } from './sizing.js';

const SCHEDULER = envUrl('SCHEDULER_URL', 'http://scheduler');
interface Allocation {
  roomId: string;
  placement: string;
  host: string;
  zone: string;
  request: ReturnType<typeof size>;
  replica: string;
}
const allocations = new Map<string, Allocation>();

const router = new Router()
  .post('/allocations', async (ctx) => {
    const a = parseAllocation(ctx.body);
    const existing = allocations.get(a.roomId);
    if (existing) return existing;
    const req = size(a);
    const placement = `${a.roomId}-${Date.now().toString(36)}`;
    const p = await ctx.call<{ host: string; zone: string; replica: string }>(SCHEDULER, 'POST', '/schedule', { id: placement, tenant: a.tenant, zone: a.zone, ...req });
    const alloc: Allocation = { roomId: a.roomId, placement, host: p.host, zone: p.zone, request: req, replica: p.replica };
    allocations.set(a.roomId, alloc);
    return { status: 201, body: alloc };
  })
  .get('/allocations/:roomId', (ctx) => {
    const a = allocations.get(ctx.params.roomId!);
    if (!a) throw new HttpError(404, `room ${ctx.params.roomId} has no media server`);
    return a;
  })
  .delete('/allocations/:roomId', async (ctx) => {
    const a = allocations.get(ctx.params.roomId!);
    if (!a) throw new HttpError(404, `room ${ctx.params.roomId} has no media server`);
    await ctx.call(SCHEDULER, 'POST', `/release/${encodeURIComponent(a.placement)}`);
    allocations.delete(a.roomId);
    return { released: true };
  });

const server = await serve({ name: 'media', port: Number(process.env.PORT ?? 8080), router });
onShutdown(server);
