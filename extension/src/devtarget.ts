// The dev container a session command (logs, terminal, run, debug) talks to: core's
// resolveDevTarget for the workload node, in the cluster the tree shows it from.
import { resolveDevTarget, type Cluster, type SessionTarget } from '@kdev/core';
import type { Node } from './tree.js';
import { workloadKey } from './tree.js';
import type { DevMode } from './devmode.js';

export interface DevTarget {
  /** The tree's key of the workload: context/namespace/kind/name. */
  key: string;
  /** "kind/name" */
  ref: string;
  cluster: Cluster;
  target: SessionTarget;
}

export async function devTarget(dev: DevMode, node: Node | undefined): Promise<DevTarget> {
  const n = dev.workload(node);
  const ref = `${n.kind.kind.toLowerCase()}/${n.name}`;
  const cluster = dev.cluster(n);
  const target = await resolveDevTarget(cluster, ref);
  return { key: workloadKey(n), ref, cluster, target };
}
