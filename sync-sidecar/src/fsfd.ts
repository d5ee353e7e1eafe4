// File-system access by file descriptor, never by path text. Node 18 has no openat, so every
// operation goes through `/proc/self/fd/<dir fd>/<name>`: the kernel resolves the magic link
// to the folder the descriptor holds (wherever it is now), and only `<name>` is looked up in
// it. Folders are opened one component at a time with O_NOFOLLOW|O_DIRECTORY, so a symlink
// (or a file) anywhere along a path stops the walk instead of being followed, and a folder
// swapped for a symlink after it was opened changes nothing: the descriptor still names the
// folder that was checked. See ../PROTOCOL.md, "Threat model".
//
// Where /proc is missing (the client on macOS), a Dir carries its path and names are joined to
// it: the same component-by-component O_NOFOLLOW walk, without the guarantee against a
// concurrent swap of an already opened folder.
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, readlinkSync, renameSync, rmdirSync, unlinkSync, type Dirent, type Stats } from 'node:fs';

const PROC = existsSync('/proc/self/fd');
const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** An open folder: its descriptor, and (for messages and the no-/proc fallback) its path. */
export interface Dir {
  fd: number;
  path: string;
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

/** The path through which `name` inside `dir` is reached (the folder itself when name is ''). */
export function at(dir: Dir, name = ''): string {
  const base = PROC ? `/proc/self/fd/${dir.fd}` : dir.path;
  return name ? `${base}/${name}` : base;
}

/** Opens the sync root itself (the one path that is trusted as configured). */
export function openRoot(path: string): Dir {
  return { fd: openSync(path, constants.O_RDONLY | constants.O_DIRECTORY), path };
}

export function closeDir(dir: Dir | undefined): void {
  if (dir) closeSync(dir.fd);
}

/** Opens the real folder `name` in `dir`; undefined when it is missing, a symlink or not a folder. */
export function openDirAt(dir: Dir, name: string): Dir | undefined {
  try {
    return { fd: openSync(at(dir, name), O_DIR), path: `${dir.path}/${name}` };
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/**
 * Opens folder `rel` under `root`, one component at a time, never following a symlink.
 * Undefined when some component is missing or not a real folder. The caller closes it.
 * '' opens a second descriptor of the root.
 */
export function openDirPath(root: Dir, rel: string): Dir | undefined {
  // the descriptor's own magic link must be followed (O_NOFOLLOW would refuse it): it names
  // the root that was opened
  let cur: Dir = { fd: openSync(at(root), constants.O_RDONLY | constants.O_DIRECTORY), path: root.path };
  if (rel === '') return cur;
  for (const part of rel.split('/')) {
    const next = openDirAt(cur, part);
    closeSync(cur.fd);
    if (!next) return undefined;
    cur = next;
  }
  return cur;
}

export function lstatAt(dir: Dir, name: string): Stats | undefined {
  try {
    return lstatSync(at(dir, name));
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

export function readdirAt(dir: Dir): Dirent[] {
  return readdirSync(at(dir), { withFileTypes: true });
}

export function readlinkAt(dir: Dir, name: string): string | undefined {
  try {
    return readlinkSync(at(dir, name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (isMissing(e) || code === 'EINVAL') return undefined;
    throw e;
  }
}

/**
 * Opens the regular file `name` in `dir` for reading: O_NOFOLLOW (a symlink fails), O_NONBLOCK
 * (a FIFO put there does not block the open), then fstat must say it is a regular file.
 * Undefined when it is not one. The caller closes the descriptor.
 */
export function openFileAt(dir: Dir, name: string): { fd: number; st: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(at(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    return undefined;
  }
  return { fd, st };
}

/** Reads what an open file holds now (it may have changed size since an lstat). */
export function readAll(fd: number, sizeHint: number): Buffer {
  let buf = Buffer.allocUnsafe(sizeHint + 1);
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, n);
      buf = bigger;
    }
    const r = readSync(fd, buf, n, buf.length - n, null);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/** Creates folder `name` in `dir` (mode 0o755 before umask); false when something is there. */
export function mkdirAt(dir: Dir, name: string, mode = 0o755): boolean {
  try {
    mkdirSync(at(dir, name), mode);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** rename(2) between two open folders: never follows a symlink at either name. */
export function renameAt(from: Dir, fromName: string, to: Dir, toName: string): void {
  renameSync(at(from, fromName), at(to, toName));
}

/**
 * Removes `name` in `dir` and, if it is a folder, everything in it, by descriptor: unlink(2)
 * never follows a symlink, and each folder is entered with O_NOFOLLOW, so a symlink swapped
 * in during the removal is unlinked, not followed. Missing is not an error.
 */
export function removeAt(dir: Dir, name: string, depth = 0): void {
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      unlinkSync(at(dir, name));
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EISDIR' && code !== 'EPERM') throw e;
    }
    const sub = openDirAt(dir, name);
    if (!sub) continue; // swapped for a non-folder meanwhile: unlink again
    try {
      if (depth > 4096) throw new Error(`folder nesting too deep at ${sub.path}`);
      for (const d of readdirAt(sub)) removeAt(sub, d.name, depth + 1);
    } finally {
      closeSync(sub.fd);
    }
    try {
      rmdirSync(at(dir, name));
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
    }
  }
  throw new Error(`could not remove ${dir.path}/${name}: it keeps changing`);
}
