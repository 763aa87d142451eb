import type { Logger } from '@nestjs/common';
import { SerialTask } from '../../common/async/serial-task';
import { yieldToLoop } from '../../common/async/wait';
import { type CatalogLock, LockName, runInTask, withLock } from '../../common/concurrency';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import { PRUNED } from './consolidation';
import type { VectorIndex } from './index/vector-index';

interface AccessDelta {
  count: number;
  last: number;
}

/** Access-count updates per transaction: ~2 µs each, ~0.5 ms of loop time a slice. */
export const ACCESS_SLICE_ROWS = 256;

/**
 * Retrieval counts: counted in memory on the read path (O(1)), written in batches (per session,
 * under its MEMORY lock in READ mode, in slices of ACCESS_SLICE_ROWS with the loop served
 * between); a session being consolidated is skipped (its consolidation moves counts between rows
 * and calls `remap`), and a failed slice is given back for the next flush.
 */
export class AccessCountBuffer {
  private readonly pending = new Map<string, Map<number, AccessDelta>>();
  private readonly flusher = new SerialTask(() => this.flushOnce());

  constructor(
    private readonly db: DatabaseService,
    private readonly lock: CatalogLock<typeof LockName.MEMORY>,
    private readonly isConsolidating: (sessionId: string) => boolean,
    private readonly logger: Logger,
  ) {}

  /** The flush running now, if any (a consolidation waits for it before its transaction). */
  get current(): Promise<void> | undefined {
    return this.flusher.current;
  }

  get size(): number {
    let n = 0;
    for (const m of this.pending.values()) n += m.size;
    return n;
  }

  /** Writes the retrieval counts gathered since the last flush (one transaction per session). */
  flush(): Promise<void> {
    return this.flusher.run();
  }

  private async flushOnce(): Promise<void> {
    // While writes fail for lack of space, retrieval counts wait in memory.
    if (this.pending.size === 0 || this.db.storage.deferBackground()) return;
    let wrote = false;
    for (const sessionId of [...this.pending.keys()]) {
      // A consolidation moves counts between rows: its session's counts wait for the next flush.
      if (this.isConsolidating(sessionId)) continue;
      try {
        await runInTask('memory.flushAccess', () =>
          withLock(
            this.lock,
            async () => {
              const pending = this.pending.get(sessionId);
              if (!pending || pending.size === 0) return;
              this.pending.delete(sessionId);
              const deltas = [...pending];
              // Slices of ACCESS_SLICE_ROWS updates, one transaction each, the loop served between.
              for (let i = 0; i < deltas.length; i += ACCESS_SLICE_ROWS) {
                if (wrote) await yieldToLoop();
                const slice = new Map(deltas.slice(i, i + ACCESS_SLICE_ROWS));
                try {
                  await this.db.write((tx) => applyAccessDeltas(tx, sessionId, slice), { label: 'memory.accessCounts' });
                  wrote = true;
                } catch (err) {
                  this.restore(sessionId, new Map(deltas.slice(i)));
                  throw err;
                }
              }
            },
            { key: sessionId, mode: 'read' },
          ),
        );
      } catch (err) {
        this.logger.warn({ err, session_id: sessionId }, 'memory access counts not written; kept for the next flush');
      }
    }
  }

  count(sessionId: string, id: number, now: number): void {
    let pending = this.pending.get(sessionId);
    if (!pending) this.pending.set(sessionId, (pending = new Map()));
    const delta = pending.get(id);
    if (delta) {
      delta.count++;
      delta.last = now;
    } else {
      pending.set(id, { count: 1, last: now });
    }
  }

  private restore(sessionId: string, deltas: Map<number, AccessDelta>): void {
    for (const [id, d] of deltas) {
      let pending = this.pending.get(sessionId);
      if (!pending) this.pending.set(sessionId, (pending = new Map()));
      const cur = pending.get(id);
      if (cur) {
        cur.count += d.count;
        cur.last = Math.max(cur.last, d.last);
      } else {
        pending.set(id, { ...d });
      }
    }
  }

  /** Retrievals of merged rows not yet written now count for the row they merged into; pruned rows' are dropped. */
  remap(sessionId: string, index: VectorIndex, rep: Int32Array, n: number): void {
    const pending = this.pending.get(sessionId);
    if (!pending) return;
    for (const [id, delta] of [...pending]) {
      const slot = index.slot(id);
      if (slot === undefined || slot >= n || rep[slot] === slot) continue;
      pending.delete(id);
      if (rep[slot] === PRUNED) continue;
      const keptId = index.idAt(rep[slot]);
      const cur = pending.get(keptId);
      if (cur) {
        cur.count += delta.count;
        cur.last = Math.max(cur.last, delta.last);
      } else {
        pending.set(keptId, delta);
      }
    }
  }
}

async function applyAccessDeltas(tx: WriteTx, sessionId: string, deltas: Map<number, AccessDelta>): Promise<void> {
  for (const [id, d] of deltas) {
    await tx.run(
      `UPDATE memories SET access_count = access_count + ?,
         last_accessed_at = CASE WHEN last_accessed_at IS NULL OR last_accessed_at < ? THEN ? ELSE last_accessed_at END
       WHERE id = ? AND session_id = ?`,
      [d.count, d.last, d.last, id, sessionId],
    );
  }
}
