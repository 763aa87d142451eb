import type { LockStats } from './contention-profiler';
import type { LockOrder } from './lock-order.enum';
import type { LockRuntime } from './lock-runtime';
import { OrderedLock } from './ordered-lock';

/** Counting semaphore: up to `permits` holders at once, one permit each, FIFO waiters. */
export class Semaphore extends OrderedLock {
  readonly kind = 'semaphore';
  readonly anyHolderBlocks: boolean;

  constructor(
    runtime: LockRuntime,
    family: string,
    order: LockOrder,
    readonly permits: number,
    timeoutMs: number,
    stats: LockStats,
  ) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError(`Semaphore "${family}" needs a positive integer permit count`);
    super(runtime, family, order, timeoutMs, stats);
    // With one permit any stuck holder blocks every waiter; with more, only all of them together do.
    this.anyHolderBlocks = permits === 1;
  }

  protected canTake(): boolean {
    return this.holders.size < this.permits;
  }

  get available(): number {
    return this.permits - this.holders.size;
  }
}
