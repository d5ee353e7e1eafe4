// Ready means stable: the one settle rule, for an environment's workloads (env/ready.ts)
// and for the dev pod of `kdev dev start` (devmode/wait.ts). A pod that is Ready counts
// once it has stayed Ready without a restart for a settle window: a container that crashes
// a second after it starts is Ready for an instant, not ready.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/** Restarts so far of each container of a pod (init containers included), by name. */
export function restartCounts(pod: V1Pod): Map<string, number> {
  const all: V1ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return new Map(all.map((c) => [c.name, c.restartCount]));
}

/** The containers that must keep running: the regular ones and the native sidecars (init containers with restartPolicy Always). */
function longRunning(pod: V1Pod): V1ContainerStatus[] {
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  return [...(pod.status?.initContainerStatuses ?? []).filter((c) => sidecars.has(c.name)), ...(pod.status?.containerStatuses ?? [])];
}

/**
 * The settle rule, for one pod seen after it (or its workload) became Ready: a container
 * that has restarted since `baseline` (its counts then) or that has stopped (terminated,
 * while the pod should keep running) is a crash in the settle window. A Job's pods are
 * not judged.
 */
export function crashSince(pod: V1Pod, baseline: ReadonlyMap<string, number>): { container: string; reason: string; exitCode?: number } | undefined {
  if (pod.spec?.restartPolicy === 'Never' || pod.spec?.restartPolicy === 'OnFailure') return undefined;
  for (const c of longRunning(pod)) {
    const before = baseline.get(c.name) ?? 0;
    const term = c.state?.terminated ?? (c.restartCount > before ? c.lastState?.terminated : undefined);
    if (c.restartCount > before || c.state?.terminated) {
      return { container: c.name, reason: term?.reason ?? (c.state?.waiting?.reason ?? 'restarted'), exitCode: term?.exitCode };
    }
  }
  return undefined;
}

export type SettleCrash = NonNullable<ReturnType<typeof crashSince>> & { pod: V1Pod };
export type Settle = ReturnType<typeof settleWindow>;

/**
 * The settle window of one wait: `begin` when the workload is Ready (again), `cancel` when
 * it is not; `stable` resolves once it stayed Ready for `ms`. Restart counts are taken when
 * it is first Ready; `crash` judges each pod seen after that against them. After a crash
 * the window never completes: `failed` resolves `graceMs` later (by then a crash loop has
 * usually shown as CrashLoopBackOff, with its back-off events, and fails the wait first).
 */
export function settleWindow(ms: number, graceMs = 15_000) {
  let timer: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  let baseline: Map<string, Map<string, number>> | undefined;
  let first: SettleCrash | undefined;
  let resolve!: () => void;
  let resolveFailed!: (c: SettleCrash) => void;
  const stable = new Promise<'ready'>((r) => (resolve = () => r('ready')));
  const failed = new Promise<SettleCrash>((r) => (resolveFailed = r));
  const cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return {
    stable,
    failed,
    crashed: () => first,
    begin(pods: Iterable<V1Pod>): void {
      if (first) return;
      baseline ??= new Map([...pods].map((p) => [p.metadata?.uid ?? '', restartCounts(p)]));
      timer ??= setTimeout(resolve, ms);
    },
    /** Not Ready (any more): the window starts again at the next `begin`. A crash's grace keeps running. */
    cancel,
    /** The wait is over: no timer is left. */
    close(): void {
      cancel();
      clearTimeout(grace);
    },
    crash(pod: V1Pod): SettleCrash | undefined {
      if (!baseline) return undefined;
      const uid = pod.metadata?.uid ?? '';
      if (!baseline.has(uid)) baseline.set(uid, restartCounts(pod));
      const c = crashSince(pod, baseline.get(uid)!);
      if (c && !first) {
        first = { ...c, pod };
        cancel();
        grace = setTimeout(() => resolveFailed(first!), graceMs);
      }
      return c ? { ...c, pod } : undefined;
    },
  };
}

/** "; it had been Ready and restarted within the 5s settle window (Error, exit code 1)", or "" without a crash. */
export function settleNote(c: SettleCrash | undefined, settleMs: number): string {
  if (!c) return '';
  return `; it had been Ready and restarted within the ${settleMs / 1000}s settle window (${c.reason}${c.exitCode !== undefined ? `, exit code ${c.exitCode}` : ''})`;
}

/** A failure's message with the pod's Warning events and last log lines under it, indented. */
export function withPodDetails(message: string, events: readonly string[], logs: readonly string[]): string {
  return [
    message,
    ...(events.length > 0 ? ['  events:', ...events.map((e) => `    ${e}`)] : []),
    ...(logs.length > 0 ? ['  last log lines:', ...logs.map((l) => `    ${l}`)] : []),
  ].join('\n');
}
