/**
 * The global lock hierarchy (docs/architecture.md §2.3, §13.1).
 * A flow may only take a lock whose order is strictly greater than the
 * innermost lock it already holds, which makes lock-order cycles impossible.
 * MACRO and MEMORY share level 7 on purpose: equal levels never nest.
 * EMBEDDING is the engine's own step inside level 7 (not in the spec's table;
 * docs/architecture.md): where each level is taken, or what stands for it.
 */
export enum LockOrder {
  CONFIG = 1,
  SESSION = 2,
  STATE = 3,
  REPUTATION = 4,
  DECISION = 5,
  MODEL = 6,
  MACRO = 7,
  MEMORY = 7,
  /** The embedding generators' permits (docs/architecture.md §11.2): taken under a session's MEMORY lock when its index re-embeds stale rows; nothing is taken under it. */
  EMBEDDING = 7.5,
  METRICS = 8,
  DATABASE = 9,
  NETWORK = 10,
}

/** Registry keys of the standard locks (one per hierarchy level). */
export const LockName = {
  CONFIG: 'config',
  SESSION: 'session',
  STATE: 'state',
  REPUTATION: 'reputation',
  DECISION: 'decision',
  MODEL: 'model',
  MACRO: 'macro',
  MEMORY: 'memory',
  METRICS: 'metrics',
  DATABASE: 'database',
  NETWORK: 'network',
} as const;
export type LockName = (typeof LockName)[keyof typeof LockName];

/** Wait bounds of docs/architecture.md §2.4. No wait in this engine is unbounded. */
export const LOCK_TIMEOUTS = {
  default: 5_000,
  critical: 10_000,
  database: 30_000,
} as const;

export type LockKind = 'mutex' | 'rw' | 'semaphore' | 'keyed-mutex' | 'keyed-rw';

export type LockTimeoutClass = keyof typeof LOCK_TIMEOUTS;

export interface LockCatalogEntry {
  readonly order: LockOrder;
  readonly kind: LockKind;
  readonly timeout: LockTimeoutClass;
}

/**
 * Kinds of the standard locks, straight from the table of docs/architecture.md §2.3. Per-session,
 * per-player and per-macro levels are keyed families so that bots never queue
 * behind each other. Levels with variable hold times (macro execution, network
 * I/O) get the critical bound; the database gets its own (docs/architecture.md §2.4).
 */
export const LOCK_CATALOG = {
  config: { order: LockOrder.CONFIG, kind: 'mutex', timeout: 'default' },
  session: { order: LockOrder.SESSION, kind: 'keyed-mutex', timeout: 'default' },
  state: { order: LockOrder.STATE, kind: 'keyed-rw', timeout: 'default' },
  reputation: { order: LockOrder.REPUTATION, kind: 'keyed-mutex', timeout: 'default' },
  decision: { order: LockOrder.DECISION, kind: 'keyed-mutex', timeout: 'default' },
  model: { order: LockOrder.MODEL, kind: 'rw', timeout: 'default' },
  macro: { order: LockOrder.MACRO, kind: 'keyed-rw', timeout: 'critical' },
  memory: { order: LockOrder.MEMORY, kind: 'keyed-rw', timeout: 'default' },
  metrics: { order: LockOrder.METRICS, kind: 'mutex', timeout: 'default' },
  database: { order: LockOrder.DATABASE, kind: 'mutex', timeout: 'database' },
  network: { order: LockOrder.NETWORK, kind: 'mutex', timeout: 'critical' },
} as const satisfies Record<LockName, LockCatalogEntry>;
