/**
 * The recording side of the metrics collector (docs/architecture.md §8.2): a fixed-capacity ring of
 * (series id, value, timestamp) in preallocated typed arrays.
 *
 * The spec's C++ ring is lock-free because many threads record at once. Here every `push` runs
 * to completion on the event loop, so no other code can observe a half-written slot: recording
 * needs no lock at all, never waits, is O(1) and allocates nothing. When the ring is full the
 * oldest unread entry is overwritten and counted — recording never blocks the request path
 * and never grows memory; the flush loop drains the ring often enough that overwrites only
 * happen in bursts beyond `capacity` records per flush interval.
 */
export class MetricRingBuffer {
  readonly capacity: number;
  private readonly mask: number;
  private readonly ids: Int32Array;
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  /** Next slot to write (always wrapped, so index arithmetic stays in 31-bit integers). */
  private head = 0;
  /** Entries waiting to be drained: the `waiting` slots before `head`. */
  private waiting = 0;
  private pushed = 0;
  /** Entries overwritten before the flush loop read them (lost to the aggregates). */
  overwrites = 0;

  /** `capacity` is rounded up to a power of two, so wrapping an index is one mask. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 30) {
      throw new RangeError(`ring capacity must be an integer in [1, 2^30], got ${capacity}`);
    }
    this.capacity = 2 ** Math.ceil(Math.log2(capacity));
    this.mask = this.capacity - 1;
    this.ids = new Int32Array(this.capacity);
    this.values = new Float64Array(this.capacity);
    this.times = new Float64Array(this.capacity);
  }

  push(id: number, value: number, time: number): void {
    const slot = this.head;
    this.ids[slot] = id;
    this.values[slot] = value;
    this.times[slot] = time;
    this.head = (slot + 1) & this.mask;
    // Full: the slot just written held the oldest unread entry.
    if (this.waiting === this.capacity) this.overwrites++;
    else this.waiting++;
    this.pushed++;
  }

  /** Entries waiting to be drained. */
  get size(): number {
    return this.waiting;
  }

  /** Every entry ever pushed (drained, waiting or overwritten). */
  get total(): number {
    return this.pushed;
  }

  /**
   * Hands every waiting entry to `sink`, oldest first, and empties the ring. Synchronous: no
   * push can interleave, so nothing is read twice or skipped. Returns the number drained.
   */
  drain(sink: (id: number, value: number, time: number) => void): number {
    const n = this.waiting;
    let slot = (this.head - n + this.capacity) & this.mask;
    for (let i = 0; i < n; i++) {
      sink(this.ids[slot], this.values[slot], this.times[slot]);
      slot = (slot + 1) & this.mask;
    }
    this.waiting = 0;
    return n;
  }
}
