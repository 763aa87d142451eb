import { OrderedLock } from './ordered-lock';

/** Exclusive FIFO mutex (`std::timed_mutex` with a fair queue). */
export class Mutex extends OrderedLock {
  readonly kind = 'mutex';
  readonly anyHolderBlocks = true;

  protected canTake(): boolean {
    return this.holders.size === 0;
  }

  get locked(): boolean {
    return this.holders.size > 0;
  }
}
