/**
 * Worker-thread entry of the WAL checkpointer: its own connection to the engine's database,
 * running PASSIVE checkpoints on an interval. A checkpoint copies WAL frames into the database
 * file and fsyncs it; done by the committing connection (SQLite's autocheckpoint) it stalls the
 * event loop for milliseconds at a time, so every request waiting behind it. PASSIVE never
 * waits for readers or writers: it copies what it can and the next tick does the rest.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { type CheckpointMessage, type CheckpointWorkerData, STOP } from './wal-checkpoint.protocol';

function run(port: NonNullable<typeof parentPort>, data: CheckpointWorkerData): void {
  const db = new Database(data.file, { fileMustExist: true });
  // Never sit in SQLite's busy handler: a busy checkpoint is simply retried on the next tick.
  db.pragma('busy_timeout = 0');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let lastCheckpointed = -1;
  const tick = () => {
    try {
      const r = checkpoint.get() as { busy: number; log: number; checkpointed: number };
      // Report progress only: an idle engine does not post a message every tick.
      if (r.checkpointed !== lastCheckpointed || r.busy) {
        lastCheckpointed = r.checkpointed;
        port.postMessage({ type: 'checkpoint', walFrames: r.log, checkpointed: r.checkpointed, busy: r.busy !== 0 } satisfies CheckpointMessage);
      }
    } catch (err) {
      port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies CheckpointMessage);
    }
  };
  const timer = setInterval(tick, data.intervalMs);
  port.on('message', (msg: unknown) => {
    if (msg !== STOP) return;
    clearInterval(timer);
    db.close();
    port.close();
  });
  port.postMessage({ type: 'ready' } satisfies CheckpointMessage);
}

if (parentPort && workerData) run(parentPort, workerData as CheckpointWorkerData);
