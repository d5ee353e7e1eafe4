// kdev doctor's cluster checks. Each answers ok / problem (with a fix) / skipped and never
// throws for what it finds.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { PortForward, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { KdevError } from '../errors.js';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import { raw } from '../kube/raw.js';
import { watchUntil } from '../kube/watch.js';
import { SIDECAR_IMAGE } from '../sync/sidecar.js';
import { describeRight, missingRights, type MissingRight, type ResourceRule } from './rights.js';

export type CheckStatus = 'ok' | 'problem' | 'skipped';

export interface CheckResult {
  /** Stable id: kubeconfig, api, rights, image, portforward, network, inotify. */
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a problem. */
  fix?: string;
  /** The rights check's missing rights. */
  missing?: MissingRight[];
}

/** The API server's version ("v1.31.2"); throws a KdevError when unreachable. */
export async function serverVersion(cluster: Cluster): Promise<string> {
  try {
    const v = (await raw.path(cluster, '/version')) as { gitVersion?: string };
    return v.gitVersion ?? 'unknown';
  } catch (err) {
    throw kubeError(err, 'reading the API server version', cluster.server);
  }
}

/** The rules the server grants us in the namespace (SelfSubjectRulesReview). */
export async function rulesIn(cluster: Cluster, namespace: string): Promise<{ rules: ResourceRule[]; incomplete: boolean }> {
  const review = await raw.create<{ status?: { resourceRules?: ResourceRule[]; incomplete?: boolean } }>(
    cluster,
    { apiVersion: 'authorization.k8s.io/v1', plural: 'selfsubjectrulesreviews' },
    { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
  );
  return { rules: review.status?.resourceRules ?? [], incomplete: review.status?.incomplete ?? false };
}

/** The rights check, and the rules it read (empty when it could not read them). */
export async function checkRights(cluster: Cluster): Promise<{ result: CheckResult; rules: ResourceRule[] }> {
  const base = { id: 'rights', title: `rights in namespace ${cluster.namespace}` };
  let review;
  try {
    review = await rulesIn(cluster, cluster.namespace);
  } catch (err) {
    const e = kubeError(err, 'asking for our rights (SelfSubjectRulesReview)', cluster.server);
    return { rules: [], result: { ...base, status: 'problem', detail: e.message, fix: e.hint } };
  }
  const missing = missingRights(review.rules);
  const lines = missing.map((m) => `missing ${describeRight(m)}${m.clusterScoped ? ' (cluster-wide)' : ''}: needed for ${m.feature}`);
  const rules = review.rules;
  if (missing.length === 0) return { rules, result: { ...base, status: 'ok', detail: 'every right kdev uses is granted', missing } };
  const incomplete = review.incomplete ? ' (the server said its answer is incomplete: a webhook authorizer may grant more)' : '';
  return {
    rules,
    result: {
      ...base,
      status: 'problem',
      detail: `${lines.join('\n')}${incomplete}`,
      fix: `Ask a cluster admin for a Role (or ClusterRole, for cluster-wide rights) granting: ${missing.map(describeRight).join('; ')}.`,
      missing,
    },
  };
}

/** Is the sidecar image on a node already, else can a node pull it? */
export async function checkImage(cluster: Cluster, canCreatePods: boolean, opts: { image?: string; timeoutMs?: number } = {}): Promise<CheckResult> {
  const image = opts.image ?? SIDECAR_IMAGE;
  const base = { id: 'image', title: `sidecar image ${image}` };
  try {
    const nodes = await raw.listAs<V1Node>(cluster, { apiVersion: 'v1', plural: 'nodes' });
    const on = nodes.items.filter((n) => (n.status?.images ?? []).some((i) => (i.names ?? []).some((name) => name === image || name.endsWith(`/${image}`))));
    if (on.length > 0) return { ...base, status: 'ok', detail: `present on node${on.length > 1 ? 's' : ''} ${on.map((n) => n.metadata?.name).join(', ')}` };
    if (nodes.items.length > 0 && !canCreatePods) {
      return { ...base, status: 'problem', detail: 'on no node, and without the right to create pods a pull cannot be tried', fix: `Load ${image} into the cluster's nodes (for the local cluster: npm run cluster:up).` };
    }
  } catch (err) {
    if (kubeError(err, '').code !== 'FORBIDDEN') throw err;
    if (!canCreatePods) return { ...base, status: 'skipped', detail: 'cannot list nodes nor create pods: whether the image is present is unknown' };
  }
  // not seen on a node (or nodes not visible): a pull by a probe pod answers
  const pod = await withProbePod(cluster, image, opts.timeoutMs ?? 60_000, async () => undefined);
  return pod.ok
    ? { ...base, status: 'ok', detail: 'a probe pod with it started (the nodes could not be listed: it is present on a node or pullable)' }
    : { ...base, status: 'problem', detail: `a probe pod with it did not start: ${pod.reason}`, fix: `Make ${image} available to the nodes (push it to a registry they reach, or load it into them).` };
}

const PROBE_PORT = 8080;
const PROBE_ANSWER = 'kdev-doctor-ok';

function probePod(namespace: string, name: string, image: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'kdev.dev/doctor': 'probe' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      activeDeadlineSeconds: 300,
      containers: [
        {
          name: 'probe',
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['node', '-e', `require('net').createServer((s) => { s.on('error', () => {}); s.end('${PROBE_ANSWER}'); }).listen(${PROBE_PORT})`],
          readinessProbe: { tcpSocket: { port: PROBE_PORT }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** Runs `use` with a Ready probe pod, which is deleted afterwards. */
async function withProbePod<R>(cluster: Cluster, image: string, timeoutMs: number, use: (name: string) => Promise<R>): Promise<{ ok: true; value: R } | { ok: false; reason: string }> {
  const name = `kdev-doctor-${randomBytes(3).toString('hex')}`;
  const ns = cluster.namespace;
  try {
    await raw.create(cluster, { apiVersion: 'v1', plural: 'pods', namespace: ns }, probePod(ns, name, image) as never);
    await watchUntil<V1Pod, true>(cluster, {
      resource: { apiVersion: 'v1', plural: 'pods', namespace: ns },
      fieldSelector: `metadata.name=${name}`,
      timeoutMs,
      what: `the probe pod ${name} to become Ready`,
      onEvent: (_t, p) => {
        const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
        if (waiting && /ErrImagePull|ImagePullBackOff|InvalidImageName/.test(waiting.reason ?? '')) {
          return { fail: new KdevError('FAILED', `${waiting.reason}: ${waiting.message ?? ''}`) };
        }
        return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? { done: true, value: true } : { done: false };
      },
    });
    return { ok: true, value: await use(name) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message.split('\n')[0] ?? '' };
  } finally {
    await raw.delete(cluster, { apiVersion: 'v1', plural: 'pods', namespace: ns, name }, { gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

/** One connection through a port-forward to the probe pod; resolves with what came back. */
async function forwardOnce(cluster: Cluster, pod: string, timeoutMs: number): Promise<string> {
  const out = new PassThrough();
  const errs = new PassThrough();
  const input = new PassThrough();
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  const got = new Promise<string>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer through the port-forward within ${timeoutMs / 1000} s`)), timeoutMs);
    out.on('data', (c: Buffer) => {
      text += c.toString();
      if (text.includes(PROBE_ANSWER)) resolve(text);
    });
    errs.on('data', (c: Buffer) => reject(new Error(c.toString().trim())));
  });
  got.catch(() => undefined); // awaited below; a failed portForward() call must not leave it unhandled
  let conn: Awaited<ReturnType<PortForward['portForward']>> | undefined;
  try {
    conn = await new PortForward(cluster.kc, false).portForward(cluster.namespace, pod, [PROBE_PORT], out, errs, input);
    return await got;
  } finally {
    clearTimeout(timer);
    input.end();
    const ws = typeof conn === 'function' ? conn() : conn;
    (ws as { close?: () => void } | null | undefined)?.close?.();
  }
}

export async function checkPortForward(cluster: Cluster, canForward: boolean, timeoutMs = 60_000): Promise<CheckResult> {
  const base = { id: 'portforward', title: 'port-forward' };
  if (!canForward) return { ...base, status: 'skipped', detail: 'skipped: the probe needs the rights to create pods and pods/portforward in this namespace, which are not both granted' };
  const r = await withProbePod(cluster, SIDECAR_IMAGE, timeoutMs, (pod) => forwardOnce(cluster, pod, 20_000));
  return r.ok
    ? { ...base, status: 'ok', detail: 'a connection through a port-forward to a probe pod was answered' }
    : { ...base, status: 'problem', detail: `a port-forward to a probe pod failed: ${r.reason}`, fix: 'Check that the API server can reach the kubelet (port 10250) and that the nodes have socat/port-forward support in their runtime.' };
}
