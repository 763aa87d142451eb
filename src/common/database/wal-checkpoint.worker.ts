/**
 * Worker-thread entry of the WAL checkpointer: its own connection to the engine's database,
 * running a PASSIVE checkpoint each time the engine's periodic job asks (TICK). A checkpoint
 * copies WAL frames into the database file and fsyncs it; done by the committing connection
 * (SQLite's autocheckpoint) it stalls the event loop for milliseconds at a time, so every request
 * waiting behind it. PASSIVE never waits for readers or writers: it copies what it can and the
 * next tick does the rest. The schedule lives in the engine (a named job, listed with the others);
 * the worker only does the work, off the event loop.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { type CheckpointMessage, type CheckpointWorkerData, STOP, TICK } from './wal-checkpoint.protocol';

function run(port: NonNullable<typeof parentPort>, data: CheckpointWorkerData): void {
  const db = new Database(data.file, { fileMustExist: true });
  // Never sit in SQLite's busy handler: a busy checkpoint is simply retried on the next tick.
  db.pragma('busy_timeout = 0');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let lastCheckpointed = -1;
  const tick = () => {
    try {
      const r = checkpoint.get() as { busy: number; log: number; checkpointed: number };
      const progressed = r.checkpointed !== lastCheckpointed;
      lastCheckpointed = r.checkpointed;
      port.postMessage({ type: 'checkpoint', walFrames: r.log, checkpointed: r.checkpointed, busy: r.busy !== 0, progressed } satisfies CheckpointMessage);
    } catch (err) {
      port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies CheckpointMessage);
    }
  };
  port.on('message', (msg: unknown) => {
    if (msg === TICK) return tick();
    if (msg !== STOP) return;
    db.close();
    port.close();
  });
  port.postMessage({ type: 'ready' } satisfies CheckpointMessage);
}

if (parentPort && workerData) run(parentPort, workerData as CheckpointWorkerData);
