import fc from 'fast-check';
import { until } from '../testing/wait.test-kit';
import { DelayHistogram, EventLoopDelayMonitor } from './event-loop-delay';

describe('DelayHistogram', () => {
  it('keeps the exact count, sum and max; percentiles by nearest rank within the bucket error, never above the max', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 20_000, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (values, p) => {
        const h = new DelayHistogram();
        for (const v of values) h.record(v);
        const sorted = [...values].sort((a, b) => a - b);
        const exact = sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
        const got = h.percentile(p)!;
        expect(h.count).toBe(values.length);
        expect(h.max).toBe(sorted[sorted.length - 1]);
        expect(got).toBeLessThanOrEqual(h.max);
        // The bucket's upper bound: at most 2^(1/8) above the exact value (or the 0.01 ms floor).
        expect(got).toBeGreaterThanOrEqual(Math.min(exact, h.max) - 1e-9);
        expect(got).toBeLessThanOrEqual(Math.max(exact * 2 ** (1 / 8), 0.01) + 1e-9);
      }),
    );
  });

  it('is empty as null, and merges', () => {
    const a = new DelayHistogram();
    expect(a.percentile(99)).toBeNull();
    const b = new DelayHistogram();
    a.record(1);
    b.record(50);
    a.add(b);
    expect(a.count).toBe(2);
    expect(a.max).toBe(50);
    expect(a.sum).toBe(51);
  });
});

describe('EventLoopDelayMonitor', () => {
  let clock: number;
  const make = (windowSeconds = 10) => new EventLoopDelayMonitor({ resolutionMs: 2, windowSeconds, now: () => clock });
  beforeEach(() => (clock = 1_000_000_000_000));

  it('restart forgets the samples so far, and the next one measures from the restart, not from before it', async () => {
    const m = new EventLoopDelayMonitor({ resolutionMs: 2, windowSeconds: 10 });
    m.start();
    try {
      await until(() => m.total.count > 0, 'a first sample');
      // The loop is blocked (a boot step), then the engine restarts the monitor as it listens.
      const blockedUntil = performance.now() + 300;
      while (performance.now() < blockedUntil);
      m.restart();
      expect(m.stats()).toMatchObject({ samples: 0, max_ms: null });
      expect(m.total.count).toBe(0);
      await until(() => m.total.count > 0, 'a sample after the restart');
      // Without the restart this first sample would carry the 300 ms block.
      expect(m.total.max).toBeLessThan(300);
    } finally {
      m.stop();
    }
  });

  it('reports the window: a sample older than the window leaves it, one in it stays', () => {
    const m = make(10);
    m.record(40);
    clock += 5_000;
    m.record(3);
    expect(m.stats()).toMatchObject({ samples: 2, max_ms: 40 });
    clock += 6_000;
    m.record(1);
    // The 40 ms sample is 11 s old: out of a 10 s window.
    expect(m.stats()).toMatchObject({ samples: 2, max_ms: 3 });
  });

  it('`since` narrows to the seconds from then (a slot counts when any of it is in range)', () => {
    const m = make(60);
    m.record(25);
    clock += 3_000;
    const since = clock;
    m.record(4);
    clock += 1_000;
    m.record(6);
    expect(m.stats(since)).toMatchObject({ samples: 2, max_ms: 6, since });
    expect(m.stats()).toMatchObject({ samples: 3, max_ms: 25 });
  });

  it('a slot reused after the ring wrapped starts empty', () => {
    const m = make(5);
    m.record(100);
    for (let i = 0; i < 20; i++) {
      clock += 1_000;
      m.record(1);
    }
    expect(m.stats().max_ms).toBe(1);
    expect(m.total.count).toBe(21);
    expect(m.total.max).toBe(100);
  });

  it('takeInterval gives what came since the previous call', () => {
    const m = make();
    m.record(2);
    m.record(8);
    expect(m.takeInterval()).toMatchObject({ samples: 2, max_ms: 8 });
    expect(m.takeInterval()).toMatchObject({ samples: 0, max_ms: null, p99_ms: null });
  });

  it('the sampler sees a block of the loop as a delay at least its length minus the resolution', async () => {
    const m = new EventLoopDelayMonitor({ resolutionMs: 2, windowSeconds: 60 });
    const seen: number[] = [];
    m.onSample((ms) => seen.push(ms));
    m.start();
    try {
      await until(() => seen.length > 0, 'the sampler running');
      const blockedUntil = performance.now() + 30;
      while (performance.now() < blockedUntil) {
        // a synchronous block of 30 ms
      }
      const before = seen.length;
      await until(() => seen.length > before, 'a sample after the block');
    } finally {
      m.stop();
    }
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(28 - 2);
    expect(m.stats().max_ms).toBe(Math.round(Math.max(...seen) * 1000) / 1000);
  });
});
