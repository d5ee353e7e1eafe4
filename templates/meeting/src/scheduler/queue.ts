// A bounded FIFO with flow control: when it is full, producers wait for room (up to a
// deadline) instead of failing at once; consumers take batches.

export class QueueFullError extends Error {
  constructor(readonly retryAfterS: number) {
    super('the scheduler is overloaded: the request waited too long for a place in the queue');
  }
}

export class FlowQueue<T> {
  private items: T[] = [];
  private spaceWaiters: Array<() => void> = [];
  private itemWaiters: Array<() => void> = [];
  private waiting: Promise<void> | undefined;
  stats = { accepted: 0, waited: 0, rejected: 0, maxDepth: 0 };

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  /** Adds an item; when full, waits up to `waitMs` for room, then throws QueueFullError. */
  async push(item: T, waitMs = 30_000): Promise<void> {
    if (this.items.length >= this.capacity) {
      this.stats.waited++;
      const deadline = Date.now() + waitMs;
      while (this.items.length >= this.capacity) {
        const left = deadline - Date.now();
        if (left <= 0) {
          this.stats.rejected++;
          throw new QueueFullError(Math.max(1, Math.ceil(this.items.length / this.capacity)));
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.spaceWaiters = this.spaceWaiters.filter((w) => w !== wake);
            resolve();
          }, left);
          const wake = () => {
            clearTimeout(timer);
            resolve();
          };
          this.spaceWaiters.push(wake);
        });
      }
    }
    this.items.push(item);
    this.stats.accepted++;
    if (this.items.length > this.stats.maxDepth) this.stats.maxDepth = this.items.length;
    const w = this.itemWaiters.shift();
    w?.();
  }

  /** Takes up to n items (oldest first) and lets waiting producers in. */
  take(n: number): T[] {
    const out = this.items.splice(0, n);
    for (let i = 0; i < out.length && this.spaceWaiters.length > 0; i++) this.spaceWaiters.shift()!();
    return out;
  }

  /** Resolves when an item is there (at once if one is). */
  nonEmpty(): Promise<void> {
    if (this.items.length > 0) return Promise.resolve();
    if (!this.waiting) {
      this.waiting = new Promise((resolve) =>
        this.itemWaiters.push(() => {
          this.waiting = undefined;
          resolve();
        }),
      );
    }
    return this.waiting;
  }
}
