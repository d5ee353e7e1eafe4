// The local single-node cluster: up (idempotent, cached), down, and status.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connect, parseManifests, substitute, applyAll, watchUntil, type Cluster } from '@kdev/core/internals';
import type { V1Deployment, V1Node } from '@kubernetes/client-node';
import {
  ADMIN_KUBECONFIG,
  APISERVER_PORT,
  ADDON_DAEMONS,
  APT_PACKAGES,
  BRIDGE,
  CLUSTER_DOMAIN,
  COMPONENTS,
  CONTAINERD_SOCK,
  CONTAINERD_STATE,
  COREDNS_VERSION,
  DNS_SERVICE_IP,
  IMAGE_PREFIX,
  KUBERNETES_VERSION,
  NODE_IP,
  NODE_NAME,
  POD_CIDR,
  PORTS,
  REPO_STATE_DIR,
  RUN_DIR,
  SOURCE_DIR,
  STATE_DIR,
  type Component,
} from './config.js';
import { buildCoreDNS, buildKubernetes, kubeBinary } from './build.js';
import { IMAGES, buildImage, type BuiltImage } from './images.js';
import { makePki, pki, writeKubeconfig } from './pki.js';
import {
  apiserverArgs,
  binaryOf,
  controllerManagerArgs,
  etcdArgs,
  kubeProxyArgs,
  kubeletArgs,
  schedulerArgs,
  writeCniConfig,
  writeContainerdConfig,
} from './components.js';
import { daemonPid, run, startDaemon, step, stopDaemon, waitFor, logPath, type Reporter, StepError } from './steps.js';
import { ensureNetworkPolicyEngine, removeQueueRules } from './netpol.js';

const STATE_KUBECONFIG = join(STATE_DIR, 'admin.kubeconfig');
const SYSCTL_SAVE = join(STATE_DIR, 'sysctl.json');
const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables'];

export interface UpResult {
  kubeconfig: string;
  alreadyUp: boolean;
  seconds: number;
  images: BuiltImage[];
}

/** Is every component running and the API server ready? */
export async function isUp(): Promise<boolean> {
  if (!COMPONENTS.every((c) => daemonPid(c) !== undefined)) return false;
  return apiserverReady();
}

export async function up(report: Reporter): Promise<UpResult> {
  const started = Date.now();
  if (await isUp()) {
    // A cluster started before an add-on existed gets it now, without a restart.
    await startAddons(report, connect({ kubeconfig: STATE_KUBECONFIG }), { quiet: true });
    publishKubeconfig();
    return { kubeconfig: ADMIN_KUBECONFIG, alreadyUp: true, seconds: (Date.now() - started) / 1000, images: [] };
  }
  if (process.getuid?.() !== 0) {
    throw new StepError('preflight', logPath('preflight'), 'the local cluster needs root (it runs containerd, kubelet and sets up a network bridge)');
  }
  // A previous cluster that crashed or was half-started leaves processes, mounts and
  // network state behind: clear them before starting fresh.
  if (existsSync(STATE_DIR) || existsSync(RUN_DIR)) await teardown(report, { keepLogs: false });
  mkdirSync(STATE_DIR, { recursive: true });

  try {
    await step('preflight', report, async (log) => preflight(log));
    await step('packages', report, async (log) => installPackages(log));
    await step('build-kubernetes', report, async (log) => buildKubernetes(log));
    await step('build-coredns', report, async (log) => buildCoreDNS(log));
    const images = await step('images', report, async (log) => {
      const built: BuiltImage[] = [];
      for (const recipe of IMAGES) built.push(await buildImage(recipe, log));
      return built;
    });
    await step('network', report, async (log) => setupNetwork(log));
    await step('pki', report, async (log) => makePki(log));
    await step('containerd', report, async (log) => startContainerd(log, images));
    await step('etcd', report, async () => {
      startDaemon('etcd', binaryOf('etcd'), etcdArgs());
      await waitFor('etcd health', () => httpOk('http://127.0.0.1:2379/health'), { timeoutMs: 30_000, daemon: 'etcd' });
    });
    await step('kube-apiserver', report, async () => {
      startDaemon('kube-apiserver', binaryOf('kube-apiserver'), apiserverArgs());
      await waitFor('kube-apiserver /readyz', apiserverReady, { timeoutMs: 90_000, daemon: 'kube-apiserver' });
      writeKubeconfig(STATE_KUBECONFIG, 'admin', 'kdev-admin');
    });
    await step('controllers', report, async () => {
      startDaemon('kube-controller-manager', binaryOf('kube-controller-manager'), controllerManagerArgs());
      startDaemon('kube-scheduler', binaryOf('kube-scheduler'), schedulerArgs());
      await waitFor('kube-controller-manager /healthz', () => httpsOk(10257, '/healthz'), { timeoutMs: 60_000, daemon: 'kube-controller-manager' });
      await waitFor('kube-scheduler /healthz', () => httpsOk(10259, '/healthz'), { timeoutMs: 60_000, daemon: 'kube-scheduler' });
    });
    const cluster = connect({ kubeconfig: STATE_KUBECONFIG });
    await step('kubelet', report, async () => {
      writeCniConfig();
      startDaemon('kubelet', binaryOf('kubelet'), kubeletArgs());
      await waitFor('kubelet /healthz', () => httpOk('http://127.0.0.1:10248/healthz'), { timeoutMs: 60_000, daemon: 'kubelet' });
      await waitNodeReady(cluster);
    });
    await step('kube-proxy', report, async () => {
      startDaemon('kube-proxy', binaryOf('kube-proxy'), kubeProxyArgs());
      await waitFor('kube-proxy /healthz', () => httpOk('http://127.0.0.1:10256/healthz'), { timeoutMs: 60_000, daemon: 'kube-proxy' });
    });
    await step('coredns', report, async () => deployCoreDNS(cluster));
    await startAddons(report, cluster, { quiet: false });
    publishKubeconfig();
    return { kubeconfig: ADMIN_KUBECONFIG, alreadyUp: false, seconds: (Date.now() - started) / 1000, images };
  } catch (err) {
    if (process.env.KDEV_CLUSTER_KEEP_FAILED === '1') {
      report('✗ start failed: KDEV_CLUSTER_KEEP_FAILED=1 leaves it as it is for inspection; `npm run cluster:down` removes it');
      throw err;
    }
    report('✗ start failed: stopping what was started (logs are kept)');
    await teardown(() => undefined, { keepLogs: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * The add-ons, each idempotent: on a running cluster a step is shown only when it
 * starts something (an add-on already running costs a pid check and a rule check).
 */
async function startAddons(report: Reporter, cluster: Cluster, opts: { quiet: boolean }): Promise<void> {
  if (opts.quiet && ADDON_DAEMONS.every((d) => daemonPid(d) !== undefined)) {
    await ensureNetworkPolicyEngine(cluster, logPath('network-policies'));
    return;
  }
  await step('network-policies', report, async (log) => {
    await ensureNetworkPolicyEngine(cluster, log);
  });
}

function publishKubeconfig(): void {
  mkdirSync(REPO_STATE_DIR, { recursive: true });
  copyFileSync(STATE_KUBECONFIG, ADMIN_KUBECONFIG);
}

async function preflight(log: string): Promise<void> {
  const memory = '/sys/fs/cgroup/memory';
  const unified = existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (!existsSync(memory) && !unified) throw new Error('no memory cgroup controller is mounted under /sys/fs/cgroup');
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    throw new Error('br_netfilter is not available (/proc/sys/net/bridge/bridge-nf-call-iptables is missing)');
  }
  for (const p of PORTS) {
    // The node address does not exist before the bridge does; its ports are free then.
    if (p.host === NODE_IP && !hasAddress(NODE_IP)) continue;
    if (!(await portFree(p.host, p.port))) {
      throw new Error(`port ${p.host}:${p.port} (needed by ${p.owner}) is already in use${describePortOwner(p.port, log)}`);
    }
  }
}

function hasAddress(ip: string): boolean {
  try {
    return execFileSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).includes(` ${ip}/`);
  } catch {
    return false;
  }
}

function describePortOwner(port: number, log: string): string {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    writeFileSync(log, out, { flag: 'a' });
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    return m ? ` by ${m[1]} (pid ${m[2]})` : '';
  } catch {
    return '';
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function installPackages(log: string): Promise<void> {
  const missing = APT_PACKAGES.filter((p) => {
    try {
      return !execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('install ok installed');
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { log, env });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { log, env });
}

async function setupNetwork(log: string): Promise<void> {
  const saved: Record<string, string> = {};
  for (const path of SYSCTLS) saved[path] = readFileSync(path, 'utf8').trim();
  writeFileSync(SYSCTL_SAVE, JSON.stringify(saved));
  for (const path of SYSCTLS) writeFileSync(path, '1');
  await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge'], { log });
  await run('ip', ['addr', 'add', `${NODE_IP}/16`, 'dev', BRIDGE], { log });
  await run('ip', ['link', 'set', BRIDGE, 'up'], { log });
  // Forwarding is on for pod <-> service traffic on the bridge; nothing may cross
  // between the bridge and any other interface. The mangle table is walked before
  // kube-proxy's filter rules, so these hold whatever kube-proxy adds.
  for (const rule of guardRules()) await run('iptables', ['-t', 'mangle', '-A', ...rule], { log });
}

function guardRules(): string[][] {
  return [
    ['FORWARD', '-i', BRIDGE, '!', '-o', BRIDGE, '-m', 'comment', '--comment', 'kdev: pods stay on the machine', '-j', 'DROP'],
    ['FORWARD', '-o', BRIDGE, '!', '-i', BRIDGE, '-m', 'comment', '--comment', 'kdev: nothing routed into pods', '-j', 'DROP'],
  ];
}

async function startContainerd(log: string, images: readonly BuiltImage[]): Promise<void> {
  const config = writeContainerdConfig();
  startDaemon('containerd', binaryOf('containerd'), ['--config', config]);
  await waitFor('containerd socket', async () => ctrOk(['version']), { timeoutMs: 30_000, daemon: 'containerd' });
  // Leftovers of an earlier cluster in the persistent image store.
  await removeAllContainers(log);
  const present = await importedImages(log);
  for (const image of images) {
    if (present.get(image.ref) === image.manifestDigest) continue;
    await ctr(['images', 'import', '--platform', 'linux/amd64', image.archive], log);
  }
}

function ctr(args: string[], log: string, capture = false): Promise<string> {
  return run('ctr', ['--address', CONTAINERD_SOCK, '--namespace', 'k8s.io', ...args], { log, capture, timeoutMs: 10 * 60_000 });
}

function ctrOk(args: string[]): boolean {
  try {
    execFileSync('ctr', ['--address', CONTAINERD_SOCK, '--namespace', 'k8s.io', ...args], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** ref → manifest digest of the images containerd holds. */
async function importedImages(log: string): Promise<Map<string, string>> {
  const out = await ctr(['images', 'ls'], log, true);
  const map = new Map<string, string>();
  for (const line of out.split('\n').slice(1)) {
    const [ref, , digest] = line.split(/\s+/);
    if (ref && digest) map.set(ref, digest);
  }
  return map;
}

/**
 * Removes every container in containerd's k8s.io namespace: kills its task, deletes it,
 * and removes the pod's network namespace (which takes its veth with it).
 */
async function removeAllContainers(log: string): Promise<void> {
  const ids = (await ctr(['containers', 'ls', '-q'], log, true)).split('\n').filter(Boolean);
  const netns = new Set<string>();
  for (const id of ids) {
    try {
      const info = JSON.parse(await ctr(['containers', 'info', id], log, true)) as {
        Spec?: { linux?: { namespaces?: Array<{ type: string; path?: string }> } };
      };
      const path = info.Spec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
      if (path) netns.add(path);
    } catch {
      /* no spec: nothing to learn */
    }
    await ctr(['tasks', 'kill', '--signal', 'SIGKILL', id], log).catch(() => undefined);
    await ctr(['tasks', 'delete', '--force', id], log).catch(() => undefined);
    await ctr(['containers', 'delete', id], log).catch(() => undefined);
  }
  for (const path of netns) {
    await run('umount', [path], { log }).catch(() => undefined);
    rmSync(path, { force: true });
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** GET over TLS on 127.0.0.1 (the components' own self-signed serving certificates). */
function httpsOk(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function apiserverReady(): Promise<boolean> {
  if (!existsSync(pki('admin.crt'))) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request(
      {
        host: NODE_IP,
        port: APISERVER_PORT,
        path: '/readyz',
        ca: readFileSync(pki('ca.crt')),
        cert: readFileSync(pki('admin.crt')),
        key: readFileSync(pki('admin.key')),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitNodeReady(cluster: Cluster): Promise<void> {
  let last = 'not registered yet';
  await watchUntil<V1Node, true>(cluster, {
    resource: { apiVersion: 'v1', plural: 'nodes' },
    fieldSelector: `metadata.name=${NODE_NAME}`,
    timeoutMs: 90_000,
    what: `node ${NODE_NAME} to become Ready`,
    timeoutDetail: () => last,
    onEvent: (_type, node) => {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      last = ready ? `${ready.reason ?? ''} ${ready.message ?? ''}`.trim() : last;
      return ready?.status === 'True' ? { done: true, value: true } : { done: false };
    },
  });
}

async function deployCoreDNS(cluster: Cluster): Promise<void> {
  const text = readFileSync(join(SOURCE_DIR, 'addons', 'coredns.yaml'), 'utf8');
  const objects = parseManifests(
    substitute(text, {
      CLUSTER_DOMAIN,
      DNS_SERVICE_IP,
      COREDNS_IMAGE: `${IMAGE_PREFIX}/coredns:${COREDNS_VERSION.replace(/^v/, '')}`,
    }),
    'coredns.yaml',
  );
  await applyAll(cluster, objects);
  await watchUntil<V1Deployment, true>(cluster, {
    resource: { apiVersion: 'apps/v1', plural: 'deployments', namespace: 'kube-system' },
    fieldSelector: 'metadata.name=coredns',
    timeoutMs: 120_000,
    what: 'CoreDNS to become available',
    onEvent: (_t, d) => ((d.status?.availableReplicas ?? 0) >= 1 ? { done: true, value: true } : { done: false }),
  });
}

export async function down(report: Reporter): Promise<void> {
  await teardown(report, { keepLogs: false });
}

/**
 * Stops every process the cluster started (by pid file), removes its containers, mounts,
 * network state and state folders. Safe to run on a cluster that crashed or never started.
 */
async function teardown(report: Reporter, opts: { keepLogs: boolean }): Promise<void> {
  const log = logPath('teardown');
  for (const d of ADDON_DAEMONS) if (await stopDaemon(d)) report(`• stopped ${d}`);
  const reverse = [...COMPONENTS].reverse().filter((c) => c !== 'containerd' && c !== 'etcd') as Component[];
  for (const c of reverse) if (await stopDaemon(c)) report(`• stopped ${c}`);

  // Containers are removed through containerd; after a crash it is started once more
  // on its old state so that it can find and kill the pods' processes.
  let ownContainerd = daemonPid('containerd') !== undefined;
  if (!ownContainerd && existsSync(CONTAINERD_STATE)) {
    writeContainerdConfig();
    startDaemon('containerd', binaryOf('containerd'), ['--config', join(STATE_DIR, 'conf', 'containerd.toml')]);
    ownContainerd = await waitFor('containerd socket', async () => ctrOk(['version']), { timeoutMs: 20_000, daemon: 'containerd' })
      .then(() => true)
      .catch(() => false);
  }
  if (ownContainerd) {
    await removeAllContainers(log).catch((err: Error) => report(`! removing containers: ${err.message}`));
  }
  for (const c of ['containerd', 'etcd'] as const) if (await stopDaemon(c)) report(`• stopped ${c}`);

  if (existsSync(kubeBinary('kube-proxy'))) {
    await run(kubeBinary('kube-proxy'), ['--cleanup'], { log }).catch(() => undefined);
  }
  for (const rule of guardRules()) await run('iptables', ['-t', 'mangle', '-D', ...rule], { log }).catch(() => undefined);
  await removeQueueRules(log);
  unmountBelow([STATE_DIR, RUN_DIR]);
  await run('ip', ['link', 'del', BRIDGE], { log }).catch(() => undefined);
  if (existsSync(SYSCTL_SAVE)) {
    const saved = JSON.parse(readFileSync(SYSCTL_SAVE, 'utf8')) as Record<string, string>;
    for (const [path, value] of Object.entries(saved)) writeFileSync(path, value);
  }
  rmSync(RUN_DIR, { recursive: true, force: true });
  if (opts.keepLogs) {
    for (const entry of existsSync(STATE_DIR) ? readdirSync(STATE_DIR) : []) {
      if (entry !== 'logs') rmSync(join(STATE_DIR, entry), { recursive: true, force: true });
    }
  } else {
    rmSync(STATE_DIR, { recursive: true, force: true });
    rmSync(ADMIN_KUBECONFIG, { force: true });
  }
}

/** Unmounts every mount point below the given folders, deepest first. */
function unmountBelow(roots: readonly string[]): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && roots.some((r) => p === r || p.startsWith(`${r}/`)))
    .map((p) => p.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
}

export interface StatusResult {
  up: boolean;
  kubernetesVersion: string;
  kubeconfig?: string;
  components: Record<string, number | null>;
  podCIDR: string;
}

export async function status(): Promise<StatusResult> {
  const components: Record<string, number | null> = {};
  for (const c of [...COMPONENTS, ...ADDON_DAEMONS]) components[c] = daemonPid(c) ?? null;
  const isRunning = await isUp();
  return {
    up: isRunning,
    kubernetesVersion: KUBERNETES_VERSION,
    kubeconfig: isRunning ? ADMIN_KUBECONFIG : undefined,
    components,
    podCIDR: POD_CIDR,
  };
}
