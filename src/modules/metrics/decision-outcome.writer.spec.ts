import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { MIGRATIONS } from '../../common/database/migrations';
import { type DecisionOutcome, DecisionOutcomeWriter } from './decision-outcome.writer';
import { MetricsLogBacklogError } from './metrics.errors';

const outcome = (i: number, over: Partial<DecisionOutcome> = {}): DecisionOutcome => ({
  session_id: `s${i % 7}`,
  decision_tier: (['reflex', 'rule', 'ml', 'llm'] as const)[i % 4],
  action_type: 'ATTACK',
  success: i % 3 !== 0,
  outcome: i % 2 ? 'killed' : null,
  processing_time_ms: i / 10,
  created_at: 1_700_000_000_000 + i,
  ...over,
});

describe('DecisionOutcomeWriter', () => {
  beforeAll(() => Logger.overrideLogger(false));
  let dir: string;
  let db: StandaloneDatabase;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-outcome-'));
    db = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    await applyMigrations(db.connection, MIGRATIONS);
  });

  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent appends resolve with the ids of their committed rows, in a few shared transactions', async () => {
    const writer = new DecisionOutcomeWriter(db.service, { batchSize: 500 });
    const n = 1200;
    const ids = await Promise.all(Array.from({ length: n }, (_, i) => writer.append(outcome(i))));
    expect(new Set(ids).size).toBe(n);
    expect(writer.transactions).toBeLessThanOrEqual(3);
    const rows = db.connection.prepare('SELECT id, session_id, decision_tier, success, outcome, processing_time_ms, created_at FROM decision_log ORDER BY id').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(n);
    // Each promise got the id of its own row.
    ids.forEach((id, i) => {
      const row = rows.find((r) => r.id === id)!;
      expect(row).toEqual({ id, session_id: `s${i % 7}`, decision_tier: outcome(i).decision_tier, success: i % 3 !== 0 ? 1 : 0, outcome: i % 2 ? 'killed' : null, processing_time_ms: i / 10, created_at: 1_700_000_000_000 + i });
    });
  });

  it('appends arriving while a transaction runs are written by the same loop, none left behind', async () => {
    const writer = new DecisionOutcomeWriter(db.service, { batchSize: 10 });
    const first = Array.from({ length: 25 }, (_, i) => writer.append(outcome(i)));
    // More appends each time one resolves: they land while the loop is between transactions.
    const chained = first.map((p, i) => p.then(() => writer.append(outcome(100 + i))));
    const all = await Promise.all([...first, ...chained]);
    expect(new Set(all).size).toBe(50);
    expect(writer.pending).toBe(0);
    expect((db.connection.prepare('SELECT COUNT(*) AS n FROM decision_log').get() as { n: number }).n).toBe(50);
  });

  it('a row the database refuses fails only its own append', async () => {
    const writer = new DecisionOutcomeWriter(db.service);
    const results = await Promise.allSettled([
      writer.append(outcome(1)),
      writer.append(outcome(2, { session_id: null as unknown as string })), // NOT NULL
      writer.append(outcome(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(writer.failed).toBe(1);
    expect((db.connection.prepare('SELECT COUNT(*) AS n FROM decision_log').get() as { n: number }).n).toBe(2);
  });

  it('refuses at once past its backlog bound (429 QUEUE_FULL) and after shutdown (503); shutdown waits for accepted logs', async () => {
    const writer = new DecisionOutcomeWriter(db.service, { maxPending: 3 });
    const accepted = [writer.append(outcome(1)), writer.append(outcome(2)), writer.append(outcome(3))];
    const full = writer.append(outcome(4));
    await expect(full).rejects.toBeInstanceOf(MetricsLogBacklogError);
    await expect(full).rejects.toMatchObject({ code: 'QUEUE_FULL', status: 429, retryAfterSeconds: 1 });
    await writer.beforeApplicationShutdown();
    expect(writer.written).toBe(3);
    await expect(Promise.all(accepted)).resolves.toHaveLength(3);
    await expect(writer.append(outcome(5))).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, message: expect.stringMatching(/shutting down/) });
    expect(writer.written).toBe(3);
  });
});
