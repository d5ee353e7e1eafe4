// The dev lease: who has a workload in dev mode, from which client, since when.
// It is an annotation written together with the object's resourceVersion, so two
// developers can never both take the same workload (compare-and-swap on the API server).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';

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

/** Who the API server says we are (SelfSubjectReview): the identity a lease names. */
export async function whoAmI(cluster: Cluster): Promise<string> {
  if (process.env.KDEV_OWNER) return process.env.KDEV_OWNER;
  try {
    const api = cluster.kc.makeApiClient(AuthenticationV1Api);
    const review = await api.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    const name = review.status?.userInfo?.username;
    if (name) return name;
  } catch (err) {
    const e = kubeError(err, 'asking the API server who we are', cluster.server);
    if (e.code === 'UNREACHABLE' || e.code === 'UNAUTHORIZED' || e.code === 'TLS') throw e;
  }
  return cluster.kc.getCurrentUser()?.name ?? 'unknown';
}

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
