// gateway: the public HTTP API and the web pages (/ and /dashboard) of the meeting system.
import { envUrl, onShutdown, serve } from '../lib/http.js';
import { gatewayRouter } from './routes.js';

const router = gatewayRouter(
  {
    users: envUrl('USERS_URL', 'http://users'),
    rooms: envUrl('ROOMS_URL', 'http://rooms'),
    signalling: envUrl('SIGNALLING_URL', 'http://signalling'),
    media: envUrl('MEDIA_URL', 'http://media'),
    scheduler: envUrl('SCHEDULER_URL', 'http://scheduler'),
    ingest: envUrl('INGEST_URL', 'http://quality-ingest'),
    query: envUrl('QUERY_URL', 'http://quality-query'),
  },
  process.env.APP_VERSION ?? '1',
);
const server = await serve({ name: 'gateway', port: Number(process.env.PORT ?? 8080), router, quietPaths: ['/api/quality'] });
onShutdown(server);
