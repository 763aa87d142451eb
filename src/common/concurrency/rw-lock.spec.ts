import { deferred, flushMicrotasks, RecordingLogger, times } from './concurrency.test-kit';
import { createLockManager } from './lock-manager.service';
import { LockOrder } from './lock-order.enum';
import { withLock } from './with-lock';

const manager = () => createLockManager({ logger: new RecordingLogger() });

describe('RwLock', () => {
  it('lets readers overlap', async () => {
    const rw = manager().rwLock('rw', LockOrder.STATE);
    const gate = deferred();
    let concurrent = 0;
    let maxConcurrent = 0;
    const readers = times(3, () =>
      withLock(rw, async () => {
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        await gate.promise;
        concurrent--;
      }, { mode: 'read' }),
    );
    await flushMicrotasks();
    expect(rw.readers).toBe(3);
    gate.resolve();
    await Promise.all(readers);
    expect(maxConcurrent).toBe(3);
  });

  it('a continuous stream of readers cannot starve a writer', async () => {
    const rw = manager().rwLock('rw', LockOrder.STATE);
    const READS_PER_READER = 500;
    let writerQueued = false;
    let writerDone = false;
    let readsAdmittedWhileWriterQueued = 0;
    let readsAfterWriter = 0;
    // Four readers that re-acquire as soon as they release, staggered so that
    // at every instant at least one of them holds the lock: a reader-preferring
    // lock would keep the writer out until all of them are done. Bounded loops
    // of microtasks only, so a failing lock fails the assertions instead of hanging.
    const readerLoop = async (stagger: number) => {
      for (let i = 0; i < stagger; i++) await Promise.resolve();
      for (let i = 0; i < READS_PER_READER; i++) {
        await withLock(rw, async () => {
          if (writerQueued && !writerDone) readsAdmittedWhileWriterQueued++;
          if (writerDone) readsAfterWriter++;
          await Promise.resolve();
          await Promise.resolve();
        }, { mode: 'read' });
      }
    };
    const readers = [0, 1, 2, 3].map(readerLoop);
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(rw.readers).toBeGreaterThan(0);

    writerQueued = true;
    const writer = withLock(rw, () => {
      expect(rw.readers).toBe(0);
      writerDone = true;
    }, { mode: 'write' });
    await Promise.all([writer, ...readers]);
    // Readers already inside finished; none got in behind the queued writer,
    // and the writer ran long before the readers ran out of work.
    expect(writerDone).toBe(true);
    expect(readsAdmittedWhileWriterQueued).toBe(0);
    expect(readsAfterWriter).toBeGreaterThan(4 * READS_PER_READER - 50);
  });

  it('serves writers in arrival order and batches the readers between them', async () => {
    const rw = manager().rwLock('rw', LockOrder.STATE);
    const log: string[] = [];
    const first = await rw.acquire({ mode: 'write' });
    const flows = [
      withLock(rw, () => void log.push('w1'), { mode: 'write' }),
      withLock(rw, () => void log.push(`r1 with ${rw.readers} readers`), { mode: 'read' }),
      withLock(rw, () => void log.push('r2'), { mode: 'read' }),
      withLock(rw, () => void log.push('w2'), { mode: 'write' }),
      withLock(rw, () => void log.push('r3'), { mode: 'read' }),
    ];
    first();
    await Promise.all(flows);
    expect(log).toEqual(['w1', 'r1 with 2 readers', 'r2', 'w2', 'r3']);
  });

  it('docs/architecture.md §16 (3): 5 writers × 1000 updates and 5 readers × 10000 reads stay consistent', async () => {
    const rw = manager().rwLock('game-state', LockOrder.STATE);
    const state = { hp: 0, hpCopy: 0, version: 0 };
    let torn = 0;
    let readers = 0;
    let maxReaders = 0;
    const writer = async () => {
      for (let i = 0; i < 1000; i++) {
        await withLock(rw, async () => {
          state.hp++;
          await Promise.resolve(); // a reader slipping in here would see hp !== hpCopy
          state.hpCopy++;
          state.version++;
        }, { mode: 'write' });
      }
    };
    const reader = async () => {
      for (let i = 0; i < 10_000; i++) {
        await withLock(rw, async () => {
          maxReaders = Math.max(maxReaders, ++readers);
          if (state.hp !== state.hpCopy) torn++;
          await Promise.resolve();
          if (state.hp !== state.hpCopy) torn++;
          readers--;
        }, { mode: 'read' });
      }
    };
    await Promise.all([...times(5, writer), ...times(5, reader)]);
    expect(torn).toBe(0);
    expect(state).toEqual({ hp: 5000, hpCopy: 5000, version: 5000 });
    expect(maxReaders).toBeGreaterThan(1);
    expect(rw.idle).toBe(true);
  });
});
