// The dev lease: who has a workload in dev mode, from which client, since when.
// It is an annotation written together with the object's resourceVersion, so two
// developers can never both take the same workload (compare-and-swap on the API server).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { KdevError } from '../errors.js';

export interface Lease {
  owner: string;
  clientId: string;
  startedAt: string;
  renewedAt: string;
  container: string;
  image: string;
  workDir: string;
  mode: 'replace' | 'duplicate';
  /** For generated copies: the name of the generated Deployment. */
  copy?: string;
  /** A routed duplicate: the header and value that reach it. */
  route?: { header: string; value: string; /** the workload it is a copy of ("deployment/web") */ of?: string };
}

export function parseLease(text: string | undefined): Lease | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Lease>;
    return typeof value.owner === 'string' && typeof value.startedAt === 'string' ? (value as Lease) : undefined;
  } catch {
    return undefined;
  }
}

/** Who the API server says we are (asked once per cluster connection, kube/identity.ts). */
export { whoAmI } from '../kube/identity.js';

/** A stable id of this machine's kdev client, kept in ~/.config/kdev/client-id. */
export function clientId(): string {
  const file = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'kdev', 'client-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomUUID();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${id}\n`);
  return id;
}

function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** The error a second developer gets. */
export function inUseError(what: string, lease: Lease): KdevError {
  return new KdevError(
    'IN_USE',
    `${what} is in dev mode by ${lease.owner} since ${lease.startedAt} (last seen ${ago(lease.renewedAt)})`,
    'Ask them to run `kdev dev end`, use --mode duplicate for your own copy, or take it over with --force.',
  );
}
