/**
 * The one global order in which a transaction may write tables (docs/architecture.md §5.4). Two processes that
 * write the same tables in the same order cannot wait on each other in a cycle. A transaction
 * may write a table again, or any table later in this list, never an earlier one.
 */
import { TableOrderViolationError } from './database.errors';

export const TABLE_WRITE_ORDER = [
  'player_sessions',
  'engine_instances',
  'session_leases',
  'game_state_snapshots',
  'player_reputation',
  'interaction_history',
  'decision_log',
  'memories',
  'training_data',
  'metrics',
  'model_registry',
  'macro_versions',
  'pdca_cycles',
  'process_flags',
] as const;

export type TableName = (typeof TABLE_WRITE_ORDER)[number];

const RANK = new Map<string, number>(TABLE_WRITE_ORDER.map((t, i) => [t, i]));
const WRITE_TARGET = /^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+["`]?(\w+)/i;

/** The table a write statement targets, or undefined for reads and other statements. */
export function writeTarget(sql: string): string | undefined {
  return WRITE_TARGET.exec(sql)?.[1]?.toLowerCase();
}

export function tableRank(table: string): number | undefined {
  return RANK.get(table);
}

/**
 * The order check of one transaction: call it with each write statement before running it;
 * throws TableOrderViolationError for a table earlier in TABLE_WRITE_ORDER than one written
 * before. `rank` gives a statement's rank (the default parses it; callers may cache).
 */
export function writeOrderCheck(rank: (sql: string) => number | undefined = (sql) => rankOf(sql)): (sql: string) => void {
  let lastRank = -1;
  return (sql) => {
    const r = rank(sql);
    if (r === undefined) return;
    if (r < lastRank) throw new TableOrderViolationError(`Transaction wrote ${writeTarget(sql)} after a table that comes later in TABLE_WRITE_ORDER`);
    lastRank = r;
  };
}

/** The TABLE_WRITE_ORDER rank of the table `sql` writes (undefined for reads and unlisted tables). */
export function rankOf(sql: string): number | undefined {
  const table = writeTarget(sql);
  return table === undefined ? undefined : tableRank(table);
}
