import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { Pool, type PoolClient } from 'pg';
import { CommitOutcomeUnknownError, DatabaseBusyError, TableOrderViolationError } from './database.errors';
import { describePostgres, startPostgres, type PgTestServer } from './pg.test-kit';
import { PostgresWriter } from './postgres-writer';

/** Real PostgreSQL: two pools on one database stand for two engine processes. */
describePostgres('PostgresWriter (real PostgreSQL)', () => {
  let server: PgTestServer;
  let url: string;
  let poolA: Pool;
  let poolB: Pool;
  let a: PostgresWriter;
  let b: PostgresWriter;
  const count = async (sql: string) => Number((await poolA.query<{ n: string }>(sql)).rows[0].n);

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = await startPostgres();
  });

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    url = await server.createDatabase('writer');
    poolA = new Pool({ connectionString: url, max: 8 });
    poolB = new Pool({ connectionString: url, max: 8 });
    await poolA.query(`
      CREATE TABLE player_reputation (player_id BIGINT PRIMARY KEY, score INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE interaction_history (id BIGSERIAL PRIMARY KEY, player_id BIGINT NOT NULL, note TEXT, request_id TEXT UNIQUE);
      INSERT INTO player_reputation (player_id) VALUES (1);`);
    a = new PostgresWriter(poolA, { lockTimeoutMs: 50 });
    b = new PostgresWriter(poolB, { lockTimeoutMs: 50 });
  });

  afterEach(async () => {
    await poolA?.end();
    await poolB?.end();
  });

  it('commits a body written for SQLite: ? placeholders, changes, lastInsertRowid', async () => {
    const out = await a.write(async (tx) => {
      const up = await tx.run('UPDATE player_reputation SET score = score + ? WHERE player_id = ?', [5, 1]);
      const first = await tx.run('INSERT INTO interaction_history (player_id, note) VALUES (?, ?)', [1, "it's ?"]);
      const second = await tx.run('INSERT INTO interaction_history (player_id, note) VALUES (?, ?), (?, ?)', [1, 'x', 1, 'y']);
      const row = await tx.get<{ score: number }>('SELECT score FROM player_reputation WHERE player_id = ?', [1]);
      const all = await tx.all<{ id: string }>('SELECT id FROM interaction_history ORDER BY id');
      return { changes: up.changes, first: first.lastInsertRowid, second: second.lastInsertRowid, inserted: second.changes, score: row!.score, n: all.length };
    });
    expect(out).toEqual({ changes: 1, first: 1, second: 3, inserted: 2, score: 5, n: 3 });
    expect(a.counters).toMatchObject({ commits: 1, rollbacks: 0 });
  });

  it('rolls back every statement of a body that throws, and keeps the error', async () => {
    await expect(
      a.write(async (tx) => {
        await tx.run('UPDATE player_reputation SET score = 50 WHERE player_id = 1');
        await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
        throw new Error('last step failed');
      }),
    ).rejects.toThrow('last step failed');
    expect(await count('SELECT score AS n FROM player_reputation')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM interaction_history')).toBe(0);
    expect(a.counters.rollbacks).toBe(1);
  });

  it('refuses writes against the global table order, rolled back', async () => {
    await expect(
      a.write(async (tx) => {
        await tx.run('INSERT INTO interaction_history (player_id) VALUES (1)');
        await tx.run('UPDATE player_reputation SET score = 1 WHERE player_id = 1');
      }),
    ).rejects.toBeInstanceOf(TableOrderViolationError);
    expect(await count('SELECT COUNT(*) AS n FROM interaction_history')).toBe(0);
  });

  it('serializable read-modify-write from two "processes": no lost update, the losers rerun after 40001/40P01', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 40 }), async (deltas) => {
        await poolA.query('UPDATE player_reputation SET score = 0, total = 0 WHERE player_id = 1');
        await Promise.all(
          deltas.map((d, i) =>
            (i % 2 ? a : b).write(
              async (tx) => {
                // A decision from a row it does not lock: only serializable keeps it right.
                const row = (await tx.get<{ score: number; total: number }>('SELECT score, total FROM player_reputation WHERE player_id = 1'))!;
                await tx.run('UPDATE player_reputation SET score = ?, total = ? WHERE player_id = 1', [row.score + d, row.total + 1]);
              },
              { isolation: 'serializable' },
            ),
          ),
        );
        const row = (await poolA.query<{ score: number; total: number }>('SELECT score, total FROM player_reputation WHERE player_id = 1')).rows[0];
        expect(row).toEqual({ score: deltas.reduce((s, d) => s + d, 0), total: deltas.length });
      }),
      { numRuns: 10 },
    );
    expect(a.counters.serialization_retries + b.counters.serialization_retries).toBeGreaterThan(0);
  });

  it('read committed with SELECT … FOR UPDATE: the row lock serializes the writers, no retry needed', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).write(async (tx) => {
          const row = (await tx.get<{ score: number }>('SELECT score FROM player_reputation WHERE player_id = 1 FOR UPDATE'))!;
          await tx.run('UPDATE player_reputation SET score = ? WHERE player_id = 1', [row.score + 1]);
        }, { busyDeadlineMs: 30_000 }),
      ),
    );
    expect(await count('SELECT score AS n FROM player_reputation')).toBe(40);
  });

  it('a row lock held past the deadline is a DatabaseBusyError (503), retried until then', async () => {
    const holder = await poolB.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM player_reputation WHERE player_id = 1 FOR UPDATE');
      const started = Date.now();
      const err = await a.write((tx) => tx.run('UPDATE player_reputation SET score = 9 WHERE player_id = 1'), { busyDeadlineMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseBusyError);
      expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(a.counters.busy_retries).toBeGreaterThan(0);
      expect(a.counters.busy_failures).toBe(1);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    // Released: the same write goes through.
    await a.write((tx) => tx.run('UPDATE player_reputation SET score = 9 WHERE player_id = 1'));
    expect(await count('SELECT score AS n FROM player_reputation')).toBe(9);
  });

  it('a serialization failure found at COMMIT is retried: the server rolled that attempt back, the body lands once', async () => {
    let runs = 0;
    let ends = 0;
    let atGate!: () => void;
    const reachedGate = new Promise<void>((r) => (atGate = r));
    let open!: () => void;
    const otherCommitted = new Promise<void>((r) => (open = r));
    const write = a.write(
      async (tx) => {
        runs += 1;
        await tx.get('SELECT score FROM player_reputation WHERE player_id = 1');
        await tx.run('INSERT INTO interaction_history (player_id, note) VALUES (1, ?)', ['once']);
        atGate();
        await otherCommitted;
        ends += 1;
      },
      { isolation: 'serializable' },
    );
    await reachedGate;
    // Another process reads what the first writes and writes what it read: a cycle that only
    // the first one's COMMIT can find, the other having committed first.
    const other = await poolB.connect();
    try {
      await other.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await other.query('SELECT COUNT(*) FROM interaction_history');
      await other.query('UPDATE player_reputation SET score = score + 1 WHERE player_id = 1');
      await other.query('COMMIT');
    } finally {
      other.release();
    }
    open();
    await write;
    // The first attempt ran to its end and failed at COMMIT; the second committed.
    expect({ runs, ends }).toEqual({ runs: 2, ends: 2 });
    expect(a.counters).toMatchObject({ commits: 1, rollbacks: 1, serialization_retries: 1 });
    expect(await count("SELECT COUNT(*) AS n FROM interaction_history WHERE note = 'once'")).toBe(1);
  });

  it('a COMMIT whose answer is lost is never run again: CommitOutcomeUnknownError, the body applied once, the connection dropped', async () => {
    // The server commits, then the connection drops before its answer arrives.
    let dropped: PoolClient | undefined;
    const lossy = {
      connect: async () => {
        const client = await poolA.connect();
        const query = client.query.bind(client) as (sql: string, params?: unknown[]) => Promise<unknown>;
        const release = client.release.bind(client);
        return Object.assign(Object.create(client) as PoolClient, {
          query: async (sql: string, params?: unknown[]) => {
            const res = await query(sql, params);
            if (sql === 'COMMIT') throw new Error('Connection terminated unexpectedly');
            return res;
          },
          release: (destroy?: boolean | Error) => {
            if (destroy) dropped = client;
            release(destroy);
          },
        });
      },
    } as unknown as Pool;
    const writer = new PostgresWriter(lossy);
    let runs = 0;
    const err = await writer
      .write(async (tx) => {
        runs += 1;
        await tx.run('UPDATE player_reputation SET score = score + 1 WHERE player_id = 1');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(err).toMatchObject({ code: 'INTERNAL_ERROR', status: 500 });
    expect(runs).toBe(1);
    expect(await count('SELECT score AS n FROM player_reputation')).toBe(1);
    expect(writer.counters).toMatchObject({ commits: 0, rollbacks: 0, serialization_retries: 0, busy_retries: 0 });
    expect(dropped).toBeDefined();
  });

  it('a statement of a leaked tx after its transaction ended is refused', async () => {
    let leaked: Parameters<Parameters<PostgresWriter['write']>[0]>[0] | undefined;
    await a.write((tx) => {
      leaked = tx;
    });
    await expect(leaked!.run('UPDATE player_reputation SET score = 3 WHERE player_id = 1')).rejects.toThrow(/after its write transaction ended/);
    expect(await count('SELECT score AS n FROM player_reputation')).toBe(0);
  });
});
