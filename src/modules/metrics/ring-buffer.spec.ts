import fc from 'fast-check';
import { MetricRingBuffer } from './ring-buffer';

function drainAll(ring: MetricRingBuffer): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  ring.drain((id, value, time) => out.push([id, value, time]));
  return out;
}

describe('MetricRingBuffer', () => {
  it('rounds the capacity up to a power of two and refuses nonsense', () => {
    expect(new MetricRingBuffer(1000).capacity).toBe(1024);
    expect(new MetricRingBuffer(1024).capacity).toBe(1024);
    expect(new MetricRingBuffer(1).capacity).toBe(1);
    expect(() => new MetricRingBuffer(0)).toThrow(RangeError);
    expect(() => new MetricRingBuffer(1.5)).toThrow(RangeError);
  });

  it('drains what was pushed, oldest first, exactly once', () => {
    const ring = new MetricRingBuffer(8);
    ring.push(1, 10, 100);
    ring.push(2, 20, 200);
    expect(ring.size).toBe(2);
    expect(drainAll(ring)).toEqual([
      [1, 10, 100],
      [2, 20, 200],
    ]);
    expect(ring.size).toBe(0);
    expect(drainAll(ring)).toEqual([]);
    expect(ring.total).toBe(2);
    expect(ring.overwrites).toBe(0);
  });

  it('when full, overwrites the oldest unread entries and counts every overwrite', () => {
    const ring = new MetricRingBuffer(4);
    for (let i = 0; i < 10; i++) ring.push(i, i * 1.5, i);
    expect(ring.size).toBe(4);
    expect(ring.overwrites).toBe(6);
    expect(ring.total).toBe(10);
    expect(drainAll(ring).map(([id]) => id)).toEqual([6, 7, 8, 9]);
  });

  it('keeps order across the wrap-around after partial drains', () => {
    const ring = new MetricRingBuffer(4);
    ring.push(1, 1, 1);
    ring.push(2, 2, 2);
    ring.push(3, 3, 3);
    expect(drainAll(ring).map(([id]) => id)).toEqual([1, 2, 3]);
    ring.push(4, 4, 4);
    ring.push(5, 5, 5); // wraps to slot 0
    ring.push(6, 6, 6);
    expect(drainAll(ring).map(([id]) => id)).toEqual([4, 5, 6]);
    expect(ring.overwrites).toBe(0);
  });

  it('property: after any pushes and drains, each drain yields the last min(n, capacity) pushes since the previous one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.oneof(fc.constant<'drain'>('drain'), fc.integer({ min: 0, max: 1000 })), { maxLength: 200 }),
        (requested, ops) => {
          const ring = new MetricRingBuffer(requested);
          const cap = ring.capacity;
          let pending: number[] = [];
          let expectedOverwrites = 0;
          let pushes = 0;
          const check = () => {
            const got = drainAll(ring).map(([, v]) => v);
            expect(got).toEqual(pending.slice(-cap));
            expectedOverwrites += Math.max(0, pending.length - cap);
            pending = [];
          };
          for (const op of ops) {
            if (op === 'drain') check();
            else {
              ring.push(op, op, pushes);
              pending.push(op);
              pushes++;
            }
          }
          check();
          expect(ring.overwrites).toBe(expectedOverwrites);
          expect(ring.total).toBe(pushes);
        },
      ),
      { numRuns: 300 },
    );
  });
});
