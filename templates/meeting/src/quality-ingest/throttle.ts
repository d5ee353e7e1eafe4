// Memory-based smooth throttling. Below the low watermark everything is admitted, above
// the high one nothing; in between the admission rate follows a smooth curve of memory
// use. The applied rate moves towards that target with a time constant, so it falls and
// rises gradually instead of flapping between on and off.

export interface ThrottleOptions {
  lowBytes: number;
  highBytes: number;
  /** Seconds for the applied rate to cover ~63% of the way to its target. */
  tauS: number;
  memory: () => number;
  now: () => number;
}

/** The target admission rate for a memory level: 1 → 0 along a smoothstep. */
export function targetRate(mem: number, low: number, high: number): number {
  if (mem <= low) return 1;
  if (mem >= high) return 0;
  const t = (mem - low) / (high - low);
  return 1 - t * t * (3 - 2 * t);
}

export class SmoothThrottle {
  private rate = 1;
  private credit = 0;
  private last: number;
  admitted = 0;
  rejected = 0;

  constructor(readonly opts: ThrottleOptions) {
    if (!(opts.lowBytes < opts.highBytes)) throw new Error('the low watermark must be below the high one');
    this.last = opts.now();
  }

  /** Updates the applied rate from the current memory use; returns it. */
  update(): number {
    const now = this.opts.now();
    const dt = Math.max(0, (now - this.last) / 1000);
    this.last = now;
    const target = targetRate(this.opts.memory(), this.opts.lowBytes, this.opts.highBytes);
    const alpha = 1 - Math.exp(-dt / this.opts.tauS);
    this.rate += (target - this.rate) * alpha;
    if (this.rate < 1e-3) this.rate = 0;
    if (this.rate > 0.999) this.rate = 1;
    return this.rate;
  }

  get currentRate(): number {
    return this.rate;
  }

  /** Admits a fraction `rate` of calls, deterministically spread (no random bursts). */
  admit(): boolean {
    this.credit += this.rate;
    if (this.credit >= 1 - 1e-9) {
      // at most one admission's worth of credit is kept, so a low rate never saves up a burst
      this.credit = Math.min(this.credit - 1, 1);
      this.admitted++;
      return true;
    }
    this.rejected++;
    return false;
  }
}
