// The configuration files and command lines of every cluster process.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  APISERVER_PORT,
  BRIDGE,
  CLUSTER_DOMAIN,
  CNI_CONF_DIR,
  CNI_DATA_DIR,
  CONTAINERD_ROOT,
  CONTAINERD_SOCK,
  CONTAINERD_STATE,
  DNS_SERVICE_IP,
  KUBELET_ROOT,
  NODE_IP,
  NODE_NAME,
  PAUSE_IMAGE,
  POD_CIDR,
  SERVICE_CIDR,
  STATE_DIR,
} from './config.js';
import { kubeBinary } from './build.js';
import { pki, writeKubeconfig } from './pki.js';

const conf = (file: string) => join(STATE_DIR, 'conf', file);

/** Does this process hold CAP_SYS_RESOURCE (bit 24 of the effective set)? */
function hasSysResource(): boolean {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  return line !== undefined && (BigInt(`0x${line.split(/\s+/)[1]}`) & (1n << 24n)) !== 0n;
}

/**
 * The runc that containerd calls. On machines whose root lacks CAP_SYS_RESOURCE (these
 * VMs), no process may lower its oom_score_adj, and runc fails to start any container
 * that asks for a negative one (kubelet gives -998 to every pod sandbox). There a small
 * wrapper raises negative values to 0 in the bundle's config.json before calling runc.
 */
function runcBinary(): string {
  if (hasSysResource()) return '/usr/sbin/runc';
  const wrapper = join(STATE_DIR, 'bin', 'kdev-runc');
  mkdirSync(join(STATE_DIR, 'bin'), { recursive: true });
  writeFileSync(
    wrapper,
    `#!/bin/sh
# Written by kdev's cluster bootstrap (test/cluster/components.ts): clamps a negative
# oomScoreAdj to 0, because this machine's root cannot lower oom_score_adj.
prev=
for arg in "$@"; do
  if [ "$prev" = "--bundle" ] && [ -f "$arg/config.json" ]; then
    sed -i 's/"oomScoreAdj":-[0-9]*/"oomScoreAdj":0/' "$arg/config.json"
  fi
  prev=$arg
done
exec /usr/sbin/runc "$@"
`,
    { mode: 0o755 },
  );
  return wrapper;
}

export function writeContainerdConfig(): string {
  mkdirSync(join(STATE_DIR, 'conf'), { recursive: true });
  mkdirSync(CNI_CONF_DIR, { recursive: true });
  const path = conf('containerd.toml');
  writeFileSync(
    path,
    `version = 2
root = "${CONTAINERD_ROOT}"
state = "${CONTAINERD_STATE}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${CONTAINERD_SOCK}"

[ttrpc]
  address = "${CONTAINERD_SOCK}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(STATE_DIR, 'opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  max_container_log_line_size = 65536
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${runcBinary()}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${CNI_CONF_DIR}"
`,
  );
  return path;
}

/** The pod network: a bridge with host-local addresses and no masquerade (nothing leaves the machine). */
export function writeCniConfig(): void {
  mkdirSync(CNI_CONF_DIR, { recursive: true });
  writeFileSync(
    join(CNI_CONF_DIR, '10-kdev.conflist'),
    JSON.stringify(
      {
        cniVersion: '0.4.0',
        name: 'kdev',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              dataDir: CNI_DATA_DIR,
              ranges: [[{ subnet: POD_CIDR, rangeStart: '10.88.1.1', gateway: NODE_IP }]],
              routes: [{ dst: '0.0.0.0/0' }],
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ),
  );
}

export function etcdArgs(): string[] {
  return [
    '--name=kdev',
    `--data-dir=${join(STATE_DIR, 'etcd')}`,
    '--listen-client-urls=http://127.0.0.1:2379',
    '--advertise-client-urls=http://127.0.0.1:2379',
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    '--initial-cluster=kdev=http://127.0.0.1:2380',
    '--listen-metrics-urls=http://127.0.0.1:2381',
    '--unsafe-no-fsync=true',
    '--quota-backend-bytes=2147483648',
    '--log-level=warn',
  ];
}

export function apiserverArgs(): string[] {
  return [
    `--advertise-address=${NODE_IP}`,
    `--bind-address=${NODE_IP}`,
    `--secure-port=${APISERVER_PORT}`,
    '--etcd-servers=http://127.0.0.1:2379',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    `--client-ca-file=${pki('ca.crt')}`,
    `--tls-cert-file=${pki('apiserver.crt')}`,
    `--tls-private-key-file=${pki('apiserver.key')}`,
    `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
    `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
    `--kubelet-certificate-authority=${pki('ca.crt')}`,
    '--kubelet-preferred-address-types=InternalIP',
    `--service-account-issuer=https://kubernetes.default.svc.${CLUSTER_DOMAIN}`,
    `--service-account-key-file=${pki('sa.pub')}`,
    `--service-account-signing-key-file=${pki('sa.key')}`,
    '--profiling=false',
    '--event-ttl=1h',
  ];
}

export function controllerManagerArgs(): string[] {
  const kubeconfig = conf('controller-manager.kubeconfig');
  writeKubeconfig(kubeconfig, 'controller-manager', 'system:kube-controller-manager');
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    `--root-ca-file=${pki('ca.crt')}`,
    `--service-account-private-key-file=${pki('sa.key')}`,
    `--cluster-signing-cert-file=${pki('ca.crt')}`,
    `--cluster-signing-key-file=${pki('ca.key')}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allocate-node-cidrs=false',
    '--profiling=false',
    '--terminated-pod-gc-threshold=100',
  ];
}

export function schedulerArgs(): string[] {
  const kubeconfig = conf('scheduler.kubeconfig');
  writeKubeconfig(kubeconfig, 'scheduler', 'system:kube-scheduler');
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
    '--profiling=false',
  ];
}

export function kubeletArgs(): string[] {
  const kubeconfig = conf('kubelet.kubeconfig');
  writeKubeconfig(kubeconfig, 'kubelet-client', `system:node:${NODE_NAME}`);
  // Pods with dnsPolicy Default (CoreDNS itself) get this file: no upstream servers,
  // so no DNS query leaves the machine.
  const resolv = conf('resolv.conf');
  writeFileSync(resolv, `# kdev local cluster: no upstream DNS\nsearch ${CLUSTER_DOMAIN}\n`);
  const config = conf('kubelet.yaml');
  writeFileSync(
    config,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP}
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${pki('ca.crt')} }
authorization:
  mode: Webhook
tlsCertFile: ${pki('kubelet-serving.crt')}
tlsPrivateKeyFile: ${pki('kubelet-serving.key')}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${CONTAINERD_SOCK}
clusterDNS: [${DNS_SERVICE_IP}]
clusterDomain: ${CLUSTER_DOMAIN}
resolvConf: ${resolv}
podLogsDir: ${join(STATE_DIR, 'pod-logs')}
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
maxPods: 200
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusReportFrequency: 1m
shutdownGracePeriod: 0s
`,
  );
  return [
    `--config=${config}`,
    `--kubeconfig=${kubeconfig}`,
    `--root-dir=${KUBELET_ROOT}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_IP}`,
    '--v=1',
  ];
}

export function kubeProxyArgs(): string[] {
  const kubeconfig = conf('kube-proxy.kubeconfig');
  writeKubeconfig(kubeconfig, 'kube-proxy', 'system:kube-proxy');
  const config = conf('kube-proxy.yaml');
  writeFileSync(
    config,
    `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${kubeconfig}
mode: iptables
clusterCIDR: ${POD_CIDR}
hostnameOverride: ${NODE_NAME}
bindAddress: ${NODE_IP}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["${NODE_IP}/32"]
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 0s
`,
  );
  return [`--config=${config}`];
}

export const binaryOf = (component: string): string => {
  if (component === 'containerd') return '/usr/bin/containerd';
  return kubeBinary(component as Parameters<typeof kubeBinary>[0]);
};
