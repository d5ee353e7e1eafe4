// users: the user directory. POST /users, GET /users/:id, GET /users?tenant=.
import { onShutdown, Router, serve } from '../lib/http.js';
import { UserDirectory } from './users.js';

const dir = new UserDirectory();
const router = new Router()
  .post('/users', (ctx) => ({ status: 201, body: dir.create(ctx.body) }))
  .get('/users/:id', (ctx) => dir.get(ctx.params.id!))
  .get('/users', (ctx) => ({ users: dir.list(ctx.query.get('tenant') ?? undefined) }))
  .get('/', () => ({ service: 'users', version: process.env.APP_VERSION ?? '1', users: dir.list().length }));

const server = await serve({ name: 'users', port: Number(process.env.PORT ?? 8080), router });
onShutdown(server);
