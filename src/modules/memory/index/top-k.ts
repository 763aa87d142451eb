/** One search result slot with its score. */
export interface Scored {
  slot: number;
  score: number;
}

/**
 * The k best (score, slot) pairs of a stream, in a fixed-size binary min-heap (typed arrays, no
 * per-push allocation). Equal scores rank the higher slot first: slots follow insertion order,
 * so among equals the newer memory wins, deterministically.
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly slots: Int32Array;
  private count = 0;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`TopK needs a positive integer k, got ${k}`);
    this.scores = new Float64Array(k);
    this.slots = new Int32Array(k);
  }

  get size(): number {
    return this.count;
  }

  /** The k-th best score so far (-Infinity until k were seen). */
  get threshold(): number {
    return this.count < this.k ? -Infinity : this.scores[0];
  }

  push(score: number, slot: number): void {
    if (this.count < this.k) {
      let i = this.count++;
      // Sift up: the root is the worst kept pair.
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(score, slot, this.scores[parent], this.slots[parent])) break;
        this.scores[i] = this.scores[parent];
        this.slots[i] = this.slots[parent];
        i = parent;
      }
      this.scores[i] = score;
      this.slots[i] = slot;
      return;
    }
    if (!worse(this.scores[0], this.slots[0], score, slot)) return;
    this.siftDown(score, slot, this.count);
  }

  /** The kept pairs, best first; empties the heap. */
  drain(): Scored[] {
    const out: Scored[] = new Array<Scored>(this.count);
    for (let n = this.count; n > 0; n--) {
      out[n - 1] = { slot: this.slots[0], score: this.scores[0] };
      // Move the last pair to the root and restore the heap over n - 1 entries.
      this.siftDown(this.scores[n - 1], this.slots[n - 1], n - 1);
    }
    this.count = 0;
    return out;
  }

  private siftDown(score: number, slot: number, n: number): void {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && worse(this.scores[right], this.slots[right], this.scores[left], this.slots[left]) ? right : left;
      if (!worse(this.scores[child], this.slots[child], score, slot)) break;
      this.scores[i] = this.scores[child];
      this.slots[i] = this.slots[child];
      i = child;
    }
    if (n > 0) {
      this.scores[i] = score;
      this.slots[i] = slot;
    }
  }
}

function worse(scoreA: number, slotA: number, scoreB: number, slotB: number): boolean {
  return scoreA < scoreB || (scoreA === scoreB && slotA < slotB);
}
