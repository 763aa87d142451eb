import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { heldLocks, LockManager, LockName, withLock } from '../concurrency';
import { yieldToLoop } from '../async/wait';
import { AppendWriter, LatestWriter } from './background-writer';

/** A sink that records each slice, can refuse, and can hold a slice until released. */
function sink<T>() {
  const slices: T[][] = [];
  const state = { fail: (_slice: readonly T[]) => false, events: [] as string[], gate: undefined as Promise<void> | undefined, locksSeen: [] as string[][] };
  const writeSlice = async (slice: readonly T[]): Promise<void> => {
    state.locksSeen.push(heldLocks());
    if (state.gate) await state.gate;
    if (state.fail(slice)) throw new Error('refused');
    slices.push([...slice]);
    state.events.push(`slice ${slices.length}`);
  };
  return { slices, state, writeSlice, rows: () => slices.flat() };
}

describe('AppendWriter', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('writes every row once, in push order, in slices of at most sliceRows, with a turn of the loop between slices', async () => {
    const s = sink<number>();
    const w = new AppendWriter<number>({ name: 't', sliceRows: 100, maxPending: 10_000, flushAt: 10_000, writeSlice: s.writeSlice });
    for (let i = 0; i < 250; i++) w.push(i);
    const flushing = w.flush();
    // Queued while the first slice is written: must run before the second one starts.
    setImmediate(() => s.state.events.push('loop turn'));
    expect(await flushing).toBe(true);
    expect(s.slices.map((x) => x.length)).toEqual([100, 100, 50]);
    expect(s.rows()).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(s.state.events.indexOf('loop turn')).toBeGreaterThan(s.state.events.indexOf('slice 1'));
    expect(s.state.events.indexOf('loop turn')).toBeLessThan(s.state.events.indexOf('slice 2'));
    expect(w.stats()).toMatchObject({ pending: 0, written: 250, slices: 3, largest_slice: 100, dropped: 0 });
    await w.close();
  });

  it('never writes inside push; past flushAt a flush starts on the next turn of the loop', async () => {
    const s = sink<number>();
    const w = new AppendWriter<number>({ name: 't', sliceRows: 10, maxPending: 1000, flushAt: 5, writeSlice: s.writeSlice });
    for (let i = 0; i < 7; i++) w.push(i);
    expect(s.slices).toHaveLength(0);
    await yieldToLoop();
    await yieldToLoop();
    expect(s.rows()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await w.close();
  });

  it('drops and counts rows past maxPending, never waits', async () => {
    const s = sink<number>();
    const w = new AppendWriter<number>({ name: 't', sliceRows: 10, maxPending: 3, flushAt: 100, writeSlice: s.writeSlice });
    expect([1, 2, 3, 4, 5].map((i) => w.push(i))).toEqual([true, true, true, false, false]);
    expect(w.stats()).toMatchObject({ pending: 3, dropped: 2 });
    await w.close();
    expect(s.rows()).toEqual([1, 2, 3]);
  });

  it('a failed slice keeps it and the rest, in front of newer rows, for the next flush (which writes them once)', async () => {
    const s = sink<number>();
    const w = new AppendWriter<number>({ name: 't', sliceRows: 4, maxPending: 1000, flushAt: 1000, writeSlice: s.writeSlice });
    for (let i = 0; i < 10; i++) w.push(i);
    s.state.fail = (slice) => slice.includes(5);
    expect(await w.flush()).toBe(false);
    expect(s.rows()).toEqual([0, 1, 2, 3]);
    w.push(10);
    expect(w.pending).toBe(7);
    s.state.fail = () => false;
    expect(await w.flush()).toBe(true);
    expect(s.rows()).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(w.stats()).toMatchObject({ failed_slices: 1, written: 11 });
    await w.close();
  });

  it('flush covers rows pushed while a run is in flight (a later run writes them before it resolves)', async () => {
    const s = sink<number>();
    const w = new AppendWriter<number>({ name: 't', sliceRows: 10, maxPending: 1000, flushAt: 1000, writeSlice: s.writeSlice });
    let release!: () => void;
    s.state.gate = new Promise<void>((r) => (release = r));
    w.push(1);
    const first = w.flush();
    await yieldToLoop();
    w.push(2);
    const second = w.flush();
    s.state.gate = undefined;
    release();
    await second;
    expect(s.rows()).toEqual([1, 2]);
    await first;
    await w.close();
  });

  it('close drains everything pending, slice by slice, and later pushes are refused', async () => {
    const s = sink<number>();
    const w = new AppendWriter<number>({ name: 't', sliceRows: 7, maxPending: 1000, flushAt: 1000, writeSlice: s.writeSlice });
    for (let i = 0; i < 100; i++) w.push(i);
    expect(await w.close()).toBe(true);
    expect(s.rows()).toHaveLength(100);
    expect(Math.max(...s.slices.map((x) => x.length))).toBe(7);
    expect(w.push(100)).toBe(false);
    expect(w.stats().dropped).toBe(1);
  });

  it('a deferred run takes nothing: the rows stay pending, in order, and are written once when it is no longer deferred; a closing writer always tries', async () => {
    const s = sink<number>();
    let defer = true;
    let asked = 0;
    const w = new AppendWriter<number>({ name: 't', sliceRows: 4, maxPending: 1000, flushAt: 3, writeSlice: s.writeSlice, defer: () => (asked++, defer) });
    for (let i = 0; i < 10; i++) w.push(i);
    // flushAt reached: the flush that starts on the next turn is deferred too.
    await yieldToLoop();
    await yieldToLoop();
    expect(await w.flush()).toBe(false);
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(s.slices).toHaveLength(0);
    expect(w.stats()).toMatchObject({ pending: 10, written: 0, slices: 0, failed_slices: 0, dropped: 0 });
    w.push(10);
    defer = false;
    expect(await w.flush()).toBe(true);
    expect(s.rows()).toEqual(Array.from({ length: 11 }, (_, i) => i));
    // Shutdown: still deferred, yet every row is written (the one try a final flush gets).
    defer = true;
    for (let i = 11; i < 20; i++) w.push(i);
    const askedBeforeClose = asked;
    expect(await w.close()).toBe(true);
    expect(asked).toBe(askedBeforeClose);
    expect(s.rows()).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a flush kicked from inside a held lock writes outside it (no inherited locks)', async () => {
    const s = sink<number>();
    const w = new AppendWriter<number>({ name: 't', sliceRows: 10, maxPending: 1000, flushAt: 1, writeSlice: s.writeSlice });
    const locks = new LockManager();
    await withLock(locks.resolve(LockName.SESSION), async () => {
      expect(heldLocks()).toEqual(['session[k]']);
      w.push(1);
      await w.flush();
    }, { key: 'k' });
    expect(s.state.locksSeen.every((l) => l.length === 0)).toBe(true);
    await w.close();
  });

  it('property: whatever the pushes, flushes and failures, each accepted row is written exactly once, in order, no slice over the bound', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.constant('push' as const), fc.constant('flush' as const), fc.constant('fail-next' as const)), { maxLength: 60 }),
        async (sliceRows, steps) => {
          const s = sink<number>();
          let failNext = false;
          s.state.fail = () => {
            const f = failNext;
            failNext = false;
            return f;
          };
          const w = new AppendWriter<number>({ name: 'p', sliceRows, maxPending: 1_000, flushAt: 1_000, writeSlice: s.writeSlice });
          let n = 0;
          const flushes: Array<Promise<boolean>> = [];
          for (const step of steps) {
            if (step === 'push') w.push(n++);
            else if (step === 'flush') flushes.push(w.flush());
            else failNext = true;
            await Promise.resolve();
          }
          await Promise.all(flushes);
          failNext = false;
          await w.close();
          expect(s.rows()).toEqual(Array.from({ length: n }, (_, i) => i));
          expect(s.slices.every((x) => x.length >= 1 && x.length <= sliceRows)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('LatestWriter', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('writes each key once with its latest value, in slices of at most sliceRows', async () => {
    const s = sink<[string, number]>();
    const w = new LatestWriter<string, number>({ name: 't', sliceRows: 2, writeSlice: s.writeSlice });
    w.set('a', 1);
    w.set('b', 1);
    w.set('a', 2);
    w.set('c', 1);
    w.delete('b');
    await w.flush();
    expect(s.slices).toEqual([[['a', 2], ['c', 1]]]);
    for (let i = 0; i < 5; i++) w.set(`k${i}`, i);
    await w.flush();
    expect(s.slices.slice(1).map((x) => x.length)).toEqual([2, 2, 1]);
    await w.close();
  });

  it('a failed slice gives its keys back, but a key set again meanwhile keeps its newer value', async () => {
    const s = sink<[string, number]>();
    const w = new LatestWriter<string, number>({ name: 't', sliceRows: 10, writeSlice: s.writeSlice });
    let release!: () => void;
    s.state.gate = new Promise<void>((r) => (release = r));
    s.state.fail = () => true;
    w.set('a', 1);
    w.set('b', 1);
    const failing = w.flush();
    await yieldToLoop();
    w.set('a', 2);
    release();
    expect(await failing).toBe(false);
    s.state.gate = undefined;
    s.state.fail = () => false;
    expect(await w.flush()).toBe(true);
    expect(Object.fromEntries(s.rows())).toEqual({ a: 2, b: 1 });
    await w.close();
  });

  it('deferred, it keeps each key\'s latest value for the run that is not', async () => {
    const s = sink<[string, number]>();
    let defer = true;
    const w = new LatestWriter<string, number>({ name: 't', sliceRows: 10, writeSlice: s.writeSlice, defer: () => defer });
    w.set('a', 1);
    expect(await w.flush()).toBe(false);
    w.set('a', 2);
    w.set('b', 1);
    defer = false;
    expect(await w.flush()).toBe(true);
    expect(s.slices).toEqual([[['a', 2], ['b', 1]]]);
    await w.close();
  });
});
