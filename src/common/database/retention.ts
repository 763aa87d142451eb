import { Injectable } from '@nestjs/common';
import { restFor } from '../async/wait';
import type { DatabaseService, SqlParams, WriteBody } from './database.service';
import type { TableName } from './table-order';

/**
 * Retention: each module says how long its rows live by registering a policy for the tables it
 * owns; the storage module's prune job runs them. A policy deletes in batches — each batch one
 * short write transaction of at most `batchRows` rows, with a rest before it — so a prune never
 * holds the database (or the requests waiting behind it) for long, never runs inside a request,
 * and reaches the disk as a trickle beside the farm's writes, not a burst (docs/architecture.md §5.1).
 */
export interface PruneContext {
  /** The run's clock (epoch ms): every cut-off of one run is taken from it. */
  readonly now: number;
  /** Most rows one batch may delete. */
  readonly batchRows: number;
  /**
   * One batch: rests (`pauseMs`), then runs `body` as one write transaction and
   * resolves with what it returns (the rows it deleted). Rejects with PruneStoppedError once the
   * job is stopping (shutdown): a policy just lets that propagate.
   */
  batch(body: WriteBody<number>): Promise<number>;
  get<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T | undefined>;
  all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]>;
  /** A turn of the event loop between long read-only steps (rejects the same way once stopping). */
  pause(): Promise<void>;
}

export interface PruneOutcome {
  deleted: number;
  /** Why the policy did not prune (or stopped early) this run, e.g. a training run reads the table. */
  held?: string;
}

export interface RetentionPolicy {
  readonly table: TableName;
  /** The rule in words with its settings, for GET /api/v1/admin/storage and the README. */
  describe(): string;
  /** Deletes what the rule allows, in batches through `ctx`. Absent: the owner bounds the table itself. */
  prune?(ctx: PruneContext): Promise<PruneOutcome>;
  /** Epoch ms of the oldest row, read cheaply (an index or the first rowid); null when empty. */
  oldestRowAt?(ctx: Pick<PruneContext, 'get'>): Promise<number | null>;
}

export class PruneStoppedError extends Error {
  constructor() {
    super('the prune job is stopping');
    this.name = 'PruneStoppedError';
  }
}

/** Where modules register their tables' retention (global: any module can inject it). */
@Injectable()
export class RetentionRegistry {
  private readonly byTable = new Map<TableName, RetentionPolicy>();

  register(policy: RetentionPolicy): void {
    if (this.byTable.has(policy.table)) throw new Error(`a retention policy for ${policy.table} is already registered`);
    this.byTable.set(policy.table, policy);
  }

  policies(): RetentionPolicy[] {
    return [...this.byTable.values()];
  }

  get(table: TableName): RetentionPolicy | undefined {
    return this.byTable.get(table);
  }
}

/**
 * Deletes rows whose `timeColumn` is before `cutoff` from an append-mostly table with a growing
 * integer `id`, oldest first: each batch is the next `batchRows` ids from the lowest, deleted if
 * old. Ids grow with insertion time, so the walk stops at the first row that is young enough: it
 * reads a handful of rows, never scans the table. (A row written out of time order waits behind
 * a younger one at most as long as a flush delays it.)
 */
export async function pruneOldestFirst(ctx: PruneContext, table: string, timeColumn: string, cutoff: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const first = await ctx.get<{ id: number; t: number }>(`SELECT id, ${timeColumn} AS t FROM ${table} ORDER BY id LIMIT 1`);
    if (!first || Number(first.t) >= cutoff) return deleted;
    const last = await ctx.get<{ id: number }>(`SELECT id FROM ${table} WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?`, [first.id, ctx.batchRows - 1]);
    const hi = last ? last.id : Number.MAX_SAFE_INTEGER;
    const n = await ctx.batch(async (tx) => (await tx.run(`DELETE FROM ${table} WHERE id >= ? AND id <= ? AND ${timeColumn} < ?`, [first.id, hi, cutoff])).changes);
    deleted += n;
    // Nothing deleted although the first row was old: another process got there first; next run.
    if (n === 0) return deleted;
  }
}

/**
 * Deletes the rows of a table with a growing integer `id` whose id is below `bound`, lowest
 * first, `batchRows` ids per batch.
 */
export async function pruneBelowId(ctx: PruneContext, table: string, bound: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const first = await ctx.get<{ id: number }>(`SELECT id FROM ${table} ORDER BY id LIMIT 1`);
    if (!first || first.id >= bound) return deleted;
    const last = await ctx.get<{ id: number }>(`SELECT id FROM ${table} WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?`, [first.id, ctx.batchRows - 1]);
    const hi = Math.min(last ? last.id : bound - 1, bound - 1);
    const n = await ctx.batch(async (tx) => (await tx.run(`DELETE FROM ${table} WHERE id >= ? AND id <= ?`, [first.id, hi])).changes);
    deleted += n;
    if (n === 0) return deleted;
  }
}

/**
 * The id of the `n`-th newest row matching `where` (n ≥ 1), or undefined when there are fewer.
 * Walked down from the newest in steps of `step` rows with a turn of the event loop between, so
 * finding the 250,000th row never blocks the loop for the whole scan.
 */
export async function nthNewestId(ctx: PruneContext, table: string, where: string, n: number, step = 5_000): Promise<number | undefined> {
  let below = Number.MAX_SAFE_INTEGER;
  let left = n;
  for (;;) {
    const take = Math.min(step, left);
    const row = await ctx.get<{ id: number }>(`SELECT id FROM ${table} WHERE (${where}) AND id < ? ORDER BY id DESC LIMIT 1 OFFSET ?`, [below, take - 1]);
    if (!row) return undefined;
    left -= take;
    if (left === 0) return row.id;
    below = row.id;
    await ctx.pause();
  }
}

export interface PruneContextOptions {
  now: number;
  batchRows: number;
  /** True once the job must stop (shutdown): the next batch or pause rejects with PruneStoppedError. */
  stopping: () => boolean;
  /** For the transaction's label. */
  table: string;
  /** Each committed batch: rows deleted and the transaction's time on the event loop. */
  onBatch?: (rows: number, ms: number) => void;
  /** Rest before each batch, ms (0 or absent: one turn of the event loop). */
  pauseMs?: number;
}

/** The context a policy prunes through: reads on the connection, batches as write transactions. */
export function createPruneContext(db: DatabaseService, o: PruneContextOptions): PruneContext {
  const rest = async (ms: number) => {
    if (o.stopping()) throw new PruneStoppedError();
    await restFor(ms);
    if (o.stopping()) throw new PruneStoppedError();
  };
  const pause = () => rest(0);
  return {
    now: o.now,
    batchRows: o.batchRows,
    get: (sql, params) => db.get(sql, params),
    all: (sql, params) => db.all(sql, params),
    pause,
    batch: async (body) => {
      await rest(o.pauseMs ?? 0);
      const started = performance.now();
      const rows = await db.write(body, { label: `retention.${o.table}` });
      o.onBatch?.(rows, performance.now() - started);
      return rows;
    },
  };
}

const UNITS: ReadonlyArray<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** `7d`, `36h`, `2m`, `90s`, `1500ms`: the largest unit that divides the duration. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
