import { OrderedLock } from './ordered-lock';

/**
 * Read-write lock (`std::shared_mutex`): readers share, a writer is alone.
 * Fair, not reader-preferring: once anyone is queued, new readers queue too,
 * so a steady stream of readers cannot starve a writer, and writers are
 * served in arrival order. Consecutive queued readers are admitted together.
 */
export class RwLock extends OrderedLock {
  readonly kind = 'rw';
  readonly anyHolderBlocks = true;
  private writeHeld = false;

  protected canTake(write: boolean): boolean {
    return write ? this.holders.size === 0 : !this.writeHeld;
  }

  protected override onTake(write: boolean): void {
    if (write) this.writeHeld = true;
  }

  protected override onGive(write: boolean): void {
    if (write) this.writeHeld = false;
  }

  get readers(): number {
    return this.writeHeld ? 0 : this.holders.size;
  }

  get writeLocked(): boolean {
    return this.writeHeld;
  }
}
