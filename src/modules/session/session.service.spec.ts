import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { yieldToLoop } from '../../common/async/wait';
import type { DatabaseService, WriteTx } from '../../common/database/database.service';
import { LockManager } from '../../common/concurrency';
import { applyMigrations, limitPages, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { MIGRATIONS } from '../../common/database/migrations';
import { StorageGuard } from '../../common/database/storage-guard';
import type { AppConfig } from '../../config/app-config';
import { SESSION_SLICE_ROWS, SessionService } from './session.service';

const noRows = { isInitialized: true, getRepository: () => ({ find: () => Promise.resolve([]) }) } as unknown as DataSource;

describe('SessionService shutdown', () => {
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('waits for a running sweep (its writes, expiry included) before letting the database close, and writes activity made meanwhile', async () => {
    const events: string[] = [];
    const written: unknown[][] = [];
    const tx = { run: async (_sql: string, params: unknown[] = []) => (written.push(params), { changes: 1, lastInsertRowid: 0 }) } as unknown as WriteTx;
    let gate: Promise<void> | undefined;
    let release!: () => void;
    const db = {
      write: async <R>(body: (t: WriteTx) => R | Promise<R>, options?: { label?: string }) => {
        // The sweep's write is slow (behind another process's transaction, say).
        if (gate) await gate;
        const result = await body(tx);
        events.push(`write ${options?.label ?? ''}`);
        return result;
      },
      storage: new StorageGuard(),
    } as unknown as DatabaseService;
    // TTL 10 s: sweeps every 2.5 s.
    const svc = new SessionService({ sessionTtlMs: 10_000 } as AppConfig, noRows, db);
    await svc.onModuleInit();
    const { session_id: idle } = await svc.handshake({ client: 'test', client_version: '1' }); // goes idle and expires
    const { session_id: busy } = await svc.handshake({ client: 'test', client_version: '1' });
    await jest.advanceTimersByTimeAsync(9_000);
    svc.touch(busy);
    await jest.advanceTimersByTimeAsync(1_500); // the sweep at 10 s writes that activity
    gate = new Promise<void>((r) => (release = r));
    events.length = 0;
    written.length = 0;
    await jest.advanceTimersByTimeAsync(2_000); // the sweep at 12.5 s expires the idle one and blocks on its write

    const shutdown = svc.beforeApplicationShutdown().then(() => events.push('shut down'));
    await yieldToLoop();
    expect(events).toEqual([]);
    svc.touch(busy); // activity while the sweep is in flight
    gate = undefined;
    release();
    await shutdown;
    expect(events.at(-1)).toBe('shut down');
    expect(events.filter((e) => e === 'write session.persist').length).toBeGreaterThanOrEqual(1);
    // The expiry reached the database, and so did the busy session's second touch (count 2), before it could close.
    const lastOf = (id: string) => written.filter((p) => p[0] === id).at(-1)!;
    expect(lastOf(idle)[6]).toBe('expired');
    expect(lastOf(busy)[7]).toBe(2);
  });
});

describe('SessionService persistence', () => {
  let dir: string;
  let db: StandaloneDatabase;
  let svc: SessionService;
  const row = (id: string) => db.connection.prepare('SELECT * FROM player_sessions WHERE session_id = ?').get(id) as Record<string, unknown> | undefined;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-session-'));
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    await applyMigrations(db.connection, MIGRATIONS);
    svc = new SessionService({ sessionTtlMs: 60_000 } as AppConfig, noRows, db.service);
  });
  afterEach(async () => {
    await svc.beforeApplicationShutdown();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a character seen for the first time gets its session at once, with no transaction; two first requests share it; the row follows in the background', async () => {
    const write = jest.spyOn(db.service, 'write');
    const a = svc.touchCharacterNow('Newbie');
    const b = await svc.touchCharacter('Newbie');
    expect(b).toBe(a);
    expect(write).not.toHaveBeenCalled();
    expect(svc.get(a)).toMatchObject({ character_name: 'Newbie', status: 'active', request_count: 2 });
    expect(row(a)).toBeUndefined();
    await svc.flush();
    expect(row(a)).toMatchObject({ character_name: 'Newbie', status: 'active', request_count: 2, client: 'openkore-godtier' });
  });

  it('creation, activity and expiry are written in transactions of at most SESSION_SLICE_ROWS rows; shutdown leaves none behind', async () => {
    const perCommit: number[] = [];
    const write = db.service.write.bind(db.service);
    jest.spyOn(db.service, 'write').mockImplementation((body, options) =>
      write(async (tx) => {
        let rows = 0;
        const result = await body({ ...tx, run: (sql: string, params?: unknown[]) => ((rows += 1), tx.run(sql, params)) });
        perCommit.push(rows);
        return result;
      }, options),
    );
    const n = SESSION_SLICE_ROWS * 2 + 3;
    const ids = Array.from({ length: n }, (_, i) => svc.touchCharacterNow(`Bot${i}`));
    await svc.flush();
    for (const id of ids.slice(0, 10)) svc.touch(id);
    await svc.sweep(Date.now() + 61_000); // all idle past the TTL
    await svc.beforeApplicationShutdown();
    const rows = db.connection.prepare('SELECT session_id, status, request_count, expired_at FROM player_sessions').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(n);
    expect(rows.every((r) => r.status === 'expired' && typeof r.expired_at === 'number')).toBe(true);
    expect(rows.filter((r) => r.request_count === 2)).toHaveLength(10);
    expect(Math.max(...perCommit)).toBe(SESSION_SLICE_ROWS);
    expect(svc.writerStats()).toMatchObject({ pending: 0, largest_slice: SESSION_SLICE_ROWS });
  });

  it('a handshake joining a character\'s session made on first sight, not written yet, commits its row before it answers; the writer keeps its client details', async () => {
    const id = svc.touchCharacterNow('Joiner');
    expect(row(id)).toBeUndefined();
    const hs = await svc.handshake({ client: 'openkore', client_version: '4', pid: 7, character_name: 'Joiner' });
    expect(hs.session_id).toBe(id);
    expect(row(id)).toMatchObject({ client: 'openkore', client_version: '4', pid: 7, character_name: 'Joiner', status: 'active' });
    await svc.flush();
    expect(row(id)).toMatchObject({ client: 'openkore', client_version: '4', pid: 7, request_count: 2 });
  });

  it('ensureRow lets a transaction count into a session not written yet, and the writer never overwrites what other modules count', async () => {
    const id = svc.touchCharacterNow('Chatty');
    await db.service.write(async (tx) => {
      await svc.ensureRow(tx, id);
      await tx.run('UPDATE player_sessions SET social_interactions = social_interactions + 1 WHERE session_id = ?', [id]);
    });
    expect(row(id)).toMatchObject({ social_interactions: 1, request_count: 1 });
    svc.touch(id);
    await svc.flush();
    expect(row(id)).toMatchObject({ social_interactions: 1, request_count: 2 });
    // A second ensureRow changes nothing.
    await db.service.write((tx) => svc.ensureRow(tx, id));
    expect(row(id)).toMatchObject({ social_interactions: 1, request_count: 2 });
  });
});

describe('SessionService when writes fail for lack of space', () => {
  let dir: string;
  let db: StandaloneDatabase;
  let guard: StorageGuard;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-session-full-'));
    guard = new StorageGuard({ lowBytes: 0, criticalBytes: 0, now: () => 1_700_000_000_000 });
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'), new LockManager(), guard);
    await applyMigrations(db.connection, MIGRATIONS);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('new characters still get their sessions at once; their rows wait in memory while flushes back off, and shutdown writes them', async () => {
    const svc = new SessionService({ sessionTtlMs: 60_000 } as AppConfig, noRows, db.service);
    limitPages(db.connection);
    const n = SESSION_SLICE_ROWS + 20;
    const ids = Array.from({ length: n }, (_, i) => svc.touchCharacterNow(`Full${i}`));
    await svc.flush();
    expect(guard.writesFailing).toBe(true);
    expect(svc.writerStats()).toMatchObject({ pending: n, failed_slices: 1 });
    const write = jest.spyOn(db.service, 'write');
    svc.touch(ids[0]);
    await svc.flush();
    expect(write).not.toHaveBeenCalled();
    expect(guard.status().deferred_flushes).toBe(1);
    limitPages(db.connection, null);
    await svc.beforeApplicationShutdown();
    expect(db.connection.prepare('SELECT COUNT(*) FROM player_sessions').pluck().get()).toBe(n);
    expect(db.connection.prepare('SELECT request_count FROM player_sessions WHERE session_id = ?').pluck().get(ids[0])).toBe(2);
    expect(guard.writesFailing).toBe(false);
  });
});
