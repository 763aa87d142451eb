import type { DataSource } from 'typeorm';
import { yieldToLoop } from '../../common/async/wait';
import type { DatabaseService, WriteTx } from '../../common/database/database.service';
import type { AppConfig } from '../../config/app-config';
import { SessionService } from './session.service';

type Body<T> = (tx: WriteTx, chunk: readonly T[]) => void;

describe('SessionService shutdown', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it("waits for a running sweep's activity flush before letting the database close", async () => {
    const updates: unknown[][] = [];
    const tx = { run: (_sql: string, params: unknown[] = []) => (updates.push(params), { changes: 1, lastInsertRowid: 0 }) } as unknown as WriteTx;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let flushes = 0;
    const db = {
      write: async <R>(body: (t: WriteTx) => R) => body(tx),
      writeChunked: async <T>(items: readonly T[], body: Body<T>) => {
        // The sweep's flush is slow (a chunk behind another process's transaction, say).
        if (flushes++ === 0) await gate;
        body(tx, items);
        return { written: items.length };
      },
    } as unknown as DatabaseService;
    const dataSource = { isInitialized: true, getRepository: () => ({ find: () => Promise.resolve([]) }) } as unknown as DataSource;
    const svc = new SessionService({ sessionTtlMs: 60_000 } as AppConfig, dataSource, db);
    await svc.onModuleInit();
    const { session_id } = await svc.handshake({ client: 'test', client_version: '1' });
    svc.touch(session_id);
    updates.length = 0;

    jest.advanceTimersByTime(15_000); // the sweep runs and its flush blocks on the gate
    let shutDown = false;
    const shutdown = svc.beforeApplicationShutdown().then(() => (shutDown = true));
    await yieldToLoop();
    expect(shutDown).toBe(false);
    svc.touch(session_id); // activity while the sweep's flush is in flight
    release();
    await shutdown;
    // The sweep's write (rows are read when written) and then shutdown's own for the later touch.
    expect(updates.map((p) => p[1])).toEqual([2, 2]);
  });
});
