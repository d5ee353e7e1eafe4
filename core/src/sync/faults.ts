// Paths that cannot sync, and why: each is left out (the rest of the tree syncs) and named in
// one sync event per kind of problem, with what to do. A path is reported once until it
// syncs again.
import { lstatSync, type Stats } from 'node:fs';
import { SIDECAR_SRC } from './sidecar.js';

export type FaultKind = 'unreadable' | 'too-long' | 'name' | 'loop' | 'changing';

/** Linux limits in the container: bytes per name, bytes per path (PATH_MAX less its NUL). */
export const NAME_MAX = 255;
export const PATH_MAX = 4095;

const TEXT: Record<FaultKind, { what: string; hint: string }> = {
  unreadable: { what: 'not synced, cannot be read', hint: 'Make it readable (chmod u+r <path>) or add it to sync.ignore; everything else syncs.' },
  'too-long': { what: "not synced, too long for the container's file system", hint: 'Shorten the name or the path, or add it to sync.ignore; everything else syncs.' },
  name: { what: 'not synced, a name the sync cannot carry', hint: 'Rename it (no backslash, no leading "x:"), or add it to sync.ignore; everything else syncs.' },
  loop: { what: 'a symlink loop, synced as the link itself', hint: 'Fix or remove the link if something in the container follows it.' },
  changing: { what: 'changed while it was being sent; sent again once it settles', hint: 'If it changes all the time (a log, a database), add it to sync.ignore.' },
};

/** How many paths one event names; the rest are counted. */
const NAMED = 5;

export class FaultLog {
  private readonly reported = new Map<string, FaultKind>();
  private fresh = new Map<FaultKind, string[]>();
  private timer: NodeJS.Timeout | undefined;
  /** Bytes a path may have relative to the synced folder in the pod. */
  private readonly pathBudget: number;

  /**
   * `remoteRoots`: the absolute folders the synced tree appears at in the pod (the sidecar's
   * root, the dev container's workDir): a path too long under any of them is left out.
   */
  constructor(
    private readonly report: (message: string, hint: string) => void,
    remoteRoots: readonly string[] = [SIDECAR_SRC],
  ) {
    this.pathBudget = PATH_MAX - 1 - Math.max(0, ...remoteRoots.map((r) => Buffer.byteLength(r)));
  }

  /** Records a problem with `rel` (reported shortly, grouped with others of its kind). */
  add(rel: string, kind: FaultKind, detail?: string): void {
    if (this.reported.get(rel) === kind) return;
    this.reported.set(rel, kind);
    const list = this.fresh.get(kind) ?? [];
    list.push(detail ? `${rel} (${detail})` : rel);
    this.fresh.set(kind, list);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), 50);
      this.timer.unref();
    }
  }

  /** `rel` synced: a later problem keeping it out is reported again (loops and changes are told once). */
  ok(rel: string): void {
    const kind = this.reported.get(rel);
    if (kind && kind !== 'loop' && kind !== 'changing') this.reported.delete(rel);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const fresh = this.fresh;
    this.fresh = new Map();
    for (const [kind, paths] of fresh) {
      const named = paths.slice(0, NAMED).join(', ');
      const more = paths.length > NAMED ? ` and ${paths.length - NAMED} more` : '';
      const { what, hint } = TEXT[kind];
      this.report(`${what}: ${named}${more}`, paths.length === 1 ? hint.replace('<path>', paths[0]!.replace(/ \(.*\)$/, '')) : hint.replace(' <path>', ''));
    }
  }

  /**
   * True (and recorded) when `rel` cannot exist in the container or cannot cross the
   * protocol: a name over NAME_MAX bytes, a path over the budget, a backslash or a leading
   * drive letter (the sidecar rejects those as non-POSIX).
   */
  rejects(rel: string): boolean {
    const bytes = Buffer.byteLength(rel);
    if (bytes > this.pathBudget) {
      this.add(rel, 'too-long', `${bytes} bytes; the limit there is ${this.pathBudget}`);
      return true;
    }
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (Buffer.byteLength(name) > NAME_MAX) {
      this.add(rel, 'too-long', `a name of ${Buffer.byteLength(name)} bytes; the limit is ${NAME_MAX}`);
      return true;
    }
    if (rel.includes('\\') || /^[a-zA-Z]:/.test(rel)) {
      this.add(rel, 'name');
      return true;
    }
    return false;
  }

  /**
   * A read of `rel` failed: records why, unless the file is simply gone (or became a symlink
   * since it was listed: ELOOP from O_NOFOLLOW), which is not a problem.
   */
  readFailed(rel: string, e: unknown): undefined {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    this.add(rel, 'unreadable', code ?? (e instanceof Error ? e.message : String(e)));
    return undefined;
  }

  /**
   * After a read of `rel` that began at `startedMs` (listed with `st`, `got` bytes read):
   * true when the length is not what the listing said (the caller looks again shortly); a
   * write during the read itself is reported.
   */
  changedWhileRead(rel: string, abs: string, st: Stats, got: number, startedMs: number): boolean {
    // the same length as listed: taken as whole (no syscall on the hot path; a same-length
    // rewrite during the read still brings a watcher event, and the file is sent again)
    if (got === st.size) return false;
    let now: Stats | undefined;
    try {
      now = lstatSync(abs);
    } catch {
      return false; // gone: the watcher reports the deletion
    }
    if (now.size !== got || now.mtimeMs >= startedMs) this.add(rel, 'changing');
    return true;
  }
}
