import type { DatabaseService } from './database.service';
import { createPruneContext, PruneStoppedError } from './retention';

/** The context's pacing, on a stand-in connection: what matters here is when each batch runs. */
describe('createPruneContext', () => {
  let stopping = false;
  const write = jest.fn(async (body: (tx: never) => unknown) => body(undefined as never));
  const db = { write } as unknown as DatabaseService;
  const context = (pauseMs?: number) => createPruneContext(db, { now: 0, batchRows: 10, table: 'decision_log', stopping: () => stopping, pauseMs });

  beforeEach(() => {
    jest.useFakeTimers();
    stopping = false;
    write.mockClear();
  });
  afterEach(() => jest.useRealTimers());

  it('rests pauseMs before each batch, and a stop during the rest ends the prune before its batch', async () => {
    const ctx = context(10);
    const done: number[] = [];
    const prune = (async () => {
      for (let i = 0; ; i++) done.push(await ctx.batch(() => Promise.resolve(i)));
    })();
    const stopped = expect(prune).rejects.toBeInstanceOf(PruneStoppedError);
    await jest.advanceTimersByTimeAsync(9);
    expect(done).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toEqual([0]);
    await jest.advanceTimersByTimeAsync(9);
    expect(done).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toEqual([0, 1]);
    stopping = true;
    await jest.advanceTimersByTimeAsync(10);
    await stopped;
    expect(done).toEqual([0, 1]);
    expect(write).toHaveBeenCalledTimes(2);
  });

  it('without a pause a batch still waits one turn of the event loop', async () => {
    const ctx = context(0);
    let ran = false;
    const batch = ctx.batch(() => ((ran = true), Promise.resolve(1)));
    await Promise.resolve();
    expect(ran).toBe(false);
    await jest.advanceTimersByTimeAsync(0);
    await expect(batch).resolves.toBe(1);
    expect(ran).toBe(true);
  });

  it('a stop asked before a batch rejects it without writing', async () => {
    stopping = true;
    await expect(context(10).batch(() => Promise.resolve(1))).rejects.toBeInstanceOf(PruneStoppedError);
    expect(write).not.toHaveBeenCalled();
  });
});
