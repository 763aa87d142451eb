import Database from 'better-sqlite3';
import { request } from './engine';

export interface Adjustment {
  player_id: number;
  player_name: string;
  delta: number;
  reason: string;
  request_id: string;
}

export interface LoadResult {
  acked: Adjustment[];
  failed: Array<{ adjustment: Adjustment; status: number | 'network'; body: unknown }>;
}

/**
 * Posts `items` to /social/reputation/adjust with at most `concurrency` requests in flight.
 * `stopOnNetworkError`: a worker stops at its first connection failure (the engine died).
 */
export async function driveAdjustments(
  baseUrl: string,
  items: Adjustment[],
  concurrency: number,
  options: { stopOnNetworkError?: boolean; onAck?: (a: Adjustment) => void } = {},
): Promise<LoadResult> {
  const result: LoadResult = { acked: [], failed: [] };
  let next = 0;
  let stop = false;
  const worker = async () => {
    while (!stop && next < items.length) {
      const adjustment = items[next++];
      try {
        const res = await request(`${baseUrl}/api/v1/social/reputation/adjust`, { body: adjustment });
        if (res.status === 200) {
          result.acked.push(adjustment);
          options.onAck?.(adjustment);
        } else {
          result.failed.push({ adjustment, status: res.status, body: res.body });
        }
      } catch (err) {
        result.failed.push({ adjustment, status: 'network', body: String(err) });
        if (options.stopOnNetworkError) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  stop = true;
  return result;
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

/** Reads the database file directly (read-only, WAL: safe beside running engines). */
export function inspectPlayer(dbFile: string, playerId: number): HistoryCheck {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const rows = db
      .prepare('SELECT request_id, score_before, score_after, applied_delta FROM interaction_history WHERE player_id = ? ORDER BY id')
      .all(playerId) as Array<{ request_id: string | null; score_before: number; score_after: number; applied_delta: number }>;
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
      player: db
        .prepare('SELECT reputation_score, total_interactions, positive_interactions, negative_interactions FROM player_reputation WHERE player_id = ?')
        .get(playerId) as HistoryCheck['player'],
      integrity: db.pragma('integrity_check', { simple: true }) as string,
    };
  } finally {
    db.close();
  }
}
