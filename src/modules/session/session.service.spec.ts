import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { yieldToLoop } from '../../common/async/wait';
import type { DatabaseService, WriteTx } from '../../common/database/database.service';
import { StorageGuard } from '../../common/database/storage-guard';
import type { AppConfig } from '../../config/app-config';
import { SessionService } from './session.service';

type Body<T> = (tx: WriteTx, chunk: readonly T[]) => void;

describe('SessionService shutdown', () => {
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('waits for a running sweep (its expiry write, then its activity flush) before letting the database close', async () => {
    const events: string[] = [];
    const activity: unknown[][] = [];
    const tx = { run: (_sql: string, params: unknown[] = []) => (activity.push(params), { changes: 1, lastInsertRowid: 0 }) } as unknown as WriteTx;
    let gateExpiry = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const db = {
      write: async <R>(body: (t: WriteTx) => R, options?: { label?: string }) => {
        // The sweep's expiry write is slow (behind another process's transaction, say).
        if (gateExpiry) await gate;
        const result = body(tx);
        if (gateExpiry) events.push(`write ${options?.label ?? ''}`);
        return result;
      },
      storage: new StorageGuard(),
      writeChunked: async <T>(items: readonly T[], body: Body<T>) => {
        body(tx, items);
        if (gateExpiry) events.push('activity flushed');
        return { written: items.length };
      },
    } as unknown as DatabaseService;
    const dataSource = { isInitialized: true, getRepository: () => ({ find: () => Promise.resolve([]) }) } as unknown as DataSource;
    // TTL 10 s: sweeps every 2.5 s.
    const svc = new SessionService({ sessionTtlMs: 10_000 } as AppConfig, dataSource, db);
    await svc.onModuleInit();
    await svc.handshake({ client: 'test', client_version: '1' }); // goes idle and expires
    const { session_id: busy } = await svc.handshake({ client: 'test', client_version: '1' });
    await jest.advanceTimersByTimeAsync(9_000);
    svc.touch(busy);
    await yieldToLoop();
    gateExpiry = true;
    activity.length = 0;
    await jest.advanceTimersByTimeAsync(3_500); // the sweep at 12.5 s expires the idle one and blocks on its write

    const shutdown = svc.beforeApplicationShutdown().then(() => events.push('shut down'));
    await yieldToLoop();
    expect(events).not.toContain('shut down');
    expect(events.some((e) => e.startsWith('write'))).toBe(false);
    svc.touch(busy); // activity while the sweep is in flight
    release();
    await shutdown;
    const expiry = events.findIndex((e) => e.startsWith('write session'));
    const down = events.indexOf('shut down');
    // The expiry write, then the activity flush after it, then shutdown.
    expect(expiry).toBeGreaterThanOrEqual(0);
    expect(events.lastIndexOf('activity flushed')).toBeGreaterThan(expiry);
    expect(down).toBe(events.length - 1);
    // Its second touch (count 2, made while the sweep ran) reached the database before it could close.
    expect(activity.filter((p) => p.includes(busy)).at(-1)?.[1]).toBe(2);
  });
});
