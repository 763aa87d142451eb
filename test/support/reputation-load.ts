import Database from 'better-sqlite3';
import { engineReport, request, spawnEngine, type SpawnedEngine } from './engine';
import type { EngineDatabase } from './engine-database';

export interface Adjustment {
  player_id: number;
  player_name: string;
  delta: number;
  reason: string;
  request_id: string;
}

/** The client's side of a connection that failed (undici's SocketError), to match against the engine's logs. */
export interface FailedConnection {
  localPort?: number;
  bytesWritten?: number;
  bytesRead?: number;
}

export interface LoadFailure {
  adjustment: Adjustment;
  status: number | 'network';
  body: unknown;
  /** Milliseconds from the start of the load to the failure. */
  atMs?: number;
  /** Network failures: the connection the request went out on, as the client saw it. */
  connection?: FailedConnection;
}

export interface LoadResult {
  acked: Adjustment[];
  failed: LoadFailure[];
  /** Sends whose connection failed before an answer, each followed by a resend (`attempts` > 1). */
  resent: number;
  /** Acknowledgements the engine answered as a replay of an earlier send of the same request_id. */
  replayed: number;
  /** Connection failures by cause. */
  networkErrors: Map<string, number>;
}

/**
 * Posts `items` to /social/reputation/adjust with at most `concurrency` requests in flight.
 * `attempts`: sends of one adjustment whose connection fails before an answer (same request_id,
 * as a bot resends: the engine replays, never applies twice); default 1.
 * `stopOnNetworkError`: a worker stops at its first connection failure (the engine died).
 */
export async function driveAdjustments(
  baseUrl: string,
  items: Adjustment[],
  concurrency: number,
  options: { attempts?: number; stopOnNetworkError?: boolean; onAck?: (a: Adjustment) => void } = {},
): Promise<LoadResult> {
  const attempts = options.attempts ?? 1;
  const result: LoadResult = { acked: [], failed: [], resent: 0, replayed: 0, networkErrors: new Map() };
  let next = 0;
  let stop = false;
  const startedAt = performance.now();
  const elapsed = () => Math.round(performance.now() - startedAt);
  const worker = async () => {
    while (!stop && next < items.length) {
      const adjustment = items[next++];
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await request(`${baseUrl}/api/v1/social/reputation/adjust`, { body: adjustment });
          if (res.status === 200) {
            result.acked.push(adjustment);
            if (res.body.data?.replayed) result.replayed++;
            options.onAck?.(adjustment);
          } else {
            result.failed.push({ adjustment, status: res.status, body: res.body, atMs: elapsed() });
          }
          break;
        } catch (err) {
          const cause = (err as { cause?: { code?: string; message?: string; socket?: FailedConnection } }).cause;
          const what = `${cause?.code ?? 'network'}: ${cause?.message ?? String(err)}`;
          result.networkErrors.set(what, (result.networkErrors.get(what) ?? 0) + 1);
          if (attempt < attempts) {
            result.resent++;
            continue;
          }
          const connection = cause?.socket ? { localPort: cause.socket.localPort, bytesWritten: cause.socket.bytesWritten, bytesRead: cause.socket.bytesRead } : undefined;
          result.failed.push({ adjustment, status: 'network', body: what, atMs: elapsed(), ...(connection ? { connection } : {}) });
          if (options.stopOnNetworkError) return;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  stop = true;
  return result;
}

/**
 * Starts `count` engine processes on one data folder, pushing each into `engines` as it comes up
 * (so the caller's cleanup stops every one that started): the first runs the migrations on the
 * fresh file, the others then start together and find the schema current.
 */
export async function spawnEnginesOnOneFile(engines: SpawnedEngine[], count: number, env: Readonly<Record<string, string>>): Promise<void> {
  engines.push(await spawnEngine(env));
  await Promise.all(Array.from({ length: count - 1 }, async () => engines.push(await spawnEngine(env))));
}

/**
 * One stream of adjustments of `player` per process: per stream `plus` × +1 and `minus` × -1 among
 * zeros, the signs interleaved (so +1s and -1s race each other across processes). With
 * plus ≤ 99 / processes and minus ≤ 100 / processes the running score stays inside [-100, 100]
 * whatever the interleaving, so no clamp can hide a lost update: the final score must be exactly
 * the sum, the totals exactly the counts.
 */
export function contendedPlan(o: { processes: number; perProcess: number; plus: number; minus: number; player: number; idPrefix: string }): Adjustment[][] {
  return Array.from({ length: o.processes }, (_, p) =>
    Array.from({ length: o.perProcess }, (_unused, i): Adjustment => ({
      player_id: o.player,
      player_name: 'Contended',
      delta: i < o.plus ? 1 : i < o.plus + o.minus ? -1 : 0,
      reason: `process ${p} adjustment ${i}`,
      request_id: `${o.idPrefix}-${p}-${i}`,
    })).sort((x, y) => fnv1a(x.request_id) - fnv1a(y.request_id)),
  );
}

function fnv1a(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface HistoryCheck {
  rows: number;
  distinctRequestIds: number;
  requestIds: Set<string>;
  /** Every row's score_before equals the previous row's score_after (the changes form one serial chain). */
  chained: boolean;
  sumApplied: number;
  lastScore: number | null;
  player: { reputation_score: number; total_interactions: number; positive_interactions: number; negative_interactions: number } | undefined;
  integrity: string;
}

type HistoryRow = { request_id: string | null; score_before: number; score_after: number; applied_delta: number };
const HISTORY_SQL = 'SELECT request_id, score_before, score_after, applied_delta FROM interaction_history WHERE player_id = ? ORDER BY id';
const PLAYER_SQL = 'SELECT reputation_score, total_interactions, positive_interactions, negative_interactions FROM player_reputation WHERE player_id = ?';

function historyCheck(rows: HistoryRow[], player: HistoryCheck['player'], integrity: string): HistoryCheck {
  let chained = true;
  let prev = 0;
  for (const r of rows) {
    if (r.score_before !== prev) chained = false;
    prev = r.score_after;
  }
  return {
    rows: rows.length,
    distinctRequestIds: new Set(rows.map((r) => r.request_id)).size,
    requestIds: new Set(rows.map((r) => r.request_id ?? '')),
    chained,
    sumApplied: rows.reduce((s, r) => s + r.applied_delta, 0),
    lastScore: rows.length ? rows[rows.length - 1].score_after : null,
    player,
    integrity,
  };
}

/** Reads the database file directly (read-only, WAL: safe beside running engines). */
export function inspectPlayer(dbFile: string, playerId: number): HistoryCheck {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db.prepare(HISTORY_SQL).all(playerId) as HistoryRow[];
    return historyCheck(rows, db.prepare(PLAYER_SQL).get(playerId) as HistoryCheck['player'], db.pragma('integrity_check', { simple: true }) as string);
  } finally {
    db.close();
  }
}

/**
 * The same on either dialect. `integrity` is SQLite's integrity_check on SQLite; PostgreSQL has
 * no such file-level check (its pages are the server's), so it is 'ok' there by definition.
 */
export async function inspectPlayerIn(db: EngineDatabase, playerId: number): Promise<HistoryCheck> {
  const rows = await db.query<HistoryRow>(HISTORY_SQL, [playerId]);
  const [player] = await db.query<NonNullable<HistoryCheck['player']>>(PLAYER_SQL, [playerId]);
  const integrity = db.dialect === 'sqlite' ? String(Object.values((await db.query('PRAGMA integrity_check'))[0])[0]) : 'ok';
  return historyCheck(rows, player, integrity);
}

/**
 * When a load (`results[i]` against `engines[i]`) had requests fail on the connection, writes what
 * each engine process it touched had to say to stderr: whether it still runs (or its exit code or
 * signal) and its last log lines. Nothing is kept otherwise, and a connection the engine closed
 * under a request is only diagnosable from both sides (the failures carry the client's port).
 */
export function reportNetworkFailures(engines: ReadonlyArray<{ url: string } | SpawnedEngine>, results: readonly LoadResult[]): void {
  const reports: string[] = [];
  results.forEach((r, i) => {
    const network = r.failed.filter((f) => f.status === 'network');
    if (network.length === 0) return;
    const engine = engines[i];
    const head = `${network.length} request(s) to ${engine?.url ?? `engine ${i}`} failed on the connection: ${JSON.stringify(network.map((f) => ({ request_id: f.adjustment.request_id, atMs: f.atMs, error: f.body, connection: f.connection })))}`;
    reports.push(engine && 'proc' in engine ? `${head}\n${engineReport(engine)}` : head);
  });
  if (reports.length > 0) process.stderr.write(`network failures under load:\n${reports.join('\n')}\n`);
}

/**
 * What a contended plan must leave, on either dialect: every adjustment acknowledged once, every
 * engine reading the exact score and totals, and in the database one history row per request id,
 * one serial chain whose sum is the score. Returns the inspection for suite-specific checks.
 */
export async function expectPlanLanded(
  engines: ReadonlyArray<{ url: string } | SpawnedEngine>,
  db: EngineDatabase,
  plan: Adjustment[][],
  results: LoadResult[],
  o: { plus: number; minus: number; player: number },
): Promise<HistoryCheck> {
  reportNetworkFailures(engines, results);
  expect(results.flatMap((r) => r.failed)).toEqual([]);
  expect(results.map((r) => r.acked.length)).toEqual(plan.map((p) => p.length));
  const total = plan.flat().length;
  const sum = plan.length * (o.plus - o.minus);
  const totals = { reputation_score: sum, total_interactions: total, positive_interactions: plan.length * o.plus, negative_interactions: plan.length * o.minus };
  for (const e of engines) {
    const got = await request(`${e.url}/api/v1/social/reputation/${o.player}`);
    expect(got.status).toBe(200);
    expect(got.body.data).toMatchObject(totals);
  }
  // Read from the database itself: what the engines committed, not what they answered.
  const check = await inspectPlayerIn(db, o.player);
  expect(check.rows).toBe(total);
  expect(check.distinctRequestIds).toBe(total);
  expect([...check.requestIds].sort()).toEqual(plan.flat().map((a) => a.request_id).sort());
  // The changes form one serial chain: no two transactions ever read the same score.
  expect(check.chained).toBe(true);
  expect(check.sumApplied).toBe(sum);
  expect(check.lastScore).toBe(sum);
  expect(check.player).toMatchObject(totals);
  return check;
}

/**
 * The afterAll of a suite of engine processes on one database: waits for a boot still under way
 * (so an engine that came up after its hook timed out is stopped too), stops every engine with
 * `signal`, then closes the database.
 */
export async function stopEnginesOnOneDatabase(booting: Promise<unknown>, engines: SpawnedEngine[], db: EngineDatabase | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try {
    await booting.catch(() => undefined);
    await Promise.all(engines.map((e) => e.kill(signal)));
  } finally {
    await db?.close();
  }
}
