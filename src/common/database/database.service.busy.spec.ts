import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AsyncTransactionBodyError, DatabaseBusyError, TableOrderViolationError } from './database.errors';
import { isBusy, type WriteTx } from './database.service';
import { openStandaloneDatabase, type StandaloneDatabase } from './database.test-kit';

/** The write helper against a second connection that holds SQLite's write lock (another process). */
describe('DatabaseService.write under cross-connection contention', () => {
  let dir: string;
  let a: StandaloneDatabase;
  let other: StandaloneDatabase;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-db-'));
    const file = path.join(dir, 'db.sqlite');
    a = openStandaloneDatabase(file);
    a.connection.exec('CREATE TABLE player_reputation (player_id INTEGER PRIMARY KEY, score INTEGER NOT NULL); CREATE TABLE interaction_history (id INTEGER PRIMARY KEY, player_id INTEGER NOT NULL)');
    a.connection.exec('INSERT INTO player_reputation VALUES (1, 0)');
    other = openStandaloneDatabase(file);
  });

  afterEach(() => {
    if (other.connection.inTransaction) other.connection.exec('ROLLBACK');
    a.close();
    other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('waits for the other writer without freezing the event loop, then commits', async () => {
    other.connection.exec('BEGIN IMMEDIATE');
    other.connection.exec('UPDATE player_reputation SET score = score + 1 WHERE player_id = 1');
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 1);
    const write = a.service.write(async (tx) => (await tx.run('UPDATE player_reputation SET score = score + 10 WHERE player_id = 1')).changes, { label: 'test' });
    // The event loop keeps running while the write waits for SQLite's lock.
    while (ticks < 20) await new Promise((r) => setTimeout(r, 1));
    expect(a.service.counters.busy_retries).toBeGreaterThan(0);
    expect(a.service.counters.commits).toBe(0);
    other.connection.exec('COMMIT');
    await expect(write).resolves.toBe(1);
    clearInterval(ticker);
    expect(a.connection.prepare('SELECT score FROM player_reputation').pluck().get()).toBe(11);
    expect(a.service.counters).toMatchObject({ commits: 1, rollbacks: 0, busy_failures: 0 });
    // The spec's busy_timeout is back on the connection for everything else.
    expect(a.connection.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('gives up with DatabaseBusyError (503) at its deadline, having opened nothing to roll back', async () => {
    other.connection.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    const err = await a.service.write(() => 1, { busyDeadlineMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseBusyError);
    expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(a.service.counters).toMatchObject({ busy_failures: 1, rollbacks: 0, commits: 0 });
    expect(a.connection.inTransaction).toBe(false);
  });

  it('rolls back every statement of a body that throws, and keeps the error', async () => {
    await expect(
      a.service.write(async (tx) => {
        await tx.run('UPDATE player_reputation SET score = 50 WHERE player_id = 1');
        await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
        throw new Error('last step failed');
      }),
    ).rejects.toThrow('last step failed');
    expect(a.connection.prepare('SELECT score FROM player_reputation').pluck().get()).toBe(0);
    expect(a.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(0);
    expect(a.service.counters.rollbacks).toBe(1);
  });

  it('refuses writes against the global table order', async () => {
    await expect(
      a.service.write(async (tx) => {
        await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
        await tx.run('UPDATE player_reputation SET score = 1 WHERE player_id = 1');
      }),
    ).rejects.toBeInstanceOf(TableOrderViolationError);
    expect(a.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(0);
    expect(a.connection.inTransaction).toBe(false);
  });

  it('runs a body that awaits its own statements in one turn of the loop, and commits it', async () => {
    const score = await a.service.write(async (tx) => {
      await tx.run('UPDATE player_reputation SET score = score + 5 WHERE player_id = 1');
      const row = await tx.get<{ score: number }>('SELECT score FROM player_reputation WHERE player_id = 1');
      await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
      return (await tx.all<{ score: number }>('SELECT score FROM player_reputation')).length + row!.score;
    });
    expect(score).toBe(6);
    expect(a.service.counters).toMatchObject({ commits: 1, rollbacks: 0 });
  });

  it('commits a body that awaits only its statements wherever its transaction began: a timer, an immediate, a next tick', async () => {
    const body = async (tx: WriteTx) => {
      await tx.run('UPDATE player_reputation SET score = score + 1 WHERE player_id = 1');
      await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
      return (await tx.get<{ score: number }>('SELECT score FROM player_reputation WHERE player_id = 1'))!.score;
    };
    const from = (schedule: (fn: () => void) => void) =>
      new Promise((resolve, reject) => schedule(() => void a.service.write(body).then(resolve, reject)));
    await expect(from((fn) => setTimeout(fn, 0))).resolves.toBe(1);
    await expect(from(setImmediate)).resolves.toBe(2);
    await expect(from(process.nextTick)).resolves.toBe(3);
    expect(a.service.counters).toMatchObject({ commits: 3, rollbacks: 0 });
  });

  it('rolls back a body that awaits anything but its statements (a timer, I/O): the transaction never spans the event loop', async () => {
    let reached = false;
    const err = await a.service
      .write(async (tx) => {
        await tx.run('UPDATE player_reputation SET score = 77 WHERE player_id = 1');
        await new Promise((r) => setTimeout(r, 1));
        reached = true;
        await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AsyncTransactionBodyError);
    expect(err).toMatchObject({ code: 'INTERNAL_ERROR' });
    // The statement after the turn was refused, and the one before it rolled back.
    expect(reached).toBe(true);
    expect(a.connection.prepare('SELECT score FROM player_reputation').pluck().get()).toBe(0);
    expect(a.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(0);
    expect(a.connection.inTransaction).toBe(false);
    // A body that awaited a timer but ran no statement after it is refused at its end the same way.
    await expect(a.service.write(async () => new Promise((r) => setTimeout(r, 1)))).rejects.toBeInstanceOf(AsyncTransactionBodyError);
    expect(a.connection.inTransaction).toBe(false);
  });

  it('rolls back a body that awaits a timer also when its transaction began inside a check-phase callback', async () => {
    // The timer the body awaits is due before the loop reaches its next check phase.
    const dueTimer = () => {
      const timer = new Promise((r) => setTimeout(r, 1));
      const until = performance.now() + 3;
      while (performance.now() < until);
      return timer;
    };
    let reached = false;
    const err = await new Promise((resolve) =>
      setImmediate(() => {
        a.service
          .write(async (tx) => {
            await tx.run('UPDATE player_reputation SET score = 77 WHERE player_id = 1');
            await dueTimer();
            reached = true;
            await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
          })
          .then(resolve, resolve);
      }),
    );
    expect(err).toBeInstanceOf(AsyncTransactionBodyError);
    expect(reached).toBe(true);
    expect(a.connection.prepare('SELECT score FROM player_reputation').pluck().get()).toBe(0);
    expect(a.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(0);
    expect(a.connection.inTransaction).toBe(false);

    // The same for a body resumed by the next callback of the same check phase.
    let resume!: () => void;
    const next = new Promise<void>((r) => (resume = r));
    const outcome = new Promise((resolve) =>
      setImmediate(() => {
        a.service
          .write(async (tx) => {
            await tx.run('UPDATE player_reputation SET score = 78 WHERE player_id = 1');
            await next;
            await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
          })
          .then(resolve, resolve);
      }),
    );
    setImmediate(resume);
    expect(await outcome).toBeInstanceOf(AsyncTransactionBodyError);
    expect(a.connection.prepare('SELECT score FROM player_reputation').pluck().get()).toBe(0);
    expect(a.connection.prepare('SELECT COUNT(*) FROM interaction_history').pluck().get()).toBe(0);
    expect(a.service.counters).toMatchObject({ commits: 0, rollbacks: 2 });
  });

  it('refuses a statement run after its transaction ended (a leaked tx)', async () => {
    let leaked: WriteTx | undefined;
    await a.service.write((tx) => {
      leaked = tx;
    });
    await expect(leaked!.run('UPDATE player_reputation SET score = 9 WHERE player_id = 1')).rejects.toBeInstanceOf(AsyncTransactionBodyError);
    expect(a.connection.prepare('SELECT score FROM player_reputation').pluck().get()).toBe(0);
  });

  it('treats every extended BUSY/LOCKED code as transient, nothing else', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE']) {
      expect(isBusy({ code })).toBe(true);
    }
    for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', undefined, 5]) expect(isBusy({ code })).toBe(false);
    expect(isBusy(undefined)).toBe(false);
  });
});
