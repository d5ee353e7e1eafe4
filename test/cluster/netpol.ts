// The cluster's NetworkPolicy engine: kube-network-policies (built from its Go module by
// build.ts), a host process that decides on the first packet of each pod connection.
//
// The kernel hands it those packets over nfnetlink_queue. The engine's own nftables rules
// use nftables' `queue` expression, which the kernels of these machines do not have
// (CONFIG_NFT_QUEUE is not set), so its rule sync fails and is only logged. The queueing
// is done here instead, with iptables' NFQUEUE target (xt_NFQUEUE through nft_compat,
// which the kernel has): one chain in the mangle table's POSTROUTING, after DNAT, so a
// connection to a Service is judged by the pod it reaches. See docs/local-cluster.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PatchStrategy } from '@kubernetes/client-node';
import { applyAll, parseManifests, type Cluster } from '@kdev/core/internals';
import { NETPOL_ENGINE, buildGoTool } from './build.js';
import { NODE_NAME, POD_CIDR, SOURCE_DIR, STATE_DIR } from './config.js';
import { ensureCert, writeKubeconfig } from './pki.js';
import { daemonPid, run, startDaemon, waitFor } from './steps.js';

export const NETPOL_DAEMON = 'kube-network-policies';
export const NETPOL_QUEUE = 100;
export const NETPOL_METRICS = '127.0.0.1:10263';
const CHAIN = 'KDEV-NETPOL';

/** The rules of the chain: what the engine's nftables rules would do, in iptables terms. */
export function queueRules(): string[][] {
  const queue = ['-j', 'NFQUEUE', '--queue-num', String(NETPOL_QUEUE), '--queue-bypass'];
  return [
    // The node's own root processes (kubelet probes, the API server's port-forwards,
    // tests on the machine) are not pods: no policy applies to them.
    ['-m', 'owner', '--uid-owner', '0', '-j', 'RETURN'],
    // Only the first packet of a connection is judged.
    ['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'RETURN'],
    // --queue-bypass: while no engine listens, packets pass (a stopped engine means
    // policies are not enforced, not that the pod network is down).
    ['-s', POD_CIDR, ...queue],
    ['-d', POD_CIDR, ...queue],
  ];
}

const JUMP = ['POSTROUTING', '-m', 'comment', '--comment', 'kdev: NetworkPolicy engine', '-j', CHAIN];

function iptables(args: string[], log: string, capture = false): Promise<string> {
  return run('iptables', ['-w', '-t', 'mangle', ...args], { log, capture });
}

const holds = (args: string[], log: string) =>
  iptables(['-C', ...args], log).then(
    () => true,
    () => false,
  );

/**
 * Makes the chain hold exactly queueRules() and POSTROUTING jump to it. Idempotent; a
 * chain that is already right is left alone (no moment without the rules).
 */
export async function installQueueRules(log: string): Promise<void> {
  const listed = await iptables(['-S', CHAIN], log, true).catch(() => undefined);
  const rules = queueRules();
  let right = listed !== undefined && listed.split('\n').filter((l) => l.startsWith('-A ')).length === rules.length;
  for (const rule of rules) if (right) right = await holds([CHAIN, ...rule], log);
  if (!right) {
    if (listed === undefined) await iptables(['-N', CHAIN], log);
    else await iptables(['-F', CHAIN], log);
    for (const rule of rules) await iptables(['-A', CHAIN, ...rule], log);
  }
  if (!(await holds(JUMP, log))) await iptables(['-A', ...JUMP], log);
}

export async function removeQueueRules(log: string): Promise<void> {
  await iptables(['-D', ...JUMP], log).catch(() => undefined);
  await iptables(['-F', CHAIN], log).catch(() => undefined);
  await iptables(['-X', CHAIN], log).catch(() => undefined);
}

/** Is some process bound to the engine's queue (/proc/net/netfilter/nfnetlink_queue)? */
export function queueBound(): boolean {
  try {
    return readFileSync('/proc/net/netfilter/nfnetlink_queue', 'utf8')
      .split('\n')
      .some((line) => line.trim().split(/\s+/)[0] === String(NETPOL_QUEUE));
  } catch {
    return false;
  }
}

/**
 * Publishes the pod range on the node (spec.podCIDR, empty here because the controller
 * manager does not allocate ranges): environments read it to keep the kube-system pods
 * out of their "outside the cluster" egress rule. Set once; a node that has one keeps it.
 */
async function publishPodRange(cluster: Cluster): Promise<void> {
  const node = await cluster.core.readNode({ name: NODE_NAME });
  if (node.spec?.podCIDR) return;
  await cluster.objects.patch(
    { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME }, spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } } as never,
    undefined,
    undefined,
    'kdev-cluster',
    undefined,
    PatchStrategy.MergePatch,
  );
}

/**
 * Builds (once), then starts the engine unless it runs, waits until it listens on its
 * queue, and installs the queueing rules. Safe on a running cluster: this is how
 * `cluster:up` adds the engine to a cluster started before it existed.
 * Returns whether it had to start the engine.
 */
export async function ensureNetworkPolicyEngine(cluster: Cluster, log: string): Promise<boolean> {
  const binary = await buildGoTool(NETPOL_ENGINE, log);
  const running = daemonPid(NETPOL_DAEMON) !== undefined;
  if (!running) {
    await ensureCert('network-policies', log);
    const text = readFileSync(join(SOURCE_DIR, 'addons', 'network-policies.yaml'), 'utf8');
    await applyAll(cluster, parseManifests(text, 'network-policies.yaml'));
    const kubeconfig = join(STATE_DIR, 'conf', 'network-policies.kubeconfig');
    writeKubeconfig(kubeconfig, 'network-policies', 'kdev:network-policies');
    startDaemon(NETPOL_DAEMON, binary, [
      `--kubeconfig=${kubeconfig}`,
      `--hostname-override=${NODE_NAME}`,
      `--nfqueue-id=${NETPOL_QUEUE}`,
      `--metrics-bind-address=${NETPOL_METRICS}`,
      '--v=1',
    ]);
    await waitFor(`${NETPOL_DAEMON} to listen on nfqueue ${NETPOL_QUEUE}`, async () => queueBound(), { timeoutMs: 60_000, daemon: NETPOL_DAEMON });
  }
  await installQueueRules(log);
  await publishPodRange(cluster);
  return !running;
}
