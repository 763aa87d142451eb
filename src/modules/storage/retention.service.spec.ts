import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from '../../common/scheduling';
import type { StandaloneDatabase } from '../../common/database/database.test-kit';
import { type PruneContext, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { openMigratedDatabase } from '../../common/database/retention.test-kit';
import { StorageGuard } from '../../common/database/storage-guard';
import { loadConfig } from '../../config/app-config';
import { DecisionLogRetention } from '../decision';
import { PRUNE_JOB, RetentionService } from './retention.service';
import { VacuumService } from './vacuum.service';

const MB = 1024 * 1024;

describe('RetentionService', () => {
  let db: StandaloneDatabase;
  let scheduler: SchedulerRegistry;
  let registry: RetentionRegistry;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    db = await openMigratedDatabase();
    scheduler = new SchedulerRegistry();
    registry = new RetentionRegistry();
  });
  afterEach(() => {
    for (const name of scheduler.getIntervals()) scheduler.deleteInterval(name);
    db.close();
  });

  const make = (env: Record<string, string> = {}) => {
    const config = loadConfig({ RETENTION_BATCH_ROWS: '100', ...env });
    return new RetentionService(config, db.service, registry, new PeriodicJobs(scheduler), new VacuumService(config, db.service));
  };
  const policy = (table: RetentionPolicy['table'], prune: (ctx: PruneContext) => Promise<{ deleted: number; held?: string }>): RetentionPolicy => ({
    table,
    describe: () => table,
    prune,
  });

  it('registers the prune job as a named interval and removes it at shutdown', async () => {
    const service = make({ RETENTION_PRUNE_INTERVAL: '10m' });
    service.onApplicationBootstrap();
    expect(scheduler.getIntervals()).toEqual([PRUNE_JOB]);
    expect(service.status()).toMatchObject({ interval_ms: 600_000, batch_rows: 100, runs: 0, next_run_at: expect.any(String) });
    await service.beforeApplicationShutdown();
    expect(scheduler.getIntervals()).toEqual([]);
    // RETENTION_PRUNE_INTERVAL=0: no job (the admin route still prunes).
    make({ RETENTION_PRUNE_INTERVAL: '0' }).onApplicationBootstrap();
    expect(scheduler.getIntervals()).toEqual([]);
  });

  it('runs every policy, reports each table (a failing or held one does not stop the others) and keeps totals', async () => {
    registry.register(policy('decision_log', (ctx) => ctx.batch(() => 3).then((n) => ({ deleted: n }))));
    registry.register(policy('training_data', () => Promise.reject(new Error('boom'))));
    registry.register(policy('interaction_history', () => Promise.resolve({ deleted: 0, held: 'busy' })));
    registry.register({ table: 'memories', describe: () => 'governed elsewhere' });
    const service = make();
    const report = await service.run('admin');
    expect(report).toMatchObject({ trigger: 'admin', deleted: 3, stopped: false });
    expect(report.tables.map((t) => [t.table, t.deleted, t.error ?? null, t.held ?? null])).toEqual([
      ['decision_log', 3, null, null],
      ['training_data', 0, 'boom', null],
      ['interaction_history', 0, null, 'busy'],
    ]);
    expect(report.tables[0]).toMatchObject({ batches: 1, largest_batch: 3 });
    await service.run('schedule');
    expect(service.tableTotals('decision_log')).toMatchObject({ deleted_total: 6, last_deleted: 3, error: null });
    expect(service.tableTotals('training_data')).toMatchObject({ error: 'boom' });
    expect(service.status()).toMatchObject({ runs: 2, running: false, last_run: { trigger: 'schedule' } });
    expect(service.status().recent_runs).toHaveLength(2);
  });

  it('runs one at a time: a call during a run gets that run', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    registry.register(policy('decision_log', async () => (await gate, { deleted: 1 })));
    const service = make();
    const a = service.run('schedule');
    const b = service.run('admin');
    expect(b).toBe(a);
    release();
    expect((await a).trigger).toBe('schedule');
    expect(service.status().runs).toBe(1);
  });

  it('shutdown stops a run between two batches and waits for it', async () => {
    let batches = 0;
    let firstDone!: () => void;
    const first = new Promise<void>((r) => (firstDone = r));
    registry.register(
      policy('decision_log', async (ctx) => {
        for (;;) {
          await ctx.batch(() => 1);
          batches += 1;
          if (batches === 1) firstDone();
        }
      }),
    );
    const service = make();
    const run = service.run('schedule');
    await first;
    await service.beforeApplicationShutdown();
    const report = await run;
    expect(report.stopped).toBe(true);
    expect(batches).toBeLessThanOrEqual(2);
    await expect(service.run('admin')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  describe('incremental vacuum after a prune', () => {
    const fill = (rows: number, createdAt: number) => {
      const stmt = db.connection.prepare(
        `INSERT INTO decision_log (session_id, decision_tier, action_type, reason, processing_time_ms, created_at) VALUES ('s', 'rule', 'ATTACK', ?, 1, ?)`,
      );
      db.connection.transaction(() => {
        for (let i = 0; i < rows; i++) stmt.run('x'.repeat(200), createdAt);
      })();
    };
    const pragma = (name: string) => Number(db.connection.pragma(name, { simple: true }));

    it('rests RETENTION_BATCH_PAUSE_MS before every delete batch and every vacuum step', async () => {
      const env = { RETENTION_DECISION_LOG: '1h', RETENTION_BATCH_ROWS: '500', RETENTION_BATCH_PAUSE_MS: '17' };
      registry.register(new DecisionLogRetention(loadConfig(env), registry));
      const service = make(env);
      expect(service.status().batch_pause_ms).toBe(17);
      fill(2_000, Date.now() - 2 * 3_600_000);
      await service.run('schedule');
      const timer = jest.spyOn(global, 'setTimeout');
      try {
        // Fewer rows than the first run freed: that run's reserve goes back, step by step.
        fill(500, Date.now() - 2 * 3_600_000);
        const run = await service.run('schedule');
        const rests = timer.mock.calls.filter(([, ms]) => ms === 17).length;
        expect(run.tables[0]!.batches).toBe(1);
        expect(run.vacuum!.steps).toBeGreaterThan(1);
        expect(rests).toBe(run.tables[0]!.batches + run.vacuum!.steps);
      } finally {
        timer.mockRestore();
      }
    });

    it('keeps what the prune freed for the next period, returns the rest, and nothing at all is kept when the disk is low', async () => {
      expect(pragma('auto_vacuum')).toBe(2);
      const config = loadConfig({ RETENTION_DECISION_LOG: '1h', RETENTION_BATCH_ROWS: '500' });
      registry.register(new DecisionLogRetention(config, registry));
      const service = make({ RETENTION_DECISION_LOG: '1h', RETENTION_BATCH_ROWS: '500' });
      fill(5_000, Date.now() - 2 * 3_600_000);
      const pagesFull = pragma('page_count');
      const first = await service.run('schedule');
      expect(first.deleted).toBe(5_000);
      // Everything freed is the reserve: the file keeps its size for the rows to come.
      expect(first.vacuum).toMatchObject({ pages_returned: 0 });
      expect(first.vacuum!.reserve_pages).toBeGreaterThan(100);
      expect(pragma('page_count')).toBe(pagesFull);
      // A run that frees nothing keeps no reserve: the free pages go back, in short steps.
      const second = await service.run('schedule');
      expect(second.vacuum!.pages_returned).toBe(first.vacuum!.freelist_after);
      expect(second.vacuum!.steps).toBeGreaterThan(1);
      expect(pragma('freelist_count')).toBe(0);
      expect(pragma('page_count')).toBeLessThan(pagesFull / 4);

      // Low disk: no reserve at all.
      const guard = db.service.storage as StorageGuard;
      const low = new StorageGuard({ dir: '/x', lowBytes: 100 * MB, criticalBytes: MB, reader: () => Promise.resolve({ freeBytes: 50 * MB, totalBytes: 1e12 }) });
      await low.refresh();
      (db.service as { storage: StorageGuard }).storage = low;
      try {
        fill(5_000, Date.now() - 2 * 3_600_000);
        const third = await service.run('schedule');
        expect(third.vacuum).toMatchObject({ reserve_pages: 0, freelist_after: 0 });
      } finally {
        (db.service as { storage: StorageGuard }).storage = guard;
      }
    });
  });
});
