import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMigrations, limitPages, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { CreateStateAndDecisions1764201700000 } from '../../common/database/migrations/1764201700000-create-state-and-decisions';
import { LockManager } from '../../common/concurrency';
import type { DatabaseService } from '../../common/database/database.service';
import { StorageGuard } from '../../common/database/storage-guard';
import type { SessionService } from '../session';
import type { GameState } from './game-state';
import { StateService } from './state.service';

const state = (hp: number) => ({ character: { name: 'K', hp } }) as unknown as GameState;

describe('StateService shutdown', () => {
  it('writes an update applied while a tick flush was running', async () => {
    const written: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    type Tx = { run: (sql: string, params: unknown[]) => void };
    const write = async (fn: (tx: Tx) => void) => {
      const versions: number[] = [];
      fn({ run: (_sql, params) => versions.push(params[1] as number) });
      if (calls++ === 0) await gate;
      written.push(versions);
    };
    const db = {
      storage: new StorageGuard(),
      write,
      writeChunked: async <T>(items: T[], body: (tx: Tx, chunk: T[]) => void) => {
        await write((tx) => body(tx, items));
        return { written: items.length };
      },
    } as unknown as DatabaseService;
    const svc = new StateService(db, {} as SessionService);
    await svc.apply('s1', { full: state(1) });
    const tick = svc.flush();
    await svc.apply('s1', { full: state(2) });
    const shutdown = svc.beforeApplicationShutdown();
    release();
    await Promise.all([tick, shutdown]);
    expect(written).toEqual([[1], [2]]);
  });
});

describe('StateService persistence', () => {
  let dir: string;
  let db: StandaloneDatabase;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-state-'));
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    await applyMigrations(db.connection, [CreateStateAndDecisions1764201700000]);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the latest snapshot of every changed session in transactions of at most SLICE_ROWS, and shutdown leaves none behind', async () => {
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
    const svc = new StateService(db.service, {} as SessionService);
    const sessions = StateService.SLICE_ROWS * 3 + 5;
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < sessions; i++) await svc.apply(`s${i}`, { full: state(round * 1000 + i) });
    }
    await svc.beforeApplicationShutdown();
    const stored = db.connection.prepare('SELECT session_id, version, state_json FROM game_state_snapshots').all() as Array<{ session_id: string; version: number; state_json: string }>;
    expect(stored).toHaveLength(sessions);
    for (const row of stored) {
      expect(row.version).toBe(3);
      expect((JSON.parse(row.state_json) as { character: { hp: number } }).character.hp).toBe(3000 + Number(row.session_id.slice(1)));
    }
    // Each session once (the latest value), never more than a slice per transaction.
    expect(perCommit.reduce((a, b) => a + b, 0)).toBe(sessions);
    expect(Math.max(...perCommit)).toBe(StateService.SLICE_ROWS);
  });
});

describe('StateService when writes fail for lack of space', () => {
  let dir: string;
  let db: StandaloneDatabase;
  let guard: StorageGuard;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-state-full-'));
    guard = new StorageGuard({ lowBytes: 0, criticalBytes: 0, now: () => 1_700_000_000_000 });
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'), new LockManager(), guard);
    await applyMigrations(db.connection, [CreateStateAndDecisions1764201700000]);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the snapshots in memory and backs off its flushes; the final flush writes the latest of each', async () => {
    const big = (hp: number) => ({ character: { name: 'K', hp }, note: 'x'.repeat(400) }) as unknown as GameState;
    const svc = new StateService(db.service, {} as SessionService);
    limitPages(db.connection);
    for (let i = 0; i < 40; i++) await svc.apply(`s${i}`, { full: big(i) });
    await svc.flush();
    expect(guard.writesFailing).toBe(true);
    // Inside the pause the periodic flush leaves the database alone; the snapshots are still served.
    const write = jest.spyOn(db.service, 'write');
    await svc.apply('s0', { full: big(1000) });
    await svc.flush();
    expect(write).not.toHaveBeenCalled();
    expect(guard.status().deferred_flushes).toBe(1);
    expect(svc.current('s0')?.state.character.hp).toBe(1000);
    limitPages(db.connection, null);
    await svc.beforeApplicationShutdown();
    const stored = db.connection.prepare('SELECT session_id, version FROM game_state_snapshots').all() as Array<{ session_id: string; version: number }>;
    expect(stored).toHaveLength(40);
    expect(stored.find((r) => r.session_id === 's0')?.version).toBe(2);
    expect(guard.writesFailing).toBe(false);
  });
});
