/**
 * The one global order in which a transaction may write tables (docs/architecture.md §5.4). Two processes that
 * write the same tables in the same order cannot wait on each other in a cycle. A transaction
 * may write a table again, or any table later in this list, never an earlier one.
 */
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
