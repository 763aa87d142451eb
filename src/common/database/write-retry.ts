import type { Logger } from '@nestjs/common';
import { DatabaseBusyError } from './database.errors';

/** What a failed attempt of a write transaction means for the next one. */
export type AttemptVerdict =
  /** Another writer held a lock (SQLite's write lock, a PostgreSQL row lock, a pool slot): wait and run again. */
  | 'busy'
  /** The server rolled the transaction back to keep it serializable (40001, 40P01): run again. */
  | 'serialization'
  /** Anything else: the error goes to the caller. */
  | 'fail';

export interface RetryCounters {
  busy_retries: number;
  busy_failures: number;
  busy_wait_ms: number;
  serialization_retries: number;
}

export interface RetryPolicy {
  classify(err: unknown): AttemptVerdict;
  /** Bound of the whole write, retries included (ms). */
  deadlineMs: number;
  /** Most attempts, whatever the deadline. */
  maxAttempts?: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  signal?: AbortSignal;
  label?: string;
  counters: RetryCounters;
  logger: Logger;
}

/**
 * The one bounded retry loop of the write paths (SQLite and PostgreSQL): the whole transaction
 * again after a transient failure, with jittered exponential backoff (so writers that collided
 * do not collide again in step), until the deadline, the attempt bound or the caller's abort —
 * then DatabaseBusyError (503).
 */
export async function retryBounded<T>(attempt: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const deadline = Date.now() + policy.deadlineMs;
  const maxAttempts = policy.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const verdict = policy.classify(err);
      if (verdict === 'fail') throw err;
      const now = Date.now();
      if (now >= deadline || n >= maxAttempts || policy.signal?.aborted) {
        policy.counters.busy_failures += 1;
        policy.logger.error({ label: policy.label, attempts: n, code: (err as { code?: unknown } | null)?.code }, 'database stayed busy');
        throw new DatabaseBusyError('The database is busy; try again', { attempts: n });
      }
      if (verdict === 'serialization') policy.counters.serialization_retries += 1;
      else policy.counters.busy_retries += 1;
      const backoff = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(n - 1, 16));
      const delay = Math.min(deadline - now, backoff / 2 + Math.random() * (backoff / 2));
      await new Promise((r) => setTimeout(r, delay));
      policy.counters.busy_wait_ms += Date.now() - now;
    }
  }
}
