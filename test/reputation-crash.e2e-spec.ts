import { request, spawnEngine, type SpawnedEngine } from './support/engine';
import { describeEachDialect, type EngineDatabase, openEngineDatabase } from './support/engine-database';
import { driveAdjustments, inspectPlayerIn, type Adjustment } from './support/reputation-load';

/**
 * kill -9 of an engine in the middle of a write load. An adjustment whose 200 reached the
 * client was committed before the response was sent; WAL with synchronous=NORMAL keeps a
 * commit once write() returned into the OS page cache, which a process crash does not lose
 * (a power loss could lose the last commits — that needs synchronous=FULL, and is out of scope).
 * After a restart on the same file every acknowledged adjustment is there, the database passes
 * integrity_check, and score, totals and history agree. On PostgreSQL an acknowledged commit is
 * the server's (the engine's crash cannot touch it); the same checks hold, integrity_check aside.
 */
describeEachDialect('crash safety of acknowledged adjustments', (dialect) => {
  const PLAYER = 8001;
  const WORKERS = 16;
  const KILL_AFTER_ACKS = 150;
  let db: EngineDatabase;
  let first: SpawnedEngine;
  let second: SpawnedEngine | undefined;

  beforeAll(async () => {
    db = await openEngineDatabase(dialect, 'okai-crash');
    first = await spawnEngine(db.env);
  }, 30_000);

  afterAll(async () => {
    try {
      await first?.kill('SIGKILL');
      await second?.kill('SIGTERM');
    } finally {
      await db?.close();
    }
  }, 30_000);

  it('keeps every acknowledged adjustment through SIGKILL and restart', async () => {
    // Alternating signs per worker stream: whatever the interleaving, the score stays far from the bounds.
    const items = Array.from({ length: 5000 }, (_, i): Adjustment => ({
      player_id: PLAYER,
      player_name: 'Survivor',
      delta: i % 2 === 0 ? 1 : -1,
      reason: `crash load ${i}`,
      request_id: `crash-${i}`,
    }));
    let killed = false;
    let acks = 0;
    const result = await driveAdjustments(first.url, items, WORKERS, {
      stopOnNetworkError: true,
      onAck: () => {
        acks += 1;
        // Killed while the other workers' requests are in flight.
        if (!killed && acks >= KILL_AFTER_ACKS) {
          killed = true;
          first.proc.kill('SIGKILL');
        }
      },
    });
    const exitCode = await first.exited;

    expect(killed).toBe(true);
    expect(first.proc.signalCode).toBe('SIGKILL');
    expect(exitCode).toBeNull();
    expect(result.acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
    // Nothing but the crash made requests fail: no 4xx/5xx answers, only dropped connections.
    expect(result.failed.filter((f) => f.status !== 'network')).toEqual([]);

    second = await spawnEngine(db.env);
    const check = await inspectPlayerIn(db, PLAYER);
    expect(check.integrity).toBe('ok');
    const missing = result.acked.filter((a) => !check.requestIds.has(a.request_id)).map((a) => a.request_id);
    expect(missing).toEqual([]);
    // Requests that were in flight at the kill may or may not have committed; none is half-applied.
    expect(check.rows).toBeGreaterThanOrEqual(result.acked.length);
    expect(check.rows).toBe(check.distinctRequestIds);
    expect(check.chained).toBe(true);
    expect(check.player).toMatchObject({ total_interactions: check.rows, reputation_score: check.sumApplied });

    // The restarted engine carries on with the same data.
    const after = await request(`${second.url}/api/v1/social/reputation/adjust`, {
      body: { player_id: PLAYER, player_name: 'Survivor', delta: 1, reason: 'after restart', request_id: 'crash-after' },
    });
    expect(after.status).toBe(200);
    expect(after.body.data.reputation.total_interactions).toBe(check.rows + 1);
  }, 60_000);
});
