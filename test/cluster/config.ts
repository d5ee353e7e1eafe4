// Every fixed fact of the local cluster in one place: versions, paths, addresses, ports.
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's test/cluster folder (sources: go modules, manifests). */
export const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cluster');

export const KUBERNETES_VERSION = 'v1.34.4';
export const ETCD_VERSION = 'v3.6.4';
export const COREDNS_VERSION = 'v1.12.4';
/** sigs.k8s.io/kube-network-policies: the NetworkPolicy engine (go/netpol/go.mod pins the same). */
export const NETPOL_VERSION = 'v0.8.0';
/** The tools environments render templates with (not cluster components; test/cluster/go/<name>). */
export const HELM_VERSION = 'v4.3.2';
export const KUSTOMIZE_VERSION = 'v5.8.2';

/** Slow-to-make things (binaries, images, containerd's image store) live here across runs. */
export const CACHE_DIR = process.env.KDEV_CACHE_DIR ?? join(homedir(), '.cache', 'kdev');
export const KUBE_BIN_DIR = join(CACHE_DIR, 'kubernetes', KUBERNETES_VERSION, 'bin');
export const COREDNS_BIN = join(CACHE_DIR, 'coredns', COREDNS_VERSION, 'coredns');
export const IMAGE_CACHE_DIR = join(CACHE_DIR, 'images');
export const CONTAINERD_ROOT = join(CACHE_DIR, 'containerd');

/** Machine-wide state of the running cluster: removed by `down`. */
export const STATE_DIR = '/var/lib/kdev-cluster';
export const RUN_DIR = '/run/kdev-cluster';
export const PID_DIR = join(RUN_DIR, 'pids');
export const LOG_DIR = join(STATE_DIR, 'logs');
export const PKI_DIR = join(STATE_DIR, 'pki');
export const CONTAINERD_STATE = join(RUN_DIR, 'containerd');
export const CONTAINERD_SOCK = join(RUN_DIR, 'containerd.sock');
export const CNI_CONF_DIR = join(STATE_DIR, 'cni', 'net.d');
export const CNI_DATA_DIR = join(STATE_DIR, 'cni', 'ipam');
export const KUBELET_ROOT = join(STATE_DIR, 'kubelet');

/** The admin kubeconfig, inside the repository (git-ignored). */
export const REPO_STATE_DIR = join(SOURCE_DIR, '.state');
export const ADMIN_KUBECONFIG = join(REPO_STATE_DIR, 'kubeconfig');

/** Network: a bridge of our own; nothing is routed or NATed off the machine. */
export const BRIDGE = 'kdev0';
export const NODE_IP = '10.88.0.1';
export const POD_CIDR = '10.88.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const DNS_SERVICE_IP = '10.96.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
export const NODE_NAME = 'kdev-node';
export const APISERVER_PORT = 6443;
export const APISERVER_URL = `https://${NODE_IP}:${APISERVER_PORT}`;

/** Ports the cluster's own processes bind; checked free before anything starts. */
export const PORTS: ReadonlyArray<{ host: string; port: number; owner: string }> = [
  { host: '127.0.0.1', port: 2379, owner: 'etcd' },
  { host: '127.0.0.1', port: 2380, owner: 'etcd (peer)' },
  { host: NODE_IP, port: APISERVER_PORT, owner: 'kube-apiserver' },
  { host: '127.0.0.1', port: 10257, owner: 'kube-controller-manager' },
  { host: '127.0.0.1', port: 10259, owner: 'kube-scheduler' },
  { host: NODE_IP, port: 10250, owner: 'kubelet' },
  { host: '127.0.0.1', port: 10248, owner: 'kubelet (healthz)' },
  { host: '127.0.0.1', port: 10256, owner: 'kube-proxy (healthz)' },
  { host: '127.0.0.1', port: 10249, owner: 'kube-proxy (metrics)' },
  { host: '127.0.0.1', port: 10263, owner: 'kube-network-policies (metrics)' },
];

/** Debian packages the cluster needs on the machine. */
export const APT_PACKAGES = [
  'containerd',
  'runc',
  'containernetworking-plugins',
  'iptables',
  'conntrack',
  'openssl',
  'mmdebstrap',
  'busybox-static',
  'iproute2',
  // the meeting template's search engine image: OpenSearch from Maven Central
  'maven',
  'unzip',
];

/** Local images: one prefix, imported into containerd, pulled never. */
export const IMAGE_PREFIX = 'kdev.local';
export const PAUSE_IMAGE = `${IMAGE_PREFIX}/pause:1`;
export const NODE_IMAGE = `${IMAGE_PREFIX}/node:18`;

/** The components started as processes, in start order; `down` stops them in reverse. */
export const COMPONENTS = [
  'containerd',
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
] as const;
export type Component = (typeof COMPONENTS)[number];

/**
 * Processes started after the core components. `cluster:up` on a running cluster starts
 * any of them that is not running (so one can be added without a restart).
 */
export const ADDON_DAEMONS = ['kube-network-policies'] as const;
