import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StorageFullError } from '../errors/storage.errors';
import { until } from '../testing/wait.test-kit';
import { openStandaloneDatabase } from './database.test-kit';
import { type FreeSpace, StorageGuard, type StorageGuardOptions } from './storage-guard';

const MB = 1024 * 1024;

function guardWith(over: Partial<StorageGuardOptions> = {}) {
  let clock = 1_000_000;
  let free: FreeSpace = { freeBytes: 10_000 * MB, totalBytes: 20_000 * MB };
  const guard = new StorageGuard({
    dir: '/data',
    lowBytes: 1_000 * MB,
    criticalBytes: 100 * MB,
    reader: () => Promise.resolve(free),
    now: () => clock,
    ...over,
  });
  return {
    guard,
    setFree: async (bytes: number) => {
      free = { freeBytes: bytes, totalBytes: 20_000 * MB };
      await guard.refresh();
    },
    advance: (ms: number) => (clock += ms),
    /** The disk changes without a reading (between two of the periodic ones). */
    change: (bytes: number) => (free = { freeBytes: bytes, totalBytes: 20_000 * MB }),
  };
}

const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

describe('StorageGuard', () => {
  beforeAll(() => Logger.overrideLogger(false));
  it('reads the level from the free space: unknown, ok, low (degraded), critical (shedding)', async () => {
    const { guard, setFree } = guardWith();
    expect(guard.level).toBe('unknown');
    expect(guard.health().status).toBe('healthy');
    await setFree(5_000 * MB);
    expect(guard.level).toBe('ok');
    expect(guard.status()).toMatchObject({ free_bytes: 5_000 * MB, level: 'ok', shedding: false });
    await setFree(500 * MB);
    expect(guard.level).toBe('low');
    expect(guard.health()).toMatchObject({ status: 'degraded', detail: expect.stringContaining('STORAGE_LOW_DISK_MB') });
    expect(guard.shed('decision_log')).toBe(false);
    await setFree(50 * MB);
    expect(guard.level).toBe('critical');
    expect(guard.health()).toMatchObject({ status: 'degraded', detail: expect.stringContaining('dropping') });
    expect(guard.shed('decision_log')).toBe(true);
    expect(guard.shed('training_data')).toBe(true);
    expect(guard.shed('training_data')).toBe(true);
    expect(guard.status().shed).toEqual({ decision_log: 1, training_data: 2 });
    await setFree(5_000 * MB);
    expect(guard.shed('decision_log')).toBe(false);
    // Counts are totals since start.
    expect(guard.status().shed).toEqual({ decision_log: 1, training_data: 2 });
  });

  it('without a folder never reads free space and never sheds for it', async () => {
    const reader = jest.fn();
    const guard = new StorageGuard({ lowBytes: MB, criticalBytes: MB, reader });
    await guard.refresh();
    expect(reader).not.toHaveBeenCalled();
    expect(guard.level).toBe('unknown');
    expect(guard.shed('decision_log')).toBe(false);
  });

  it('after a write failed for lack of space: unhealthy, sheds, and background flushes back off exponentially with one probe per pause', async () => {
    const { guard, advance } = guardWith({ backoffBaseMs: 1_000, backoffMaxMs: 4_000 });
    guard.noteOutOfSpace(full());
    expect(guard.writesFailing).toBe(true);
    expect(guard.health().status).toBe('unhealthy');
    expect(guard.shed('decision_log')).toBe(true);
    expect(guard.retryAfterSeconds).toBe(1);
    // Inside the pause every flush is deferred; failures inside it do not extend it.
    expect(guard.deferBackground()).toBe(true);
    guard.noteOutOfSpace(full());
    advance(999);
    expect(guard.deferBackground()).toBe(true);
    advance(1);
    // Past the pause: the probe may write.
    expect(guard.deferBackground()).toBe(false);
    guard.noteOutOfSpace(full());
    expect(guard.status().background_backoff_ms).toBe(2_000);
    expect(guard.deferBackground()).toBe(true);
    advance(2_000);
    guard.noteOutOfSpace(full());
    advance(4_000);
    guard.noteOutOfSpace(full());
    // Capped.
    expect(guard.status().background_backoff_ms).toBe(4_000);
    expect(guard.retryAfterSeconds).toBe(4);
    expect(guard.status()).toMatchObject({ out_of_space_errors: 5, deferred_flushes: 3, writes_failing: true });
    // A commit that took no page (a row rewritten in place, a prune) proves no room: still failing.
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(true);
    // One commit that took pages ends it all.
    guard.noteWriteOk(true);
    expect(guard.writesFailing).toBe(false);
    expect(guard.deferBackground()).toBe(false);
    expect(guard.shed('decision_log')).toBe(false);
    expect(guard.health().status).toBe('healthy');
  });

  it('at shutdown every flush gets its try: nothing is deferred once modules are being destroyed', () => {
    const { guard } = guardWith({ backoffBaseMs: 60_000 });
    guard.noteOutOfSpace(full());
    expect(guard.deferBackground()).toBe(true);
    guard.onModuleDestroy();
    expect(guard.deferBackground()).toBe(false);
  });

  it('space freed on the disk ends the pause at once', async () => {
    const { guard, setFree } = guardWith({ backoffBaseMs: 60_000, freedMarginBytes: 4 * MB });
    await setFree(0);
    guard.noteOutOfSpace(full());
    expect(guard.deferBackground()).toBe(true);
    // A little moved about is not freed space.
    await setFree(MB);
    expect(guard.deferBackground()).toBe(true);
    await setFree(64 * MB);
    expect(guard.deferBackground()).toBe(false);
    // Still failing until a write succeeds: then any commit ends it, one that took no page too.
    expect(guard.writesFailing).toBe(true);
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(false);
  });

  it('space freed and then used up again by a failing write is no longer room found', async () => {
    const { guard, setFree } = guardWith({ freedMarginBytes: 4 * MB });
    await setFree(0);
    guard.noteOutOfSpace(full());
    await setFree(64 * MB);
    guard.noteOutOfSpace(full());
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(true);
    guard.noteWriteOk(true);
    expect(guard.writesFailing).toBe(false);
  });

  it('a disk that filled up between two readings: space freed is measured from the least free space seen while failing', async () => {
    const { guard, setFree } = guardWith({ backoffBaseMs: 60_000, freedMarginBytes: 4 * MB });
    // Read just before the disk filled up; the failure comes before the next reading.
    await setFree(23 * MB);
    guard.noteOutOfSpace(full());
    await setFree(0);
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(true);
    // Freed again: back to about what the stale reading said, far above the full disk.
    await setFree(23 * MB + MB / 2);
    expect(guard.deferBackground()).toBe(false);
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(false);
  });

  it('a failure reads the full disk at once: filled and freed within one check interval is still seen', async () => {
    const { guard, setFree, change } = guardWith({ backoffBaseMs: 60_000, freedMarginBytes: 4 * MB });
    await setFree(23 * MB);
    change(0);
    guard.noteOutOfSpace(full());
    // Freed before the next periodic reading; its reading comes after the one the failure asked for.
    change(23 * MB + MB / 2);
    await guard.refresh();
    expect(guard.deferBackground()).toBe(false);
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(false);
  });

  it('asked while a reading is under way, reads once more after it', async () => {
    let reads = 0;
    let free = 10 * MB;
    let release: () => void = () => undefined;
    const guard = new StorageGuard({
      dir: '/data',
      lowBytes: 0,
      criticalBytes: 0,
      reader: async () => {
        reads += 1;
        const value = free;
        await new Promise<void>((r) => (release = r));
        return { freeBytes: value, totalBytes: 100 * MB };
      },
    });
    const first = guard.refresh();
    free = 20 * MB;
    const second = guard.refresh();
    const third = guard.refresh();
    expect(third).toBe(second);
    release();
    await first;
    expect(guard.freeBytes).toBe(10 * MB);
    await until(() => reads === 2, 'the second read');
    release();
    await second;
    expect(guard.freeBytes).toBe(20 * MB);
    expect(reads).toBe(2);
  });

  it('a first reading of free space after the failure is only the mark space must rise over', async () => {
    const { guard, setFree } = guardWith({ freedMarginBytes: 4 * MB });
    guard.noteOutOfSpace(full());
    await setFree(MB);
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(true);
    await setFree(64 * MB);
    guard.noteWriteOk(false);
    expect(guard.writesFailing).toBe(false);
  });
});

describe('DatabaseService on a full database', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-full-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a write that runs out of space rolls back whole, throws STORAGE_FULL and marks writes failing; a later commit clears it', async () => {
    const db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    try {
      const { service, connection } = db;
      connection.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const pages = Number(connection.pragma('page_count', { simple: true }));
      // SQLite answers SQLITE_FULL once the file would pass this many pages: a full disk, deterministically.
      connection.pragma(`max_page_count = ${pages + 4}`);
      const err = await service
        .write(async (tx) => {
          await tx.run('INSERT INTO t (v) VALUES (?)', ['kept?']);
          for (let i = 0; i < 200; i++) await tx.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(1000)]);
        }, { label: 'test.fill' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageFullError);
      expect(err).toMatchObject({ code: 'STORAGE_FULL', status: 503, details: { label: 'test.fill', reason: 'SQLITE_FULL' } });
      expect(connection.inTransaction).toBe(false);
      expect(connection.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
      expect(service.storage.writesFailing).toBe(true);
      expect(service.counters.rollbacks).toBe(1);

      // Commits that take no page prove no room, so the failing state stays: a heartbeat-like
      // write rewriting a row in place, an upsert of a row that is there, a prune, a small row
      // that fits in a page the table has.
      connection.exec("CREATE TABLE beat (id INTEGER PRIMARY KEY, at INTEGER NOT NULL); INSERT INTO beat VALUES (1, 0)");
      await service.write((tx) => tx.run('UPDATE beat SET at = at + 1 WHERE id = 1'), { label: 'test.heartbeat' });
      await service.write((tx) => tx.run('INSERT INTO beat (id, at) VALUES (1, 5) ON CONFLICT (id) DO UPDATE SET at = excluded.at'), { label: 'test.upsert' });
      await service.write((tx) => tx.run('DELETE FROM beat WHERE id = 2'), { label: 'test.prune' });
      await service.write((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['small']));
      expect(service.storage.writesFailing).toBe(true);
      expect(service.counters.commits).toBe(4);

      // One that takes pages found room.
      await service.write((tx) => tx.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(5_000)]));
      expect(service.storage.writesFailing).toBe(false);
      expect(connection.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 2 });
    } finally {
      db.close();
    }
  });
});
