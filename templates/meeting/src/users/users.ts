// The user directory: who may join rooms, and which tenant (customer) they belong to.
import { randomUUID } from 'node:crypto';
import { HttpError, obj, str } from '../lib/http.js';

export interface User {
  id: string;
  name: string;
  tenant: string;
  createdAt: string;
}

const NAME = /^[\p{L}\p{N} ._'-]{1,80}$/u;
const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class UserDirectory {
  private readonly users = new Map<string, User>();
  constructor(private readonly limit = 100_000) {}

  create(body: unknown): User {
    const o = obj(body);
    const name = str(o, 'name', { max: 80, pattern: NAME });
    const tenant = str(o, 'tenant', { optional: true, max: 63, pattern: TENANT }) || 'default';
    if (this.users.size >= this.limit) throw new HttpError(507, `the directory is full (${this.limit} users)`);
    const user: User = { id: `u-${randomUUID().slice(0, 8)}`, name, tenant, createdAt: new Date().toISOString() };
    this.users.set(user.id, user);
    return user;
  }

  get(id: string): User {
    const u = this.users.get(id);
    if (!u) throw new HttpError(404, `no user ${id}`);
    return u;
  }

  list(tenant?: string): User[] {
    return [...this.users.values()].filter((u) => !tenant || u.tenant === tenant);
  }
}
