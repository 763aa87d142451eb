/**
 * Metrics benchmarks (not a test: prints numbers, asserts nothing).
 *
 *   npm run bench -- metrics        (or: npx tsc -p tsconfig.build.json && node dist/bench/index.js metrics)
 *
 * 1. Cost of one `record` call (ns): unlabelled, with labels (the key is built per call), and
 *    through a bound series handle; next to a bare typed-array store as the floor.
 * 2. Recording throughput while the 1 s flush loop runs for real (drain, aggregation, rollups
 *    persisted to SQLite every second), with the synchronous part of each flush — the time it
 *    holds the event loop — and what was lost to overwrites.
 * 3. POST /api/v1/metrics/log over HTTP against the built engine (group commit into decision_log).
 */
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from '../src/common/scheduling';
import { runAsScript, startEngine, stopProcess } from './support';
import autocannon from 'autocannon';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMigrations, openStandaloneDatabase } from '../src/common/database/database.test-kit';
import { MIGRATIONS } from '../src/common/database/migrations';
import type { MetricSeriesHandle } from '../src/common/ports/metrics-sources.port';
import { MetricsCollector, type MetricsCollectorOptions } from '../src/modules/metrics';

const ROOT = path.resolve(__dirname, '..', '..');
const CALLS = 1_000_000;
const ROUNDS = 7;
const SERIES = 100;
const THROUGHPUT_SECONDS = 5;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

function options(over: Partial<MetricsCollectorOptions> = {}): MetricsCollectorOptions {
  return { ringCapacity: 65_536, flushIntervalMs: 0, windowSeconds: 60, rollupIntervalMs: 60_000, maxSeries: 2_000, ...over };
}

function tempDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-metrics-bench-'));
  const db = openStandaloneDatabase(path.join(dir, 'bench.db'));
  return { dir, db };
}

async function recordCost(): Promise<void> {
  const { dir, db } = tempDb();
  await applyMigrations(db.connection, MIGRATIONS);
  const c = new MetricsCollector(options(), db.service);
  const handles: MetricSeriesHandle[] = Array.from({ length: SERIES }, (_, i) => c.series('bench.handle', { k: i }));
  const labels = Array.from({ length: SERIES }, (_, i) => ({ k: i }));
  const floor = new Float64Array(65_536);
  const tiers = ['reflex', 'rule', 'ml', 'llm'];
  const cases: Array<{ name: string; run: (i: number) => void }> = [
    { name: 'floor: Float64Array store', run: (i) => (floor[i & 65_535] = i) },
    { name: "record('bench.plain', v)", run: (i) => c.record('bench.plain', i) },
    { name: "record(name, v, labels) — 1 label, 100 series", run: (i) => c.record('bench.labels', i, labels[i % SERIES]) },
    { name: 'record(name, v, {tier, strategy_id}) — literal per call', run: (i) => c.record('bench.two', i, { tier: tiers[i & 3], strategy_id: 'farm-A' }) },
    { name: 'series handle .record(v) — 100 series', run: (i) => handles[i % SERIES].record(i) },
  ];
  // Warm-up (JIT), then interleaved rounds so drift hits every case alike; the ring is drained
  // between rounds (draining is the flush loop's cost, measured below, not record's).
  for (const k of cases) for (let i = 0; i < CALLS / 10; i++) k.run(i);
  c.drain();
  const ns = cases.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    cases.forEach((k, j) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) k.run(i);
      ns[j].push(Number(process.hrtime.bigint() - start) / CALLS);
      c.drain();
    });
  }
  console.log(`\n### cost of one record call (${CALLS.toLocaleString()} calls x ${ROUNDS} rounds, median)`);
  console.table(cases.map((k, j) => ({ case: k.name, 'ns/call': fmt(median(ns[j])), 'calls/s (M)': fmt(1000 / median(ns[j]), 2) })));
  await c.beforeApplicationShutdown();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function throughputWithFlush(): Promise<void> {
  console.log(`\n### recording throughput with the flush loop running (${THROUGHPUT_SECONDS} s each, ${SERIES} series, flush 1 s, rollups persisted every 1 s)`);
  const rows = [];
  for (const mode of ['handle', 'labels'] as const) {
    for (const batch of [10_000, 100_000]) {
      const { dir, db } = tempDb();
      await applyMigrations(db.connection, MIGRATIONS);
      const scheduler = new SchedulerRegistry();
      const c = new MetricsCollector(options({ flushIntervalMs: 1_000, rollupIntervalMs: 1_000 }), db.service, new PeriodicJobs(scheduler));
      c.onModuleInit();
      const handles = Array.from({ length: SERIES }, (_, i) => c.series('bench.handle', { k: i }));
      const labels = Array.from({ length: SERIES }, (_, i) => ({ k: i }));
      const flushMs: number[] = [0];
      let seenFlushes = 0;
      let recorded = 0;
      const start = performance.now();
      const end = start + THROUGHPUT_SECONDS * 1000;
      while (performance.now() < end) {
        // One macrotask records `batch` values, then yields so the timers (the flush) can run.
        if (mode === 'handle') for (let i = 0; i < batch; i++) handles[i % SERIES].record(i & 1023);
        else for (let i = 0; i < batch; i++) c.record('bench.labels', i & 1023, labels[i % SERIES]);
        recorded += batch;
        await new Promise((r) => setImmediate(r));
        const s = c.stats();
        if (s.flushes_total !== seenFlushes) {
          seenFlushes = s.flushes_total;
          flushMs.push(s.last_flush_ms);
        }
      }
      const elapsed = (performance.now() - start) / 1000;
      await c.beforeApplicationShutdown();
      const s = c.stats();
      const persisted = db.connection.prepare(`SELECT COALESCE(SUM(sample_count), 0) AS n FROM metrics WHERE name LIKE 'bench.%'`).get() as { n: number };
      rows.push({
        path: mode === 'handle' ? 'handle.record' : 'record(name, v, labels)',
        'values per macrotask': batch.toLocaleString(),
        'values/s (M)': fmt(recorded / elapsed / 1e6, 2),
        flushes: s.flushes_total,
        'flush sync ms p50': fmt(median(flushMs), 2),
        'flush sync ms max': fmt(Math.max(...flushMs), 2),
        'lost to overwrites': `${fmt((s.overwrites_total / recorded) * 100, 1)} %`,
        'persisted == aggregated': persisted.n === recorded - s.overwrites_total ? 'yes' : `no (${persisted.n})`,
        'rollup rows': s.rollups_written_total,
      });
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.table(rows);
  console.log('A ring past half full is drained at the next turn of the event loop, so values are lost only when one');
  console.log('synchronous run records more than the ring holds (65,536): then the oldest are overwritten and counted');
  console.log('(openkore_metrics_ring_overwrites_total). "flush sync ms" is the time a flush holds the event loop.');
}

async function logOverHttp(): Promise<void> {
  const main = path.join(ROOT, 'dist', 'src', 'main.js');
  if (!fs.existsSync(main)) {
    console.log('\n(skipping POST /api/v1/metrics/log: run `npm run build` first)');
    return;
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-metrics-bench-http-'));
  const { proc, url } = await startEngine({ COMPAT_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', RATE_LIMIT_RPS: '0' });
  try {
    console.log('\n### POST /api/v1/metrics/log over HTTP (built engine, child process; each answer waits for its commit)');
    const rows = [];
    for (const connections of [1, 10, 50]) {
      let n = 0;
      const result = await autocannon({
        url: `${url}/api/v1/metrics/log`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        connections,
        duration: 4,
        setupClient: (client) =>
          client.setBody(
            JSON.stringify({ session_id: `bench-${n++}`, decision_tier: 'rule', action_type: 'ATTACK', success: true, outcome: 'ok', processing_time_ms: 1.5 }),
          ),
      });
      rows.push({
        connections,
        'req/s': Math.round(result.requests.average),
        'latency p50 ms': result.latency.p50,
        'latency p99 ms': result.latency.p99,
        'non-2xx': result.non2xx,
        errors: result.errors,
      });
    }
    console.table(rows);
  } finally {
    await stopProcess(proc);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runMetricsBench(): Promise<void> {
  await recordCost();
  await throughputWithFlush();
  await logOverHttp();
}

runAsScript(module, runMetricsBench);
