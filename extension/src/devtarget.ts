// The dev container a session command (logs, terminal, run, debug) talks to: the workload
// node as core's DevLoop sees it, and its dev container's target.
import type { DevWorkload, SessionTarget } from '@kdev/core';
import type { Node } from './tree.js';
import { workloadKey } from './tree.js';
import type { DevMode } from './devmode.js';

export interface DevTarget {
  /** The tree's key of the workload: context/namespace/kind/name. */
  key: string;
  /** "kind/name" */
  ref: string;
  w: DevWorkload;
  target: SessionTarget;
}

/** `resolved`: with the dev config (run, debug); else by name only (logs, terminal). */
export async function devTarget(dev: DevMode, node: Node | undefined, resolved = false): Promise<DevTarget> {
  const n = dev.workload(node);
  const w = resolved ? await dev.resolve(n) : dev.named(n);
  const target = await w.devTarget();
  return { key: workloadKey(n), ref: w.workload, w, target };
}
