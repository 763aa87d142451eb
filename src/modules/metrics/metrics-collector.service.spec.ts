import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from '../../common/scheduling';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { MIGRATIONS } from '../../common/database/migrations';
import { MetricsCollector, type MetricsCollectorOptions, PROCESS_SERIES, ROWS_PER_TRANSACTION } from './metrics-collector.service';

interface Row {
  name: string;
  labels: string;
  strategy_id: string | null;
  sample_count: number;
  value_sum: number;
  value_min: number;
  value_max: number;
  p50: number;
  p95: number;
  p99: number;
  period_start: number;
  period_end: number;
}

describe('MetricsCollector', () => {
  beforeAll(() => Logger.overrideLogger(false));
  let dir: string;
  let db: StandaloneDatabase;
  let clock: number;
  const collectors: MetricsCollector[] = [];

  const make = (over: Partial<MetricsCollectorOptions> = {}, scheduler?: SchedulerRegistry) => {
    const c = new MetricsCollector(
      { ringCapacity: 4096, flushIntervalMs: 0, windowSeconds: 60, rollupIntervalMs: 60_000, maxSeries: 5000, now: () => clock, ...over },
      db.service,
      scheduler && new PeriodicJobs(scheduler),
    );
    collectors.push(c);
    return c;
  };
  const rows = (name?: string) =>
    db.connection.prepare(`SELECT * FROM metrics ${name ? 'WHERE name = ?' : ''} ORDER BY id`).all(...(name ? [name] : [])) as Row[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-metrics-'));
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    await applyMigrations(db.connection, MIGRATIONS);
    clock = 1_000_000;
  });

  afterEach(async () => {
    jest.useRealTimers();
    for (const c of collectors.splice(0)) await c.beforeApplicationShutdown();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('what was recorded is in the summary at once (readers drain the ring)', () => {
    const c = make();
    c.record('lat', 5, { tier: 'rule' });
    c.record('lat', 15, { tier: 'rule' });
    const h = c.series('lat', { tier: 'rule' });
    h.record(10);
    expect(c.stats().buffered).toBe(3);
    expect(c.summaryFor('lat', { tier: 'rule' })).toMatchObject({ count: 3, sum: 30, min: 5, max: 15, mean: 10, p50: 10, last_value: 10 });
    expect(c.stats().buffered).toBe(0);
  });

  it('refuses non-finite values and malformed names without throwing, and counts them', () => {
    const c = make();
    c.record('ok', NaN);
    c.record('ok', Infinity);
    c.record('not a name', 1);
    c.series('ok').record(-Infinity);
    expect(c.stats().rejected_total).toBe(4);
    expect(c.summaryFor('ok')).toMatchObject({ count: 0, lifetime: { count: 0 } });
    expect(() => c.series('not a name')).toThrow('Invalid metric name');
  });

  it('a full ring overwrites its oldest values and counts them; the summaries see the newest', () => {
    const c = make({ ringCapacity: 1024 });
    for (let i = 1; i <= 3000; i++) c.record('burst', i);
    const s = c.stats();
    expect(s.overwrites_total).toBe(3000 - 1024);
    expect(s.recorded_total).toBe(3000);
    const sum = c.summaryFor('burst')!;
    expect(sum.count).toBe(1024);
    expect(sum.min).toBe(3000 - 1024 + 1);
    expect(sum.max).toBe(3000);
  });

  it('a burst past half the ring is drained at the next turn of the event loop, before it can overwrite', async () => {
    const c = make({ ringCapacity: 1024 });
    const h = c.series('burst');
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 600; i++) h.record(i);
      expect(c.stats().buffered).toBe(600);
      await new Promise((r) => setImmediate(r));
      expect(c.stats().buffered).toBe(0);
    }
    expect(c.stats().overwrites_total).toBe(0);
    expect(c.summaryFor('burst')!.count).toBe(3000);
  });

  it('closes a rollup per active series and persists them in slices of ROWS_PER_TRANSACTION rows', async () => {
    const c = make({ maxSeries: 5000 });
    for (let i = 0; i < 1200; i++) c.record('per_series', i, { n: i });
    for (const v of [4, 8, 15, 16, 23, 42]) c.record('decision.success', v, { strategy_id: 'farm-1', tier: 'ml' });
    const commits = db.service.counters.commits;
    await c.flush({ closePeriod: true });
    // 1201 rows (+ the CPU sample when the test took over 100 ms), no more than a slice per transaction.
    expect(db.service.counters.commits - commits).toBe(Math.ceil(rows().length / ROWS_PER_TRANSACTION));
    expect(rows('per_series')).toHaveLength(1200);
    const [r] = rows('decision.success');
    expect(r).toMatchObject({ labels: '{"strategy_id":"farm-1","tier":"ml"}', strategy_id: 'farm-1', sample_count: 6, value_sum: 108, value_min: 4, value_max: 42, p50: 15, p95: 42, p99: 42 });
    expect(r.period_end).toBeGreaterThanOrEqual(r.period_start);
    const written = rows().length;
    expect(c.stats()).toMatchObject({ rollups_written_total: written, rollups_pending: 0 });
    // Nothing new: the next period writes no rollup of these series.
    await c.flush({ closePeriod: true });
    expect(rows().filter((x) => !x.name.startsWith('process.'))).toHaveLength(1201);
  });

  it('the 1 s loop runs on the scheduler, rolls up on its interval and stops at shutdown with a last rollup', async () => {
    jest.useFakeTimers();
    clock = Date.now();
    const scheduler = new SchedulerRegistry();
    const c = make({ flushIntervalMs: 1000, rollupIntervalMs: 3000, now: () => Date.now() }, scheduler);
    c.onModuleInit();
    expect(scheduler.getIntervals()).toEqual(['metrics.event-loop-sampler', 'metrics.flush']);
    c.record('m', 1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(c.stats().flushes_total).toBe(1);
    expect(c.stats().buffered).toBe(0);
    expect(rows('m')).toHaveLength(0); // the rollup period is not over yet
    c.record('m', 2);
    await jest.advanceTimersByTimeAsync(2000);
    expect(c.stats().flushes_total).toBe(3);
    expect(rows('m').map((r) => r.sample_count)).toEqual([2]);
    c.record('m', 3);
    await c.beforeApplicationShutdown();
    expect(scheduler.getIntervals()).toEqual([]);
    expect(rows('m').map((r) => r.sample_count)).toEqual([2, 1]);
    await jest.advanceTimersByTimeAsync(5000);
    expect(c.stats().flushes_total).toBe(4); // the final flush only
  });

  it('a flush during a running write waits for its own rows too (none left behind)', async () => {
    const c = make();
    c.record('first', 1);
    const p1 = c.flush({ closePeriod: true });
    c.record('second', 2);
    const p2 = c.flush({ closePeriod: true });
    await p2;
    expect(rows().map((r) => r.name).filter((n) => !n.startsWith('process.'))).toEqual(['first', 'second']);
    await p1;
    expect(c.stats().rollups_pending).toBe(0);
  });

  it('keeps rollups it could not write and writes them at the next flush', async () => {
    const c = make();
    c.record('kept', 7);
    db.connection.exec('ALTER TABLE metrics RENAME TO metrics_away');
    await c.flush({ closePeriod: true });
    expect(c.stats()).toMatchObject({ persist_failures_total: 1, rollups_pending: 1, rollups_written_total: 0 });
    db.connection.exec('ALTER TABLE metrics_away RENAME TO metrics');
    await c.flush();
    expect(c.stats()).toMatchObject({ rollups_pending: 0, rollups_written_total: 1 });
    expect(rows('kept')).toHaveLength(1);
  });

  it('writes rollups in transactions of bounded size, serving the loop between, and deletes nothing (retention is the prune job\'s)', async () => {
    const c = make();
    const old = Date.now() - 30 * 86_400_000;
    db.connection
      .prepare(`INSERT INTO metrics (name, labels, period_start, period_end, sample_count, value_sum, value_min, value_max, p50, p95, p99, created_at) VALUES ('old', '{}', ?, ?, 1, 1, 1, 1, 1, 1, 1, ?)`)
      .run(old, old, old);
    const series = ROWS_PER_TRANSACTION * 2 + 3;
    for (let i = 0; i < series; i++) c.record(`s${i}`, i);
    const perCommit: number[] = [];
    const write = db.service.write.bind(db.service);
    jest.spyOn(db.service, 'write').mockImplementation((body, options) =>
      write(async (tx) => {
        let changed = 0;
        const result = await body({ ...tx, run: async (sql: string, params?: unknown[]) => {
          const r = await tx.run(sql, params);
          changed += r.changes;
          return r;
        } });
        perCommit.push(changed);
        return result;
      }, options),
    );
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    try {
      await c.flush({ closePeriod: true });
    } finally {
      clearInterval(ticking);
    }
    expect(rows().filter((r) => r.name === 'old')).toHaveLength(1);
    expect(rows().filter((r) => /^s\d+$/.test(r.name))).toHaveLength(series);
    // The collector's own series (CPU, loop lag) get a row too when the flush came late enough to
    // sample them (a slow machine): nothing else may be written.
    const own = rows().filter((r) => r.name !== 'old' && !/^s\d+$/.test(r.name));
    const processSeries: string[] = Object.values(PROCESS_SERIES);
    expect(own.map((r) => r.name).filter((name) => !processSeries.includes(name))).toEqual([]);
    expect(new Set(own.map((r) => r.name)).size).toBe(own.length);
    expect(perCommit).toEqual([ROWS_PER_TRANSACTION, ROWS_PER_TRANSACTION, 3 + own.length]);
    expect(turns).toBeGreaterThan(0);
  });

  it('strategySummary and aggregate answer from the window, per strategy and label subset', () => {
    const c = make();
    for (let i = 1; i <= 10; i++) c.record('decision.processing_ms', i, { tier: 'rule', strategy_id: 'A' });
    for (let i = 1; i <= 4; i++) c.record('decision.processing_ms', 100 * i, { tier: 'ml', strategy_id: 'B' });
    c.record('decision.success', 1, { tier: 'rule', strategy_id: 'A' });
    const a = c.strategySummary('A');
    expect(a.window_seconds).toBe(60);
    expect(a.metrics['decision.processing_ms']).toMatchObject({ count: 10, p50: 5, p95: 10, max: 10 });
    expect(a.metrics['decision.success']).toMatchObject({ count: 1, mean: 1 });
    expect(c.aggregate('decision.processing_ms')).toMatchObject({ count: 14, max: 400 });
    // The window slides: a minute later the summaries are empty, the lifetime is not.
    clock += 61_000;
    expect(c.aggregate('decision.processing_ms')).toMatchObject({ count: 0, lifetime: { count: 14 } });
  });
});
