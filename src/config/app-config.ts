import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LockOrderMode = 'throw' | 'log';

/** The engine's configuration: read from the environment once at boot, then immutable. */
export interface AppConfig {
  readonly host: string;
  readonly port: number;
  /** 0 disables the second listener. */
  readonly compatPort: number;
  readonly dataDir: string;
  /** The embedded SQLite file under DATA_DIR (used when DATABASE_URL is unset). */
  readonly databasePath: string;
  /** PostgreSQL instead of the embedded SQLite (DATABASE_URL, postgres:// or postgresql://); unset: SQLite. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL: connections of this process's pool (DATABASE_POOL_SIZE). */
  readonly databasePoolSize: number;
  readonly macroDir: string;
  /** Macros: bound on a reload's wait for the running executions of the macros it changes (MACRO write lock). */
  readonly macroReloadTimeoutMs: number;
  /** Macros: quiet time after the last file event before a file is read (a file written in chunks is read once). */
  readonly macroDebounceMs: number;
  /** Macros: full rescan of MACRO_DIR (catches dropped events; retries reloads that timed out); 0 disables it. */
  readonly macroRescanIntervalMs: number;
  /** Macros: versions kept per macro in macro_versions. */
  readonly macroVersionsKeep: number;
  /** Macros: bound on each action of an execution, to be delivered to the bot and then acknowledged. */
  readonly macroActionTimeoutMs: number;
  /** Macros: bound on a whole execution. */
  readonly macroExecutionTimeoutMs: number;
  readonly modelDir: string;
  readonly token: string | undefined;
  readonly logLevel: LogLevel;
  /**
   * Requests per second per client address; 0 disables the limit. Off by default on loopback
   * (every bot of a farm on this machine is 127.0.0.1), farm-sized when bound elsewhere.
   */
  readonly rateLimitPerSecond: number;
  /** Requests per second per session (one bot, one character); 0 disables the limit. */
  readonly sessionRateLimitPerSecond: number;
  readonly sessionTtlMs: number;
  /** Cluster: this process's id in session leases (INSTANCE_ID; default generated at each start, unique per process). */
  readonly instanceId: string;
  /** Cluster: the address other instances report for this one (ADVERTISED_URL); unset: http://HOST:PORT once listening. */
  readonly advertisedUrl: string | undefined;
  /** Cluster: a session's lease lasts this long unless renewed (every third of it while the bot is active). */
  readonly sessionLeaseTtlMs: number;
  /**
   * Cluster: lease each session to the instance serving it (SESSION_LEASES=1, on every instance
   * sharing a database). Off by default: one engine alone needs no lease, and a lease costs a
   * write transaction on a bot's first request and after every idle spell longer than the TTL.
   */
  readonly sessionLeases: boolean;
  readonly shutdownTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /**
   * How long an idle keep-alive connection stays open (HTTP_KEEP_ALIVE_TIMEOUT_MS; announced to
   * clients as `Keep-Alive: timeout=`). Long, so that a client never reuses one the engine has
   * closed (src/common/http/keep-alive.ts).
   */
  readonly keepAliveTimeoutMs: number;
  readonly sessionQueueDepth: number;
  readonly maxInFlight: number;
  /** The front door (src/common/http/front-door.ts) takes the per-tick routes off Node's server before Fastify. */
  readonly frontDoor: boolean;
  /** The front door ends its responses in one batch per turn of the event loop (HTTP_BATCH_RESPONSES). */
  readonly batchResponses: boolean;
  /** Nice levels the process's other threads run below the event loop's (BACKGROUND_THREAD_NICE); 0 = equal. */
  readonly backgroundThreadNice: number;
  /** Routes run by the composed executor (src/common/http/route-executor.ts) where it can; off: Nest's for every route. */
  readonly fastRoutes: boolean;
  readonly lockOrderMode: LockOrderMode;
  readonly lockDebug: boolean;
  /** A lock held longer than this is reported (admin locks report) and makes readiness 503 while it is held. */
  readonly lockLongHoldMs: number;
  /** Readiness: 503 while the worst event-loop delay over the last HEALTH_LOOP_DELAY_WINDOW_MS is above this (0: not checked). */
  readonly healthLoopDelayMaxMs: number;
  readonly healthLoopDelayWindowMs: number;
  readonly metricsPublic: boolean;
  /** Metrics: entries of the recording ring (power of two); beyond it per flush, the oldest are overwritten and counted. */
  readonly metricsRingCapacity: number;
  /** Metrics: the ring is drained into the summaries this often. */
  readonly metricsFlushIntervalMs: number;
  /** Metrics: the sliding window of the summaries (count, mean, percentiles...). */
  readonly metricsWindowSeconds: number;
  /** Metrics: a rollup per active series is written to `metrics` this often. */
  readonly metricsRollupIntervalMs: number;
  /** Metrics: rollups older than this are deleted (0: kept forever). */
  readonly metricsRetentionDays: number;
  /** Metrics: distinct series (name + labels) kept in memory. */
  readonly metricsMaxSeries: number;
  /** Rule tier rules (JSON); absent file = built-in rules. */
  readonly rulesFile: string;
  /** The data tables (stat builds, skill plans, healing and junk items, jobs): JSON files, read at boot and on config reload. */
  readonly tablesDir: string;
  /** The ML tier's answer is used only at or above this confidence. */
  readonly mlConfidence: number;
  /** How long a queued action stays deliverable. */
  readonly actionTtlMs: number;
  readonly actionQueueSize: number;
  /** ML: bound on a promotion's wait for the inferences in flight (MODEL write lock). */
  readonly mlPromoteTimeoutMs: number;
  /** ML: training samples held in memory; beyond it new samples are dropped and counted. */
  readonly mlBufferCapacity: number;
  /** ML: most training samples per write transaction. */
  readonly mlFlushBatchSize: number;
  /** ML: the training buffer is flushed this often (0: only when half full and at shutdown). */
  readonly mlFlushIntervalMs: number;
  /** ML: after training, promote when the new model is better on the validation split, always, or never. */
  readonly mlAutoPromote: 'better' | 'always' | 'never';
  /** ML: training refuses (422) with fewer usable samples. */
  readonly mlTrainMinSamples: number;
  /** ML: training uses at most this many most recent samples. */
  readonly mlTrainMaxSamples: number;
  /** ML: a training run taking longer is stopped. */
  readonly mlTrainTimeoutMs: number;
  /** Memory: embedding provider (vector space) of new memories. */
  readonly memoryEmbeddingProvider: 'hashing';
  /** Memory: embedding generations running at once (a semaphore). */
  readonly memoryEmbeddingConcurrency: number;
  /** Memory: embeddings kept in the LRU cache (0 disables it). */
  readonly memoryEmbeddingCacheSize: number;
  /** Memory: most memories per session (~2 KiB of RAM each while the session is active). */
  readonly memoryMaxPerSession: number;
  /** Memory: bound on the canonical JSON of one event or game state (bytes). */
  readonly memoryMaxEventBytes: number;
  /** Memory: background consolidation period (0: only on request). */
  readonly memoryConsolidateIntervalMs: number;
  /** Memory: cosine similarity at or above which two memories of one type merge (0..1). */
  readonly memoryMergeSimilarity: number;
  /** Memory: half-life of the importance of low-importance memories. */
  readonly memoryDecayHalfLifeMs: number;
  /** Memory: period of the batched access-count writes. */
  readonly memoryAccessFlushMs: number;
  /** PDCA: a scheduled cycle is triggered this often (0: manual triggers only). */
  readonly pdcaIntervalMs: number;
  /** PDCA: how long a deployed strategy runs before CHECK (the wait is interruptible). */
  readonly pdcaExecutionPeriodMs: number;
  /** PDCA: lease of the cross-process `pdca_running` flag (renewed every third of it); a dead holder blocks new cycles this long. */
  readonly pdcaLeaseTtlMs: number;
  /** PDCA: OpenAI-compatible chat API base URL (…/v1) or full …/chat/completions URL; unset: built-in planner only. */
  readonly pdcaLlmUrl: string | undefined;
  readonly pdcaLlmApiKey: string | undefined;
  readonly pdcaLlmModel: string;
  /** PDCA: connections of the planner's outbound pool. */
  readonly pdcaLlmMaxConnections: number;
  /** PDCA: bound on the wait for a pooled connection (0: only if one is free now). */
  readonly pdcaLlmAcquireTimeoutMs: number;
  /** PDCA: bound on one LLM request (then the built-in planner answers). */
  readonly pdcaLlmTimeoutMs: number;
  /** Boot: rounds of the hot path run on throwaway state before the engine listens (0: none). */
  readonly warmupRounds: number;
  /** Boot: requests a rehearsal engine on throwaway data is driven with over HTTP before this one is created (0: none). */
  readonly warmupHttpRequests: number;
  /** Console: event streams open at once (one per open console page); 0: the page polls instead. */
  readonly consoleMaxStreams: number;
  /** Console: how often the decision charts are sampled and the open consoles are updated. */
  readonly consoleIntervalMs: number;
  /** Retention: decision_log rows older than this are deleted (0: kept forever). */
  readonly retentionDecisionLogMs: number;
  /** Retention: and beyond this many rows, the oldest are deleted (0: no cap). */
  readonly retentionDecisionLogRows: number;
  /** Retention: training_data keeps the newest this many usable (successful) samples and every row after the oldest of them (0: keeps all). */
  readonly retentionTrainingRows: number;
  /** Retention: and, beyond those, the newest this many rows labelled by action feedback. */
  readonly retentionTrainingFeedbackRows: number;
  /** Retention: interaction_history rows older than this are deleted, except each player's newest `retentionInteractionsKeep` (0: kept forever). */
  readonly retentionInteractionsMs: number;
  readonly retentionInteractionsKeep: number;
  /** Retention: the snapshot of a session expired longer ago than this is deleted (0: kept forever). */
  readonly retentionSnapshotsMs: number;
  /** Retention: finished PDCA cycles older than this are deleted (running ones never; 0: only the count bound). */
  readonly retentionPdcaMs: number;
  /** Retention: how often the prune job runs. */
  readonly retentionPruneIntervalMs: number;
  /** Retention: most rows one prune transaction deletes. */
  readonly retentionBatchRows: number;
  /** Retention: rest between two prune (and vacuum) transactions, ms (0: one turn of the event loop). */
  readonly retentionBatchPauseMs: number;
  /** Storage: under this much free space on DATA_DIR's file system health is degraded (0: never). */
  readonly storageLowDiskBytes: number;
  /** Storage: under this much, optional writes (decision log, training samples) are shed (0: never). */
  readonly storageCriticalDiskBytes: number;
  /** Storage: how often free space is read (0: never). */
  readonly storageCheckIntervalMs: number;
  /** Storage: a database made without incremental auto-vacuum is converted at boot (one VACUUM) up to this size. */
  readonly storageBootVacuumMaxBytes: number;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`Invalid configuration: ${variable} ${reason}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toLowerCase() as T;
  if (!allowed.includes(value)) throw new ConfigError(name, `must be one of ${allowed.join('|')}, got "${raw}"`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `must be a boolean (1/0/true/false), got "${raw}"`);
}

/** DATABASE_URL: a PostgreSQL connection URL, or unset (the embedded SQLite). */
function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  const reason = 'must be a PostgreSQL URL (postgres://user:password@host:5432/database or postgresql://…), or unset for the embedded SQLite';
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    // Never echo the value: it may hold a password.
    throw new ConfigError('DATABASE_URL', reason);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError('DATABASE_URL', `${reason}; got a ${url.protocol.replace(/:$/, '')}:// URL`);
  if (url.hostname === '' && !url.searchParams.has('host')) throw new ConfigError('DATABASE_URL', `${reason}; the URL names no host`);
  return raw.trim();
}

function httpUrl(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  return url.toString();
}

/**
 * A bot ticks at most 20 times a second (the field plugin decides every 2 s); five times that
 * is only reached by a bot stuck in a loop, which is what the per-session limit is for.
 */
export const DEFAULT_SESSION_RATE_LIMIT_RPS = 100;
/** Beyond loopback: 100 bots behind one address at 20 ticks/s. */
export const DEFAULT_ADDRESS_RATE_LIMIT_RPS = 2_000;
/**
 * What Fastify gives a server it creates itself (the engine passes its own server, which had
 * Node's 5 s): well past what clients and load balancers hold an idle connection for.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 72_000;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration with its unit (`500ms`, `90s`, `2m`, `12h`, `7d`), or `0`; in ms. */
function duration(env: Env, name: string, fallbackMs: number, minMs: number, maxMs: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallbackMs;
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim().toLowerCase());
  if (!m || (m[2] === undefined && m[1] !== '0')) throw new ConfigError(name, `must be a duration like 90s, 30m, 12h or 7d (or 0), got "${raw}"`);
  const value = Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms'];
  if (value !== 0 && (value < minMs || value > maxMs)) throw new ConfigError(name, `must be 0 or between ${minMs} ms and ${maxMs} ms, got "${raw}"`);
  return value;
}

/**
 * INSTANCE_ID, else `<hostname>:<PORT>`: no two live processes listen on one port of one host,
 * and an engine restarted after a crash is the same instance again — it takes its own leases
 * back at once (new token, state from the database) instead of waiting for them to expire.
 * With PORT=0 (a port chosen at listen), `<hostname>-<pid>-<random>`.
 */
function instanceId(env: Env, port: number): string {
  const raw = env.INSTANCE_ID;
  if (raw === undefined || raw.trim() === '') {
    const host = os.hostname().slice(0, 40);
    return port !== 0 ? `${host}:${port}` : `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
  }
  const id = raw.trim();
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(id)) throw new ConfigError('INSTANCE_ID', `must be 1-64 characters of A-Z a-z 0-9 . _ : -, got "${raw}"`);
  return id;
}

const MB = 1024 * 1024;
const DAY_MS = 86_400_000;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Validates the environment into an AppConfig; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): AppConfig {
  const host = str(env, 'HOST', '127.0.0.1');
  const port = int(env, 'PORT', 9901, 0, 65535);
  const compatPort = int(env, 'COMPAT_PORT', 9902, 0, 65535);
  if (compatPort !== 0 && compatPort === port && port !== 0) {
    throw new ConfigError('COMPAT_PORT', `must differ from PORT (${port}); use 0 to disable it`);
  }
  const dataDir = path.resolve(str(env, 'DATA_DIR', './data'));
  const tokenRaw = env.OPENKORE_AI_TOKEN;
  const token = tokenRaw === undefined || tokenRaw === '' ? undefined : tokenRaw;
  if (token !== undefined && (token.length < 16 || /\s/.test(token))) {
    throw new ConfigError('OPENKORE_AI_TOKEN', 'must be at least 16 characters with no white space');
  }
  if (!isLoopback(host) && token === undefined) {
    throw new ConfigError(
      'HOST',
      `is "${host}", which is not loopback: refusing to listen beyond loopback without OPENKORE_AI_TOKEN`,
    );
  }
  const production = (env.NODE_ENV ?? '').toLowerCase() === 'production';
  const mlTrainMaxSamples = int(env, 'ML_TRAIN_MAX_SAMPLES', 200_000, 1, 10_000_000);
  // The trainer's newest samples plus a quarter: a run asking a little more still finds them.
  const trainingRows = int(env, 'RETENTION_TRAINING_ROWS', Math.ceil(mlTrainMaxSamples * 1.25), 0, 100_000_000);
  if (trainingRows !== 0 && trainingRows < mlTrainMaxSamples) {
    throw new ConfigError('RETENTION_TRAINING_ROWS', `must be 0 or at least ML_TRAIN_MAX_SAMPLES (${mlTrainMaxSamples}): training would lose samples it reads, got ${trainingRows}`);
  }
  const lowDiskMb = int(env, 'STORAGE_LOW_DISK_MB', 1_024, 0, 16 * 1_048_576);
  const criticalDiskMb = int(env, 'STORAGE_CRITICAL_DISK_MB', 256, 0, 16 * 1_048_576);
  if (criticalDiskMb > lowDiskMb) throw new ConfigError('STORAGE_CRITICAL_DISK_MB', `must not exceed STORAGE_LOW_DISK_MB (${lowDiskMb}), got ${criticalDiskMb}`);
  return Object.freeze({
    host,
    port,
    compatPort,
    dataDir,
    databasePath: path.join(dataDir, 'openkore-ai.db'),
    databaseUrl: databaseUrl(env),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 1_000),
    macroDir: path.resolve(str(env, 'MACRO_DIR', './control/macros')),
    macroReloadTimeoutMs: int(env, 'MACRO_RELOAD_TIMEOUT_MS', 30_000, 1, 600_000),
    macroDebounceMs: int(env, 'MACRO_DEBOUNCE_MS', 200, 0, 60_000),
    macroRescanIntervalMs: int(env, 'MACRO_RESCAN_INTERVAL_MS', 30_000, 0, 3_600_000),
    macroVersionsKeep: int(env, 'MACRO_VERSIONS_KEEP', 10, 1, 1_000),
    macroActionTimeoutMs: int(env, 'MACRO_ACTION_TIMEOUT_MS', 15_000, 100, 600_000),
    macroExecutionTimeoutMs: int(env, 'MACRO_EXECUTION_TIMEOUT_MS', 600_000, 1_000, 24 * 3_600_000),
    modelDir: path.resolve(str(env, 'MODEL_DIR', './models')),
    token,
    logLevel: oneOf<LogLevel>(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    rateLimitPerSecond: int(env, 'RATE_LIMIT_RPS', isLoopback(host) ? 0 : DEFAULT_ADDRESS_RATE_LIMIT_RPS, 0, 1_000_000),
    sessionRateLimitPerSecond: int(env, 'SESSION_RATE_LIMIT_RPS', DEFAULT_SESSION_RATE_LIMIT_RPS, 0, 1_000_000),
    sessionTtlMs: int(env, 'SESSION_TTL_MS', 30 * 60_000, 1_000, 30 * 24 * 3_600_000),
    instanceId: instanceId(env, port),
    advertisedUrl: httpUrl(env, 'ADVERTISED_URL')?.replace(/\/$/, ''),
    sessionLeaseTtlMs: int(env, 'SESSION_LEASE_TTL_MS', 15_000, 300, 3_600_000),
    sessionLeases: bool(env, 'SESSION_LEASES', false),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    keepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', DEFAULT_KEEP_ALIVE_TIMEOUT_MS, 1_000, 600_000),
    sessionQueueDepth: int(env, 'SESSION_QUEUE_DEPTH', 1000, 1, 1_000_000),
    maxInFlight: int(env, 'MAX_IN_FLIGHT', 100, 1, 100_000),
    frontDoor: bool(env, 'HTTP_FRONT_DOOR', true),
    batchResponses: bool(env, 'HTTP_BATCH_RESPONSES', true),
    backgroundThreadNice: int(env, 'BACKGROUND_THREAD_NICE', 10, 0, 19),
    fastRoutes: bool(env, 'HTTP_FAST_ROUTES', true),
    lockOrderMode: oneOf<LockOrderMode>(env, 'LOCK_ORDER_MODE', production ? 'log' : 'throw', ['throw', 'log']),
    lockDebug: bool(env, 'LOCK_DEBUG', false),
    lockLongHoldMs: int(env, 'LOCK_LONG_HOLD_MS', 10_000, 100, 3_600_000),
    healthLoopDelayMaxMs: int(env, 'HEALTH_LOOP_DELAY_MAX_MS', 1_000, 0, 600_000),
    healthLoopDelayWindowMs: int(env, 'HEALTH_LOOP_DELAY_WINDOW_MS', 10_000, 1_000, 600_000),
    metricsPublic: bool(env, 'METRICS_PUBLIC', false),
    metricsRingCapacity: int(env, 'METRICS_RING_CAPACITY', 65_536, 1_024, 16_777_216),
    metricsFlushIntervalMs: int(env, 'METRICS_FLUSH_INTERVAL_MS', 1_000, 10, 60_000),
    metricsWindowSeconds: int(env, 'METRICS_WINDOW_SECONDS', 60, 1, 3_600),
    metricsRollupIntervalMs: int(env, 'METRICS_ROLLUP_INTERVAL_MS', 60_000, 1_000, 86_400_000),
    metricsRetentionDays: int(env, 'METRICS_RETENTION_DAYS', 7, 0, 3_650),
    metricsMaxSeries: int(env, 'METRICS_MAX_SERIES', 2_000, 16, 1_000_000),
    rulesFile: path.resolve(str(env, 'RULES_FILE', './control/rules.json')),
    tablesDir: path.resolve(str(env, 'TABLES_DIR', './tables')),
    mlConfidence: int(env, 'ML_CONFIDENCE_PCT', 60, 0, 100) / 100,
    actionTtlMs: int(env, 'ACTION_TTL_MS', 2000, 50, 600_000),
    actionQueueSize: int(env, 'ACTION_QUEUE_SIZE', 32, 1, 10_000),
    mlPromoteTimeoutMs: int(env, 'ML_PROMOTE_TIMEOUT_MS', 30_000, 1, 600_000),
    mlBufferCapacity: int(env, 'ML_BUFFER_CAPACITY', 10_000, 2, 10_000_000),
    mlFlushBatchSize: int(env, 'ML_FLUSH_BATCH_SIZE', 64, 1, 100_000),
    mlFlushIntervalMs: int(env, 'ML_FLUSH_INTERVAL_MS', 5_000, 0, 3_600_000),
    mlAutoPromote: oneOf<'better' | 'always' | 'never'>(env, 'ML_AUTO_PROMOTE', 'better', ['better', 'always', 'never']),
    mlTrainMinSamples: int(env, 'ML_TRAIN_MIN_SAMPLES', 50, 1, 10_000_000),
    mlTrainMaxSamples,
    mlTrainTimeoutMs: int(env, 'ML_TRAIN_TIMEOUT_MS', 600_000, 1_000, 24 * 3_600_000),
    memoryEmbeddingProvider: oneOf<'hashing'>(env, 'MEMORY_EMBEDDING_PROVIDER', 'hashing', ['hashing']),
    memoryEmbeddingConcurrency: int(env, 'MEMORY_EMBEDDING_CONCURRENCY', 5, 1, 256),
    memoryEmbeddingCacheSize: int(env, 'MEMORY_EMBEDDING_CACHE_SIZE', 1_000, 0, 1_000_000),
    memoryMaxPerSession: int(env, 'MEMORY_MAX_PER_SESSION', 100_000, 10, 1_000_000),
    memoryMaxEventBytes: int(env, 'MEMORY_MAX_EVENT_BYTES', 16_384, 256, 262_144),
    memoryConsolidateIntervalMs: int(env, 'MEMORY_CONSOLIDATE_INTERVAL_MS', 600_000, 0, 7 * 24 * 3_600_000),
    memoryMergeSimilarity: int(env, 'MEMORY_MERGE_SIMILARITY_PCT', 97, 50, 100) / 100,
    memoryDecayHalfLifeMs: int(env, 'MEMORY_DECAY_HALF_LIFE_MS', 7 * 24 * 3_600_000, 60_000, 3_650 * 24 * 3_600_000),
    memoryAccessFlushMs: int(env, 'MEMORY_ACCESS_FLUSH_MS', 5_000, 100, 600_000),
    pdcaIntervalMs: int(env, 'PDCA_INTERVAL_MS', 30 * 60_000, 0, 7 * 24 * 3_600_000),
    pdcaExecutionPeriodMs: int(env, 'PDCA_EXECUTION_PERIOD_MS', 300_000, 10, 24 * 3_600_000),
    pdcaLeaseTtlMs: int(env, 'PDCA_LEASE_TTL_MS', 30_000, 100, 3_600_000),
    pdcaLlmUrl: httpUrl(env, 'PDCA_LLM_URL'),
    pdcaLlmApiKey: env.PDCA_LLM_API_KEY === undefined || env.PDCA_LLM_API_KEY.trim() === '' ? undefined : env.PDCA_LLM_API_KEY.trim(),
    pdcaLlmModel: str(env, 'PDCA_LLM_MODEL', 'gpt-4o-mini'),
    pdcaLlmMaxConnections: int(env, 'PDCA_LLM_MAX_CONNECTIONS', 2, 1, 64),
    pdcaLlmAcquireTimeoutMs: int(env, 'PDCA_LLM_ACQUIRE_TIMEOUT_MS', 1_000, 0, 60_000),
    pdcaLlmTimeoutMs: int(env, 'PDCA_LLM_TIMEOUT_MS', 7_000, 100, 120_000),
    warmupRounds: int(env, 'WARMUP_ROUNDS', 2_000, 0, 100_000),
    warmupHttpRequests: int(env, 'WARMUP_HTTP_REQUESTS', 2_000, 0, 100_000),
    consoleMaxStreams: int(env, 'CONSOLE_MAX_STREAMS', 8, 0, 1_000),
    consoleIntervalMs: int(env, 'CONSOLE_INTERVAL_MS', 2_000, 250, 60_000),
    retentionDecisionLogMs: duration(env, 'RETENTION_DECISION_LOG', 7 * DAY_MS, 1_000, 3_650 * DAY_MS),
    retentionDecisionLogRows: int(env, 'RETENTION_DECISION_LOG_ROWS', 20_000_000, 0, 2_000_000_000),
    retentionTrainingRows: trainingRows,
    retentionTrainingFeedbackRows: int(env, 'RETENTION_TRAINING_FEEDBACK_ROWS', trainingRows, 0, 100_000_000),
    retentionInteractionsMs: duration(env, 'RETENTION_INTERACTIONS', 30 * DAY_MS, 1_000, 3_650 * DAY_MS),
    retentionInteractionsKeep: int(env, 'RETENTION_INTERACTIONS_KEEP', 100, 0, 1_000_000),
    retentionSnapshotsMs: duration(env, 'RETENTION_SNAPSHOTS', 7 * DAY_MS, 1_000, 3_650 * DAY_MS),
    retentionPdcaMs: duration(env, 'RETENTION_PDCA', 90 * DAY_MS, 1_000, 3_650 * DAY_MS),
    retentionPruneIntervalMs: duration(env, 'RETENTION_PRUNE_INTERVAL', 10 * 60_000, 1_000, DAY_MS),
    retentionBatchRows: int(env, 'RETENTION_BATCH_ROWS', 500, 10, 100_000),
    // At most 1 s: shutdown waits for a running prune's rest before it stops it.
    retentionBatchPauseMs: int(env, 'RETENTION_BATCH_PAUSE_MS', 10, 0, 1_000),
    storageLowDiskBytes: lowDiskMb * MB,
    storageCriticalDiskBytes: criticalDiskMb * MB,
    storageCheckIntervalMs: int(env, 'STORAGE_CHECK_INTERVAL_MS', 10_000, 0, 3_600_000),
    storageBootVacuumMaxBytes: int(env, 'STORAGE_BOOT_VACUUM_MAX_MB', 512, 0, 16 * 1_048_576) * MB,
  });
}
