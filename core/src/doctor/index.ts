// kdev doctor: what a machine and a cluster need for kdev, checked one by one. Each check
// is ok, a problem with its fix, or skipped with the reason; nothing here throws for what it finds.
import { resolve } from 'node:path';
import { checkNetworkPolicyEnforcement } from '../env/probe.js';
import { connect, type Cluster, type ClusterOptions } from '../kube/client.js';
import { isKdevError } from '../errors.js';
import { checkImage, checkPortForward, checkRights, serverVersion, type CheckResult } from './checks.js';
import { countFolders, HEADROOM, INOTIFY_LIMIT_FILE, judgeWatchLimit, readWatchLimit } from './inotify.js';

export type { CheckResult, CheckStatus } from './checks.js';
export type { MissingRight } from './rights.js';
export { NEEDED_RIGHTS } from './rights.js';
import { allows } from './rights.js';

export interface DoctorOptions extends ClusterOptions {
  /** The folder to sync (default: the current one). */
  local?: string;
  /** Also probe NetworkPolicy enforcement (creates and deletes a namespace). */
  network?: boolean;
  /** Each result as soon as it is known. */
  onCheck?: (check: CheckResult) => void;
}

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

export function checkInotify(local: string): CheckResult {
  const base = { id: 'inotify', title: 'inotify watch limit' };
  const limit = readWatchLimit();
  if (limit === undefined) return { ...base, status: 'skipped', detail: `${INOTIFY_LIMIT_FILE} does not exist (not Linux): nothing to check` };
  // counting stops once the verdict cannot change (a home folder can hold millions)
  const enough = Math.floor(limit / HEADROOM) + 1;
  const folders = countFolders(local, enough);
  const verdict = judgeWatchLimit(folders, limit);
  const detail = `${folders >= enough ? 'more than ' : ''}${folders >= enough ? folders - 1 : folders} folder${folders === 1 ? '' : 's'} in ${local} to watch; the limit is ${limit}`;
  if (verdict.ok) return { ...base, status: 'ok', detail };
  return {
    ...base,
    status: 'problem',
    detail: `${detail}: too low for this folder next to other programs' watches`,
    fix: `sudo sysctl fs.inotify.max_user_watches=${verdict.suggested} (and add it to /etc/sysctl.d/ to keep it)`,
  };
}

function kubeconfigCheck(opts: ClusterOptions): { check: CheckResult; cluster?: Cluster } {
  const base = { id: 'kubeconfig', title: 'kubeconfig and context' };
  try {
    const cluster = connect(opts);
    return { cluster, check: { ...base, status: 'ok', detail: `context ${cluster.contextName}, server ${cluster.server}, namespace ${cluster.namespace}` } };
  } catch (err) {
    if (!isKdevError(err)) throw err;
    return { check: { ...base, status: 'problem', detail: err.message, fix: err.hint } };
  }
}

async function apiCheck(cluster: Cluster): Promise<CheckResult> {
  const base = { id: 'api', title: 'API server' };
  try {
    return { ...base, status: 'ok', detail: `reachable at ${cluster.server}, Kubernetes ${await serverVersion(cluster)}` };
  } catch (err) {
    if (!isKdevError(err)) throw err;
    return { ...base, status: 'problem', detail: err.message, fix: err.hint };
  }
}

async function networkCheck(cluster: Cluster, wanted: boolean): Promise<CheckResult> {
  const base = { id: 'network', title: 'NetworkPolicy enforcement' };
  if (!wanted) return { ...base, status: 'skipped', detail: 'not checked (pass --network; it creates and deletes a namespace)' };
  try {
    const r = await checkNetworkPolicyEnforcement(cluster);
    if (r.enforced) return { ...base, status: 'ok', detail: r.detail };
    return { ...base, status: 'problem', detail: r.detail, fix: 'Environments are not isolated from each other: install a network engine that enforces NetworkPolicy (Calico, Cilium, kube-router).' };
  } catch (err) {
    if (!isKdevError(err)) throw err;
    return { ...base, status: 'problem', detail: err.message, fix: err.hint };
  }
}

/**
 * Runs every check in order; cluster checks after a failed kubeconfig or API check are
 * skipped. The report is ok when no check found a problem.
 */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const add = (c: CheckResult) => {
    checks.push(c);
    opts.onCheck?.(c);
  };
  const { check, cluster } = kubeconfigCheck(opts);
  add(check);
  const api = cluster ? await apiCheck(cluster) : undefined;
  if (api) add(api);
  if (cluster && api?.status === 'ok') {
    const { result, rules } = await checkRights(cluster);
    add(result);
    const canCreatePods = allows(rules, '', 'pods', 'create');
    add(await checkImage(cluster, canCreatePods));
    add(await checkPortForward(cluster, canCreatePods && allows(rules, '', 'pods/portforward', 'create')));
    add(await networkCheck(cluster, opts.network ?? false));
  } else {
    for (const [id, title] of [['rights', 'rights'], ['image', 'sidecar image'], ['portforward', 'port-forward'], ['network', 'NetworkPolicy enforcement']] as const) {
      add({ id, title, status: 'skipped', detail: 'skipped: no cluster to check' });
    }
  }
  add(checkInotify(resolve(opts.local ?? '.')));
  return { ok: checks.every((c) => c.status !== 'problem'), checks };
}
