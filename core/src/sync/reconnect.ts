// Reconnecting: when the connection to the sidecar drops (the port-forward, the pod), the
// session waits with exponential backoff and starts over with a fresh handshake.
import { ProtocolError } from '@kdev/sync-sidecar';
import { KdevError, isKdevError } from '../errors.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The wait before the next attempt: short after a connection that worked, then doubling. */
export function backoffDelay(failures: number, b: Backoff): number {
  return failures === 0 ? 50 : Math.min(b.maxMs, b.initialMs * 2 ** (failures - 1));
}

/** A wait that stop() can cut short. */
export class Pause {
  private wakeUp: (() => void) | undefined;

  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  wake(): void {
    this.wakeUp?.();
  }
}

/**
 * What a failed attempt means: `fatal` when retrying cannot help (the sidecar speaks another
 * protocol version), else a message and hint to report before the next attempt.
 */
export function attemptFailure(e: unknown): { fatal?: KdevError; message: string; hint?: string } {
  const text = e instanceof Error ? e.message : String(e);
  if (e instanceof ProtocolError && /protocol version|speaks protocol/.test(e.message)) {
    const fatal = new KdevError('FAILED', e.message, 'Restart dev mode so that the pod gets the sidecar of this kdev version.');
    return { fatal, message: fatal.message, hint: fatal.hint };
  }
  return { message: `sync: ${text}`, hint: isKdevError(e) ? e.hint : 'Is the dev pod running? kdev retries with backoff.' };
}
