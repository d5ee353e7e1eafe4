// Telling the dev container's supervisor that a batch landed: one line on a FIFO.
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';

export const DEFAULT_CTL_FIFO = '/kdev/ctl/cmd';

export type NotifyResult = 'sent' | 'no-reader' | 'no-fifo' | 'busy' | 'not-a-fifo';

/**
 * Writes `synced\n` to the supervisor's FIFO, opened O_WRONLY|O_NONBLOCK so that it never
 * blocks: no reader (ENXIO) or no FIFO (ENOENT) means nobody to tell, and a full pipe
 * (EAGAIN) means the supervisor has not read the previous line yet; none of them is an error.
 * O_NOFOLLOW: a symlink put in the FIFO's place (by a process in the pod) is not followed,
 * and whatever was opened must be a FIFO (fstat) before anything is written to it.
 */
export function notifySupervisor(fifo: string = DEFAULT_CTL_FIFO): NotifyResult {
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO') return 'no-reader';
    if (code === 'ENOENT') return 'no-fifo';
    if (code === 'ELOOP' || code === 'EISDIR' || code === 'ETXTBSY') return 'not-a-fifo';
    throw e;
  }
  try {
    if (!fstatSync(fd).isFIFO()) return 'not-a-fifo';
    writeSync(fd, 'synced\n');
    return 'sent';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EPIPE') return 'busy';
    throw e;
  } finally {
    closeSync(fd);
  }
}
