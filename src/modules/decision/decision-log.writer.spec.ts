import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LockManager } from '../../common/concurrency';
import { applyMigrations, limitPages, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { StorageGuard } from '../../common/database/storage-guard';
import { CreateStateAndDecisions1764201700000 } from '../../common/database/migrations/1764201700000-create-state-and-decisions';
import { until } from '../../common/testing/wait.test-kit';
import { type DecisionLogEntry, DecisionLogWriter, FLUSH_AT, SLICE_ROWS } from './decision-log.writer';

const entry = (i: number): DecisionLogEntry => ({
  session_id: `s${i % 7}`,
  decision_tier: 'rule',
  action_type: 'ATTACK',
  reason: 'test',
  state_version: i,
  processing_time_ms: 0.1,
  created_at: 1_700_000_000_000 + i,
});

interface Fixture {
  dir: string;
  db: StandaloneDatabase;
  writer: DecisionLogWriter;
}

/** A writer on a fresh database file with the decision_log table; `guard`, if given, is the database's storage guard. */
async function openWriter(guard?: StorageGuard): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-dlog-'));
  const db = openStandaloneDatabase(path.join(dir, 'db.sqlite'), new LockManager(), guard);
  await applyMigrations(db.connection, [CreateStateAndDecisions1764201700000]);
  return { dir, db, writer: new DecisionLogWriter(db.service) };
}

async function closeWriter({ dir, db, writer }: Fixture): Promise<void> {
  await writer.beforeApplicationShutdown();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

beforeAll(() => Logger.overrideLogger(false));

describe('DecisionLogWriter', () => {
  let dir: string;
  let db: StandaloneDatabase;
  let writer: DecisionLogWriter;
  const rows = () => db.connection.prepare('SELECT COUNT(*) FROM decision_log').pluck().get() as number;

  beforeEach(async () => ({ dir, db, writer } = await openWriter()));
  afterEach(() => closeWriter({ dir, db, writer }));

  it('never writes inside the push that fills its buffer, and writes every entry soon after', async () => {
    const n = FLUSH_AT * 5 + 17;
    for (let i = 0; i < n; i++) writer.push(entry(i));
    // The request that filled the buffer is not the one that pays for the transaction.
    expect(db.service.counters.commits).toBe(0);
    await until(() => writer.pending === 0 && rows() >= FLUSH_AT, 'a flush soon after the buffer filled');
    await writer.flush();
    expect(rows()).toBe(n);
    expect(writer.written).toBe(n);
    // In transactions of bounded size, not one per push and not one for everything.
    expect(db.service.counters.commits).toBe(Math.ceil(n / SLICE_ROWS));
    expect(writer.stats().largest_slice).toBe(SLICE_ROWS);
  });

  it('no transaction holds more than SLICE_ROWS rows, whatever the backlog, and shutdown writes all of it', async () => {
    const perCommit: number[] = [];
    const write = db.service.write.bind(db.service);
    jest.spyOn(db.service, 'write').mockImplementation((body, options) =>
      write(async (tx) => {
        let rows = 0;
        const counted = { ...tx, run: (sql: string, params?: unknown[]) => ((rows += (sql.match(/\(\?, \?/g) ?? []).length), tx.run(sql, params)) };
        const result = await body(counted);
        perCommit.push(rows);
        return result;
      }, options),
    );
    const n = 12_345;
    for (let i = 0; i < n; i++) writer.push(entry(i));
    await writer.beforeApplicationShutdown();
    expect(rows()).toBe(n);
    expect(perCommit.reduce((a, b) => a + b, 0)).toBe(n);
    expect(Math.max(...perCommit)).toBe(SLICE_ROWS);
  });

  it('keeps what it could not write and writes it on the next flush', async () => {
    const n = SLICE_ROWS * 4;
    for (let i = 0; i < n; i++) writer.push(entry(i));
    db.connection.exec(`CREATE TRIGGER refuse BEFORE INSERT ON decision_log WHEN NEW.state_version = ${SLICE_ROWS * 3 + 1} BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    await writer.flush();
    // The slice holding the refused row was rolled back; it and everything after are kept.
    expect(rows()).toBe(SLICE_ROWS * 3);
    expect(writer.pending).toBe(SLICE_ROWS);
    db.connection.exec('DROP TRIGGER refuse');
    await writer.flush();
    expect(rows()).toBe(n);
    const versions = db.connection.prepare('SELECT state_version FROM decision_log ORDER BY id').pluck().all();
    expect(versions).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('stores every field as given, in push order, whether a row went in a multi-row insert or alone', async () => {
    // 64-row statements plus a remainder written one by one.
    const entries = Array.from({ length: 64 * 2 + 5 }, (_, i): DecisionLogEntry => ({
      ...entry(i),
      decision_tier: i % 3 === 0 ? 'reflex' : 'rule',
      reason: i % 5 === 0 ? null : `reason ${i}`,
      success: i % 4 === 0 ? null : i % 4 === 1,
      outcome: i % 6 === 0 ? 'won' : undefined,
      processing_time_ms: i / 8,
    }));
    for (const e of entries) writer.push(e);
    await writer.flush();
    const stored = db.connection
      .prepare('SELECT session_id, decision_tier, action_type, reason, state_version, processing_time_ms, success, outcome, created_at FROM decision_log ORDER BY id')
      .all();
    expect(stored).toEqual(
      entries.map((e) => ({
        session_id: e.session_id,
        decision_tier: e.decision_tier,
        action_type: e.action_type,
        reason: e.reason,
        state_version: e.state_version,
        processing_time_ms: e.processing_time_ms,
        success: e.success == null ? null : e.success ? 1 : 0,
        outcome: e.outcome ?? null,
        created_at: e.created_at,
      })),
    );
  });
});

describe('DecisionLogWriter when writes fail for lack of space', () => {
  let dir: string;
  let db: StandaloneDatabase;
  let clock: number;
  let guard: StorageGuard;
  let writer: DecisionLogWriter;
  const rows = () => db.connection.prepare('SELECT COUNT(*) FROM decision_log').pluck().get() as number;

  beforeEach(async () => {
    clock = 1_700_000_000_000;
    guard = new StorageGuard({ lowBytes: 0, criticalBytes: 0, now: () => clock });
    ({ dir, db, writer } = await openWriter(guard));
  });
  afterEach(() => closeWriter({ dir, db, writer }));

  /** Rows pushed while there was room to buffer; the flush they start fails with SQLITE_FULL. */
  async function fillUp(n: number): Promise<void> {
    limitPages(db.connection);
    for (let i = 0; i < n; i++) writer.push(entry(i));
    await until(() => writer.stats().failed_slices === 1, 'the first flush to fail for lack of space');
    expect(guard.writesFailing).toBe(true);
    expect(writer.pending).toBe(n);
  }

  it('sheds new rows (counted), backs off instead of retrying every flush, and writes what it kept once, in order, when a probe succeeds', async () => {
    const n = SLICE_ROWS + 10;
    await fillUp(n);
    // Optional rows are dropped while writes fail: counted by the guard, never buffered.
    writer.push(entry(n));
    expect(writer.pending).toBe(n);
    expect(guard.status().shed.decision_log).toBe(1);
    // Inside the pause a flush leaves the database alone.
    const write = jest.spyOn(db.service, 'write');
    await writer.flush();
    await writer.flush();
    expect(write).not.toHaveBeenCalled();
    expect(guard.status().deferred_flushes).toBe(2);
    // The probe at the end of the pause fails: the next pause is twice as long.
    clock += 1_000;
    await writer.flush();
    expect(write).toHaveBeenCalledTimes(1);
    expect(guard.status().background_backoff_ms).toBe(2_000);
    // Room again: the next probe writes everything kept and ends the failing state.
    limitPages(db.connection, null);
    clock += 1_000;
    await writer.flush();
    expect(write).toHaveBeenCalledTimes(1);
    clock += 1_000;
    await writer.flush();
    expect(guard.writesFailing).toBe(false);
    expect(rows()).toBe(n);
    expect(db.connection.prepare('SELECT state_version FROM decision_log ORDER BY id').pluck().all()).toEqual(Array.from({ length: n }, (_, i) => i));
    // And it is an ordinary writer again.
    writer.push(entry(n + 1));
    await writer.flush();
    expect(rows()).toBe(n + 1);
  });

  it('a final flush at shutdown tries even inside the pause', async () => {
    await fillUp(SLICE_ROWS + 3);
    limitPages(db.connection, null);
    await writer.flush();
    expect(rows()).toBe(0);
    await writer.beforeApplicationShutdown();
    expect(rows()).toBe(SLICE_ROWS + 3);
    expect(guard.writesFailing).toBe(false);
  });
});
