import * as fs from 'node:fs';
import * as path from 'node:path';
import { request, tempDir, type SpawnedEngine } from '../support/engine';
import { contendedPlan, driveAdjustments, inspectPlayer, spawnEnginesOnOneFile } from '../support/reputation-load';
import { report, within } from './support';

const PROCESSES = 3;
const PER_PROCESS = 1_000;
const IN_FLIGHT = 50;
// Per process 33 × +1 and 30 × -1 among zeros: whatever the interleaving the running score stays
// within [-90, 99], so no clamp at ±100 can hide a lost update: score = sum exactly.
const PLUS = 33;
const MINUS = 30;
const PLAYER = 9001;
/** Sends of one adjustment when the connection fails before an answer (same request_id: the engine replays, never applies twice). */
const ATTEMPTS = 5;

/**
 * REPUTATION: three real engine processes on one SQLite file take 3,000 concurrent adjustments
 * of one player over HTTP (50 in flight per process). The guarantee is the read-modify-write
 * inside one BEGIN IMMEDIATE transaction (SQLite's write lock across processes): score = sum,
 * totals = counts, one history row per adjustment, the rows forming one serial chain. A send
 * whose connection drops before the answer is resent with the same request_id, as a bot would:
 * the engine answers a replay and never applies an adjustment twice.
 */
describe('stress: reputation of one player from three processes', () => {
  const dataDir = tempDir('okai-stress-rep-');
  const engines: SpawnedEngine[] = [];

  afterAll(async () => {
    await Promise.all(engines.map((e) => e.kill('SIGTERM')));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('lands every adjustment exactly once: score = sum, totals = counts, one history row each, one chain', async () => {
    await spawnEnginesOnOneFile(engines, PROCESSES, { DATA_DIR: dataDir });
    const plan = contendedPlan({ processes: PROCESSES, perProcess: PER_PROCESS, plus: PLUS, minus: MINUS, player: PLAYER, idPrefix: 'stress' });

    const results = await within(120_000, 'reputation load', Promise.all(engines.map((e, p) => driveAdjustments(e.url, plan[p], IN_FLIGHT, { attempts: ATTEMPTS }))));
    const failures = results.flatMap((r) => r.failed);

    const total = PROCESSES * PER_PROCESS;
    const sum = PROCESSES * (PLUS - MINUS);
    const views = await Promise.all(engines.map(async (e) => (await request(`${e.url}/api/v1/social/reputation/${PLAYER}`)).body.data));
    const check = inspectPlayer(path.join(dataDir, 'openkore-ai.db'), PLAYER);
    const counters = await Promise.all(engines.map(async (e) => (await request(`${e.url}/api/v1/admin/locks`)).body.data?.database));
    report('reputation', {
      processes: PROCESSES,
      adjustments_sent: total,
      acknowledged: results.reduce((n, r) => n + r.acked.length, 0),
      failed: failures.length,
      resent_after_connection_loss: results.reduce((n, r) => n + r.resent, 0),
      answered_as_replay: results.reduce((n, r) => n + r.replayed, 0),
      connection_errors: results.flatMap((r) => [...r.networkErrors]).reduce<Record<string, number>>((all, [what, n]) => ({ ...all, [what]: (all[what] ?? 0) + n }), {}),
      first_failures: failures.slice(0, 3).map((f) => ({ request_id: f.adjustment.request_id, status: f.status, body: f.body })),
      expected: { score: sum, total, positive: PROCESSES * PLUS, negative: PROCESSES * MINUS },
      seen_by_each_process: views.map((v) => v && [v.reputation_score, v.total_interactions, v.positive_interactions, v.negative_interactions]),
      history_rows: check.rows,
      distinct_request_ids: check.distinctRequestIds,
      serial_chain: check.chained,
      sum_applied: check.sumApplied,
      integrity: check.integrity,
      busy_retries_per_process: counters.map((c) => c?.busy_retries ?? null),
    });

    expect(failures).toEqual([]);
    expect(results.map((r) => r.acked.length)).toEqual(engines.map(() => PER_PROCESS));
    for (const view of views) {
      expect(view).toMatchObject({ reputation_score: sum, total_interactions: total, positive_interactions: PROCESSES * PLUS, negative_interactions: PROCESSES * MINUS });
    }
    expect(check.rows).toBe(total);
    expect(check.distinctRequestIds).toBe(total);
    expect([...check.requestIds].sort()).toEqual(plan.flat().map((a) => a.request_id).sort());
    expect(check.chained).toBe(true);
    expect(check.sumApplied).toBe(sum);
    expect(check.lastScore).toBe(sum);
    expect(check.integrity).toBe('ok');
  });
});
