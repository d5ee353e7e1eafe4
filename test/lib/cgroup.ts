// A container's memory as Kubernetes accounts it, read from its memory cgroup on this node
// (the local cluster has one node, this machine): kubepods/<qos>/pod<uid>/<container id>.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '@kdev/core/internals';

export async function containerCgroup(cluster: Cluster, namespace: string, pod: string, container: string): Promise<string> {
  const p = await cluster.core.readNamespacedPod({ name: pod, namespace });
  const id = p.status?.containerStatuses?.find((c) => c.name === container)?.containerID?.replace(/^[a-z]+:\/\//, '');
  const uid = p.metadata?.uid;
  if (!id || !uid) throw new Error(`no container id for ${container} in ${pod}`);
  for (const base of ['/sys/fs/cgroup/memory/kubepods', '/sys/fs/cgroup/kubepods']) {
    for (const qos of ['', 'burstable', 'besteffort']) {
      const dir = join(base, qos, `pod${uid}`, id);
      if (existsSync(join(dir, 'memory.stat'))) return dir;
    }
  }
  throw new Error(`the memory cgroup of container ${id} was not found under /sys/fs/cgroup`);
}

/** The cgroup's anonymous memory in MiB (what the kubelet reports as rssBytes). */
export function cgroupAnonMb(dir: string): number {
  const stat = readFileSync(join(dir, 'memory.stat'), 'utf8');
  const m = /^rss (\d+)$/m.exec(stat) ?? /^anon (\d+)$/m.exec(stat);
  return Number(m?.[1] ?? NaN) / 1048576;
}

/** Samples cgroupAnonMb every 20 ms until the returned function is called; gives the peak. */
export function sampleCgroupPeak(dir: string): () => number {
  let peak = cgroupAnonMb(dir);
  const timer = setInterval(() => (peak = Math.max(peak, cgroupAnonMb(dir))), 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, cgroupAnonMb(dir));
  };
}
