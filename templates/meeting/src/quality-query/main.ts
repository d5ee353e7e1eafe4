// quality-query: the read side. GET /users/:id, GET /rooms/:id (latest reports, averages,
// breakdowns), GET /aggregate?by=region|version|os|network&interval=60&since=3600 (time
// series of averages per group).
import { envUrl, HttpError, onShutdown, Router, serve } from '../lib/http.js';
import { aggregateQuery, entityQuery, GROUPS, INDEX, SearchClient, SearchError, shapeAggregate, shapeEntity, type Group } from '../quality-indexer/search.js';

import { window } from './params.js';

const search = new SearchClient(envUrl('SEARCH_URL', 'http://opensearch:9200'));

async function run<T>(body: object): Promise<T> {
  try {
    return await search.request<T>('POST', `/${INDEX}/_search`, body);
  } catch (err) {
    if (err instanceof SearchError && err.status === 404) throw new HttpError(404, 'no reports indexed yet');
    if (err instanceof SearchError) throw new HttpError(502, err.message);
    throw err;
  }
}

const router = new Router()
  .get('/users/:id', async (ctx) => {
    const w = window(ctx.query);
    return { user: ctx.params.id, ...shapeEntity(await run(entityQuery('user', ctx.params.id!, w.sinceMs, w.limit))) };
  })
  .get('/rooms/:id', async (ctx) => {
    const w = window(ctx.query);
    return { room: ctx.params.id, ...shapeEntity(await run(entityQuery('room', ctx.params.id!, w.sinceMs, w.limit))) };
  })
  .get('/aggregate', async (ctx) => {
    const by = ctx.query.get('by') ?? 'region';
    if (!(by in GROUPS)) throw new HttpError(400, `by must be one of ${Object.keys(GROUPS).join(', ')}`);
    const w = window(ctx.query);
    return { by, intervalS: w.intervalS, series: shapeAggregate(await run(aggregateQuery(by as Group, w.intervalS, w.sinceMs))) };
  });

const server = await serve({
  name: 'quality-query',
  port: Number(process.env.PORT ?? 8080),
  router,
  ready: async () => {
    await search.request('GET', '/_cluster/health');
    return true;
  },
});
onShutdown(server);
