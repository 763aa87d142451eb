import fc from 'fast-check';
import type { Pool } from 'pg';
import { pgInstances, type PgInstance, semanticsDatabase, untilBlockedOnLock } from '../../common/database/pg-schema.test-kit';
import { describePostgres, startPostgres, type PgTestServer } from '../../common/database/pg.test-kit';
import { SessionLeaseRepository, type SessionRowUpsert } from './session-lease.repository';

/**
 * The fence of a session row's write against a take-over on PostgreSQL (read committed). The
 * fenced upsert is one statement, `INSERT … SELECT … WHERE <the lease is ours under token> ON
 * CONFLICT …`; a plain read in that condition sees the statement's snapshot, so a take committed
 * while the statement waited on the row it writes would go unseen and the old owner would
 * overwrite the new owner's row. The lease row is read FOR SHARE: these tests show the write
 * refused in exactly that interleaving, and no write ever committing under a token no longer
 * current (a trigger checks each written row against the lease as committed).
 */
describePostgres('session row fence vs take-over on PostgreSQL', () => {
  let server: PgTestServer;
  let instances: PgInstance[] = [];
  const repo = new SessionLeaseRepository(null as never);
  /** The writer's token travels in updated_at, for the trigger below. */
  const snapshot = (sessionId: string, version: number, token: number): SessionRowUpsert => ({
    into: 'INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at)',
    values: [sessionId, version, `{"v":${version}}`, token],
    onConflict: `ON CONFLICT(session_id) DO UPDATE SET version = excluded.version, state_json = excluded.state_json, updated_at = excluded.updated_at
       WHERE excluded.version > game_state_snapshots.version`,
  });
  const pool = (): Pool => instances[0].pool;
  const stored = async (sessionId: string) =>
    (await pool().query<{ version: string; updated_at: string }>('SELECT version, updated_at FROM game_state_snapshots WHERE session_id = $1', [sessionId])).rows.map((r) => ({
      version: Number(r.version),
      token: Number(r.updated_at),
    }))[0];

  beforeAll(async () => {
    server = await startPostgres();
    const url = await semanticsDatabase(server, 'fence');
    instances = await pgInstances(url, 3, { poolSize: 3 });
    // Every row written must be written under the session's current token, as committed: the
    // trigger reads the lease afresh (read committed: a new snapshot per statement).
    await pool().query(`
      CREATE FUNCTION fence_check() RETURNS trigger AS $$
      BEGIN
        IF NEW.updated_at IS DISTINCT FROM (SELECT token FROM session_leases WHERE session_id = NEW.session_id) THEN
          RAISE EXCEPTION 'row of % written under token %, lease at another', NEW.session_id, NEW.updated_at USING ERRCODE = 'P0001';
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql;
      CREATE TRIGGER fence_check BEFORE INSERT OR UPDATE ON game_state_snapshots FOR EACH ROW EXECUTE FUNCTION fence_check();`);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.pool.end()));
    await server?.stop();
  });

  it('a stale owner whose write waits on the new owner’s row is refused once the take commits', async () => {
    const [a, b] = instances;
    const first = await a.writer.write((tx) => repo.take(tx, 's-race', 'A', 'http://a', 0, 1_000, 1_000));
    expect(first).toMatchObject({ taken: true, token: 1 });
    expect(await a.writer.write((tx) => repo.upsertFenced(tx, snapshot('s-race', 1, 1), 's-race', 'A', 1))).toBe(true);

    // B takes the lapsed lease and writes its row in one transaction, held open.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const inside = new Promise<void>((r) => (reached = r));
    const bDone = b.writer.write(async (tx) => {
      const took = await repo.take(tx, 's-race', 'B', 'http://b', 0, 5_000, 1_000);
      if (!took.taken) throw new Error('B should take the lapsed lease');
      await repo.upsertFenced(tx, snapshot('s-race', 2, took.token), 's-race', 'B', took.token);
      reached();
      await gate;
      return took.token;
    });
    let aDone: Promise<boolean> | undefined;
    try {
      await inside;
      // A, paused meanwhile, writes a newer version under its old token: it must wait…
      aDone = a.writer.write((tx) => repo.upsertFenced(tx, snapshot('s-race', 9, 1), 's-race', 'A', 1));
      await untilBlockedOnLock(instances[2].pool);
    } finally {
      // …and, B committed, find the fence gone. (Released whatever happened: no transaction stays open.)
      release();
    }
    const bToken = await bDone;
    expect(bToken).toBe(2);
    await expect(aDone).resolves.toBe(false);
    expect(await stored('s-race')).toEqual({ version: 2, token: 2 });
  });

  it('a take waits for a fenced write under way: the new owner then reads that write', async () => {
    const [a, b] = instances;
    await a.writer.write((tx) => repo.take(tx, 's-order', 'A', 'http://a', 0, 1_000, 1_000));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const inside = new Promise<void>((r) => (reached = r));
    const aDone = a.writer.write(async (tx) => {
      const ok = await repo.upsertFenced(tx, snapshot('s-order', 3, 1), 's-order', 'A', 1);
      reached();
      await gate;
      return ok;
    });
    let bDone: Promise<unknown> | undefined;
    try {
      await inside;
      bDone = b.writer.write(async (tx) => {
        const took = await repo.take(tx, 's-order', 'B', 'http://b', 0, 5_000, 1_000);
        const row = await tx.get<{ version: string }>('SELECT version FROM game_state_snapshots WHERE session_id = ?', ['s-order']);
        return { took, version: row && Number(row.version) };
      });
      await untilBlockedOnLock(instances[2].pool);
    } finally {
      release();
    }
    await expect(aDone).resolves.toBe(true);
    await expect(bDone).resolves.toMatchObject({ took: { taken: true, token: 2 }, version: 3 });
  });

  it('property: takes and fenced writes from 3 instances at once never commit a row under a superseded token', async () => {
    let run = 0;
    let clock = 10_000;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom('take', 'write', 'take+write' as const), { minLength: 1, maxLength: 8 }), { minLength: 3, maxLength: 3 }),
        async (plans) => {
          run += 1;
          const sessionId = `s-prop-${run}`;
          let version = 0;
          const outcomes = await Promise.all(
            plans.map(async (plan, i) => {
              const me = `I${i}`;
              let token = 0;
              let refused = 0;
              for (const op of plan) {
                await instances[i].writer.write(async (tx) => {
                  if (op !== 'write') {
                    // A 1 ms TTL on a clock that only advances: every earlier lease has lapsed.
                    clock += 10;
                    const took = await repo.take(tx, sessionId, me, `http://${me}`, token, clock, 1);
                    if (took.taken) token = took.token;
                  }
                  if (op !== 'take' && token > 0) {
                    version += 1;
                    if (!(await repo.upsertFenced(tx, snapshot(sessionId, version, token), sessionId, me, token))) refused += 1;
                  }
                });
              }
              return refused;
            }),
          );
          // Refusals happened (stale tokens) and none of the writes that passed broke the trigger.
          void outcomes;
          const row = await stored(sessionId);
          const lease = (await pool().query<{ token: string }>('SELECT token FROM session_leases WHERE session_id = $1', [sessionId])).rows[0];
          if (row) expect(row.token).toBeLessThanOrEqual(Number(lease.token));
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
