import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { pgInstances, type PgInstance, semanticsDatabase } from '../../common/database/pg-schema.test-kit';
import { describePostgres, startPostgres, type PgTestServer } from '../../common/database/pg.test-kit';
import { ReputationRepository } from './reputation.repository';
import { ReputationService } from './reputation.service';

/**
 * The reputation unit of work from several instances on one PostgreSQL database (read
 * committed): each instance its own pool and writer, all adjusting one player at once. What must
 * hold is what a single SQLite writer gives: the exact score and totals, one history row per
 * distinct request, the history a chain (each row starts from the score the previous one left),
 * a repeated request_id replayed — never applied twice, never an error.
 */
describePostgres('reputation unit of work from several instances on PostgreSQL', () => {
  let server: PgTestServer;
  let instances: PgInstance[] = [];
  let services: ReputationService[] = [];
  let player = 10_000;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = await startPostgres();
    instances = await pgInstances(await semanticsDatabase(server, 'rep'), 3, { poolSize: 4 });
    // adjust() touches no session: the session service is never called.
    services = instances.map((i) => new ReputationService(i.db, null as never, new ReputationRepository(i.db)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.pool.end()));
    await server?.stop();
  });

  const pool = () => instances[0].pool;

  /** `exact`: no delta can have been clamped at ±100, so the score is their sum. */
  async function check(playerId: number, deltas: ReadonlyMap<string, number>, exact: boolean): Promise<void> {
    const expected = [...deltas.values()].reduce((a, b) => a + b, 0);
    const plus = [...deltas.values()].filter((d) => d > 0).length;
    const minus = [...deltas.values()].filter((d) => d < 0).length;
    const { rows: players } = await pool().query('SELECT reputation_score, total_interactions, positive_interactions, negative_interactions FROM player_reputation WHERE player_id = $1', [playerId]);
    expect(players).toHaveLength(1);
    expect({ total: Number(players[0].total_interactions), plus: Number(players[0].positive_interactions), minus: Number(players[0].negative_interactions) }).toEqual({
      total: deltas.size,
      plus,
      minus,
    });
    const { rows: history } = await pool().query<{ request_id: string | null; score_before: number; score_after: number; reputation_delta: number }>(
      'SELECT request_id, score_before, score_after, reputation_delta FROM interaction_history WHERE player_id = $1 ORDER BY id',
      [playerId],
    );
    expect(history).toHaveLength(deltas.size);
    // The chain: each row starts from the score the previous one left (a lost update breaks it).
    let score = 0;
    for (const h of history) {
      expect(h.score_before).toBe(score);
      expect(h.score_after).toBe(Math.max(-100, Math.min(100, score + h.reputation_delta)));
      score = h.score_after;
    }
    expect(Number(players[0].reputation_score)).toBe(score);
    if (exact) expect(score).toBe(expected);
  }

  it('property: adjustments of one player spread over 3 instances, some request_ids sent twice → exact score, totals and history', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ instance: fc.nat(2), request: fc.nat(11) }), { minLength: 2, maxLength: 30 }), async (ops) => {
        player += 1;
        const playerId = player;
        // A request_id always carries the same delta (a resend), never 0.
        const deltaOf = (r: number) => (r % 2 === 0 ? 1 + (r % 3) : -1 - (r % 3));
        const results = await Promise.all(
          ops.map((op) =>
            services[op.instance].adjust({ player_id: playerId, player_name: `p${playerId}`, delta: deltaOf(op.request), reason: 'spec', request_id: `${playerId}-${op.request}` }),
          ),
        );
        const deltas = new Map(ops.map((op) => [`${playerId}-${op.request}`, deltaOf(op.request)]));
        await check(playerId, deltas, true);
        // Every answer to one request_id names the one history row it made.
        const historyOf = new Map<number, Set<number>>();
        ops.forEach((op, i) => historyOf.set(op.request, (historyOf.get(op.request) ?? new Set()).add(results[i].change.history_id)));
        for (const ids of historyOf.values()) expect(ids.size).toBe(1);
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('300 concurrent adjustments of a new player from 3 instances: exact score and totals, one history row each', async () => {
    player += 1;
    const playerId = player;
    const deltas = new Map<string, number>();
    const calls = Array.from({ length: 300 }, (_, i) => {
      // ±1 alternately: a sum of 0, a walk that stays far from the ±100 clamp in any likely order.
      const delta = i % 2 === 0 ? 1 : -1;
      deltas.set(`${playerId}-${i}`, delta);
      return services[i % 3].adjust({ player_id: playerId, player_name: 'Crowded', delta, reason: 'spec', request_id: `${playerId}-${i}` });
    });
    await Promise.all(calls);
    await check(playerId, deltas, false);
    // Contention went through the row lock (and the first sight through a rerun), not through luck.
    expect(instances.reduce((n, i) => n + i.writer.counters.commits, 0)).toBeGreaterThanOrEqual(300);
  }, 120_000);
});
