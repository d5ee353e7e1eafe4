// The attached `kdev dev start` writes its sync status to a small file per workload, so
// that `kdev sync status` (another process) can show it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SyncStatus } from '@kdev/core';

export interface SyncStateFile {
  pid: number;
  workload: string;
  namespace: string;
  status: SyncStatus;
  updatedAt: string;
}

const dir = () => join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'kdev', 'sync');

const fileOf = (namespace: string, workload: string) => join(dir(), `${namespace}.${workload.replace('/', '.')}.json`);

export function writeSyncState(namespace: string, workload: string, status: SyncStatus): void {
  mkdirSync(dir(), { recursive: true });
  const body: SyncStateFile = { pid: process.pid, workload, namespace, status, updatedAt: new Date().toISOString() };
  writeFileSync(fileOf(namespace, workload), JSON.stringify(body, null, 2));
}

export function removeSyncState(namespace: string, workload: string): void {
  rmSync(fileOf(namespace, workload), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The sync sessions of running kdev processes; files of dead processes are removed. */
export function readSyncStates(): SyncStateFile[] {
  if (!existsSync(dir())) return [];
  const out: SyncStateFile[] = [];
  for (const name of readdirSync(dir())) {
    const path = join(dir(), name);
    try {
      const state = JSON.parse(readFileSync(path, 'utf8')) as SyncStateFile;
      if (alive(state.pid)) out.push(state);
      else rmSync(path, { force: true });
    } catch {
      rmSync(path, { force: true });
    }
  }
  return out;
}
