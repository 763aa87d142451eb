import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStandaloneDatabase, type StandaloneDatabase } from './database.test-kit';

/**
 * The DATABASE lock (level 9): the engine's write transactions commit one at a time in the
 * order they were asked for — also while one of them backs off from another process's write
 * lock, when, without it, a later write could slip in first.
 */
describe('DatabaseService.write order (DATABASE)', () => {
  let dir: string;
  let db: StandaloneDatabase;
  let other: StandaloneDatabase;
  let random: jest.SpyInstance;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-db-order-'));
    const file = path.join(dir, 'db.sqlite');
    db = openStandaloneDatabase(file);
    db.connection.exec('CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    other = openStandaloneDatabase(file);
    random = jest.spyOn(Math, 'random');
  });

  afterEach(() => {
    random.mockRestore();
    jest.useRealTimers();
    if (other.connection.inTransaction) other.connection.exec('ROLLBACK');
    db.close();
    other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a write asked for second commits second, even when its backoff would end first', async () => {
    // Another process holds SQLite's write lock: the writes have to back off.
    other.connection.exec('BEGIN IMMEDIATE');
    random.mockReturnValue(1); // the first write's backoffs: the longest there are...
    const insert = db.service.write(async (tx) => (await tx.run(`INSERT INTO probe (id, v) VALUES (1, 'inserted')`)).changes, { label: 'first' });
    // ...and it has been waiting a while: its next try is ~30 ms away.
    await jest.advanceTimersByTimeAsync(40);
    random.mockReturnValue(0); // the second's: the shortest, 1 ms
    const update = db.service.write(async (tx) => (await tx.run(`UPDATE probe SET v = 'updated' WHERE id = 1`)).changes, { label: 'second' });
    await jest.advanceTimersByTimeAsync(0);
    other.connection.exec('COMMIT');
    await jest.advanceTimersByTimeAsync(200);
    await expect(insert).resolves.toBe(1);
    // Had the update slipped in first, it would have changed no row.
    await expect(update).resolves.toBe(1);
    expect(db.connection.prepare('SELECT v FROM probe WHERE id = 1').pluck().get()).toBe('updated');
  });
});
