// Is NetworkPolicy enforced on this cluster? A probe pod pair answers it: a server pod and
// a client pod in one namespace, and a policy that admits the client to the server's port
// 8081 only. The client connects to 8081 (must work: the control) and then to 8080 (must
// be refused by any engine that enforces NetworkPolicy). A connection to 8080 that opens
// means the policies are declared, not enforced. kdev env create runs it in each new
// environment; checkNetworkPolicyEnforcement runs it in a namespace of its own.
import { randomBytes } from 'node:crypto';
import type { KubernetesObject, V1Pod, V1ServiceAccount } from '@kubernetes/client-node';
import { applyObject } from '../kube/apply.js';
import type { Cluster } from '../kube/client.js';
import { kubeError } from '../kube/errors.js';
import { raw } from '../kube/raw.js';
import { watchUntil } from '../kube/watch.js';
import { SIDECAR_IMAGE } from '../sync/sidecar.js';
import { PROBE_LABEL } from './network.js';

export interface IsolationCheck {
  /** true: a refused connection was refused; false: it opened; undefined: the probe could not tell. */
  enforced: boolean | undefined;
  detail: string;
  durationMs: number;
}

export const PROBE_POLICY = 'kdev-probe';
const SERVER = 'kdev-probe-server';
const CLIENT = 'kdev-probe-client';
const OPEN_PORT = 8081;
const REFUSED_PORT = 8080;

const SERVER_CODE = `const net = require('net');
const serve = (s) => { s.on('error', () => {}); s.end(); }; // a client's reset must not crash it
for (const port of [${REFUSED_PORT}, ${OPEN_PORT}]) net.createServer(serve).listen(port);`;

// Control first (retried: the engine may not know the new pod yet), then the refused
// port: a timeout or a reset is "refused"; an open connection is retried once after
// 0.5 s (an engine that has not seen the client yet lets it pass).
const CLIENT_CODE = `const net = require('net');
const host = process.env.SERVER_IP;
const attempt = (port, ms) => new Promise((done) => {
  const s = net.connect({ host, port });
  const t = setTimeout(() => { s.destroy(); done('timeout'); }, ms);
  s.on('connect', () => { clearTimeout(t); s.destroy(); done('open'); });
  s.on('error', (e) => { clearTimeout(t); done(e.code || 'error'); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  let control = '';
  for (let i = 0; i < 20 && control !== 'open'; i++) { control = await attempt(${OPEN_PORT}, 1000); if (control !== 'open') await sleep(250); }
  const refused = [await attempt(${REFUSED_PORT}, 1500)];
  if (refused[0] === 'open') { await sleep(500); refused.push(await attempt(${REFUSED_PORT}, 1500)); }
  require('fs').writeFileSync('/dev/termination-log', JSON.stringify({ control, refused }));
})();`;

function probePod(namespace: string, name: string, role: 'server' | 'client', code: string, env: { name: string; value: string }[] = []): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { [PROBE_LABEL]: role } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      containers: [
        {
          name: 'probe',
          image: SIDECAR_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          command: ['node', '-e', code],
          env,
          ...(role === 'server' ? { readinessProbe: { tcpSocket: { port: OPEN_PORT }, periodSeconds: 1 } } : {}),
        },
      ],
    },
  };
}

function probePolicy(namespace: string): KubernetesObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: PROBE_POLICY, namespace },
    spec: {
      podSelector: { matchLabels: { [PROBE_LABEL]: 'server' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { [PROBE_LABEL]: 'client' } } }], ports: [{ protocol: 'TCP', port: OPEN_PORT }] }],
    },
  } as KubernetesObject;
}

function waitPod<R>(cluster: Cluster, namespace: string, name: string, what: string, timeoutMs: number, signal: AbortSignal | undefined, check: (pod: V1Pod) => R | undefined): Promise<R> {
  return watchUntil<V1Pod, R>(cluster, {
    resource: { apiVersion: 'v1', plural: 'pods', namespace },
    fieldSelector: `metadata.name=${name}`,
    timeoutMs,
    what,
    signal,
    onEvent: (_type, pod) => {
      const value = check(pod);
      return value === undefined ? { done: false } : { done: true, value };
    },
  });
}

/** What the client reported, as a verdict. */
export function verdictOf(report: { control?: string; refused?: string[] }): Pick<IsolationCheck, 'enforced' | 'detail'> {
  if (report.control !== 'open') {
    return { enforced: undefined, detail: `the probe could not reach its own server on an admitted port (${report.control ?? 'no answer'}), so it cannot tell` };
  }
  const refused = report.refused ?? [];
  if (refused.length > 0 && refused.every((r) => r === 'open')) {
    return { enforced: false, detail: 'a pod opened a connection that a NetworkPolicy refuses: this cluster does not enforce NetworkPolicy' };
  }
  return { enforced: true, detail: `a connection that a NetworkPolicy refuses was refused (${refused.join(', ')})` };
}

/**
 * Runs the probe pod pair in `namespace` and removes it again. Never throws for what it
 * finds; a probe that cannot run (quota, image, timeout) answers enforced: undefined.
 */
export async function probeIsolation(cluster: Cluster, namespace: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<IsolationCheck> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const ns = cluster.inNamespace(namespace);
  try {
    await applyObject(ns, probePolicy(namespace));
    await applyObject(ns, probePod(namespace, SERVER, 'server', SERVER_CODE) as KubernetesObject);
    const ip = await waitPod(cluster, namespace, SERVER, 'the probe server to become Ready', timeoutMs, opts.signal, (p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.status?.podIP : undefined,
    );
    await applyObject(ns, probePod(namespace, CLIENT, 'client', CLIENT_CODE, [{ name: 'SERVER_IP', value: ip }]) as KubernetesObject);
    const message = await waitPod(cluster, namespace, CLIENT, 'the probe client to finish', timeoutMs, opts.signal, (p) => {
      const t = p.status?.containerStatuses?.[0]?.state?.terminated;
      return t ? (t.message ?? '') : undefined;
    });
    let report: { control?: string; refused?: string[] } = {};
    try {
      report = JSON.parse(message) as typeof report;
    } catch {
      // no report: the verdict says it cannot tell
    }
    return { ...verdictOf(report), durationMs: Date.now() - started };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return { enforced: undefined, detail: `the probe did not run: ${(err as Error).message.split('\n')[0]}`, durationMs: Date.now() - started };
  } finally {
    await removeProbe(cluster, namespace);
  }
}

async function removeProbe(cluster: Cluster, namespace: string): Promise<void> {
  await Promise.all([
    ...[SERVER, CLIENT].map((name) => raw.delete(cluster, { apiVersion: 'v1', plural: 'pods', namespace, name }, { gracePeriodSeconds: 0 }).catch(() => undefined)),
    raw.delete(cluster, { apiVersion: 'networking.k8s.io/v1', plural: 'networkpolicies', namespace, name: PROBE_POLICY }).catch(() => undefined),
  ]);
}

/**
 * The probe on its own (for `kdev doctor` and scripts): in a namespace made for it and
 * deleted afterwards, so it works without an environment.
 */
export async function checkNetworkPolicyEnforcement(cluster: Cluster, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<IsolationCheck> {
  const namespace = `kdev-probe-${randomBytes(3).toString('hex')}`;
  try {
    await raw.create(cluster, { apiVersion: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [PROBE_LABEL]: 'namespace' } } });
  } catch (err) {
    throw kubeError(err, `creating namespace ${namespace} for the NetworkPolicy probe`, cluster.server);
  }
  try {
    // A new namespace admits pods once its default ServiceAccount exists.
    await watchUntil<V1ServiceAccount, true>(cluster, {
      resource: { apiVersion: 'v1', plural: 'serviceaccounts', namespace },
      fieldSelector: 'metadata.name=default',
      timeoutMs: 60_000,
      signal: opts.signal,
      what: `the default serviceaccount of ${namespace}`,
      onEvent: () => ({ done: true, value: true }),
    });
    return await probeIsolation(cluster, namespace, opts);
  } finally {
    await raw.delete(cluster, { apiVersion: 'v1', plural: 'namespaces', name: namespace }).catch(() => undefined);
  }
}
