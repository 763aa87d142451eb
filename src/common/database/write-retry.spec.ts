import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Pool } from 'pg';
import { DatabaseBusyError } from './database.errors';
import { StorageFullError } from '../errors/storage.errors';
import { PostgresWriter } from './postgres-writer';
import { type AttemptVerdict, retryBounded, type RetryCounters } from './write-retry';

const counters = (): RetryCounters => ({ busy_retries: 0, busy_failures: 0, busy_wait_ms: 0, serialization_retries: 0 });
const logger = new Logger('write-retry.spec');

function coded(code: string): Error {
  return Object.assign(new Error(code), { code });
}

const classify = (err: unknown): AttemptVerdict => {
  const code = (err as { code?: string }).code;
  return code === 'BUSY' ? 'busy' : code === 'SER' ? 'serialization' : 'fail';
};

describe('retryBounded: the one retry loop of both write paths', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('runs the attempt again after a transient failure and counts busy and serialization retries apart', async () => {
    const c = counters();
    const failures = [coded('BUSY'), coded('SER'), coded('SER')];
    let runs = 0;
    const done = retryBounded(
      () => {
        runs += 1;
        const next = failures.shift();
        return next ? Promise.reject(next) : Promise.resolve('ok');
      },
      { classify, deadlineMs: 10_000, backoffBaseMs: 2, backoffMaxMs: 50, counters: c, logger },
    );
    await jest.runAllTimersAsync();
    await expect(done).resolves.toBe('ok');
    expect(runs).toBe(4);
    expect(c).toMatchObject({ busy_retries: 1, serialization_retries: 2, busy_failures: 0 });
  });

  it('gives an error it does not know back at once, never running the body again', async () => {
    const c = counters();
    let runs = 0;
    const err = coded('23505');
    await expect(
      retryBounded(
        () => {
          runs += 1;
          return Promise.reject(err);
        },
        { classify, deadlineMs: 10_000, backoffBaseMs: 2, backoffMaxMs: 50, counters: c, logger },
      ),
    ).rejects.toBe(err);
    expect(runs).toBe(1);
    expect(c).toEqual(counters());
  });

  it('stops at the deadline with a DatabaseBusyError (503), counted once', async () => {
    const c = counters();
    let runs = 0;
    const done = retryBounded(
      () => {
        runs += 1;
        return Promise.reject(coded('BUSY'));
      },
      { classify, deadlineMs: 1_000, backoffBaseMs: 2, backoffMaxMs: 50, counters: c, logger },
    ).catch((e: unknown) => e);
    await jest.runAllTimersAsync();
    const err = await done;
    expect(err).toBeInstanceOf(DatabaseBusyError);
    expect(err).toMatchObject({ status: 503, details: { attempts: runs } });
    expect(runs).toBeGreaterThan(10);
    expect(c.busy_failures).toBe(1);
    expect(c.busy_retries).toBe(runs - 1);
  });

  it('stops at the attempt bound whatever the deadline, and at once when aborted', async () => {
    const c = counters();
    let runs = 0;
    const bounded = retryBounded(
      () => {
        runs += 1;
        return Promise.reject(coded('SER'));
      },
      { classify, deadlineMs: 60_000, maxAttempts: 3, backoffBaseMs: 2, backoffMaxMs: 50, counters: c, logger },
    ).catch((e: unknown) => e);
    await jest.runAllTimersAsync();
    expect(await bounded).toBeInstanceOf(DatabaseBusyError);
    expect(runs).toBe(3);

    const abort = new AbortController();
    abort.abort();
    let aborted = 0;
    const err = await retryBounded(
      () => {
        aborted += 1;
        return Promise.reject(coded('BUSY'));
      },
      { classify, deadlineMs: 60_000, backoffBaseMs: 2, backoffMaxMs: 50, counters: counters(), logger, signal: abort.signal },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseBusyError);
    expect(aborted).toBe(1);
  });
});

describe("PostgresWriter and its pool's errors", () => {
  it('an idle client failing is logged and counted, never an uncaught error event', () => {
    const pool = new EventEmitter() as unknown as Pool;
    const writer = new PostgresWriter(pool);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // Without a listener, EventEmitter throws on 'error' (the process would crash).
    expect(() => (pool as unknown as EventEmitter).emit('error', new Error('terminating connection due to administrator command'))).not.toThrow();
    expect(writer.counters.pool_errors).toBe(1);
    writer.detach();
    expect(() => (pool as unknown as EventEmitter).emit('error', new Error('again'))).toThrow('again');
    jest.restoreAllMocks();
  });
});

describe('PostgresWriter on a full server disk', () => {
  it('53100 (disk_full) is a StorageFullError (503 STORAGE_FULL), rolled back, never retried', async () => {
    const sent: string[] = [];
    const client = {
      query: (sql: string) => {
        sent.push(sql.split(' ')[0]);
        if (sql.startsWith('INSERT')) return Promise.reject(Object.assign(new Error('could not extend file: No space left on device'), { code: '53100' }));
        return Promise.resolve({ rows: [], rowCount: 0 });
      },
      release: () => undefined,
    };
    const pool = { connect: () => Promise.resolve(client) } as unknown as Pool;
    const writer = new PostgresWriter(pool);
    let runs = 0;
    const err = await writer
      .write(async (tx) => {
        runs += 1;
        await tx.run('INSERT INTO decision_log (session_id) VALUES (?)', ['s']);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFullError);
    expect(err).toMatchObject({ code: 'STORAGE_FULL', status: 503 });
    expect(runs).toBe(1);
    expect(sent).toEqual(['BEGIN', 'INSERT', 'ROLLBACK']);
    expect(writer.counters).toMatchObject({ commits: 0, rollbacks: 1, busy_retries: 0, serialization_retries: 0 });
  });
});
