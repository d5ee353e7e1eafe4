// Who holds a local TCP port: the listening socket's inode from /proc/net/tcp{,6}, then the
// process whose fd points at it. Linux only; elsewhere (or without permission) unknown.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface PortHolder {
  pid: number;
  command: string;
}

/** Inodes of the sockets LISTENing on `port` in a /proc/net/tcp table. */
export function listeningInodes(table: string, port: number): string[] {
  const inodes: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const local = cols[1]!;
    const state = cols[3]!;
    const localPort = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (state === '0A' && localPort === port && cols[9] !== '0') inodes.push(cols[9]!);
  }
  return inodes;
}

export function portHolder(port: number, proc = '/proc'): PortHolder | undefined {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    try {
      for (const i of listeningInodes(readFileSync(`${proc}/net/${table}`, 'utf8'), port)) inodes.add(`socket:[${i}]`);
    } catch {
      // no such table
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${proc}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (inodes.has(link)) {
        let command = '';
        try {
          command = readFileSync(`${proc}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        } catch {
          // gone
        }
        return { pid: Number(pid), command };
      }
    }
  }
  return undefined;
}
