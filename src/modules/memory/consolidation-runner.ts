import type { Logger } from '@nestjs/common';
import { yieldToLoop } from '../../common/async/wait';
import { type CatalogLock, LockName, runInTask, withLock } from '../../common/concurrency';
import { DatabaseService, lockingRead } from '../../common/database/database.service';
import { SessionNotFoundError } from '../session';
import type { AccessCountBuffer } from './access-count-buffer';
import { planConsolidation } from './consolidation';
import { ID_CHUNK, type MemoryIndexCache, placeholders, round3 } from './memory-index-cache';
import { PRUNE_TARGET_SHARE } from './memory.constants';
import type { MemoryOptions } from './memory.options';

export interface ConsolidationResult {
  session_id: string;
  before: number;
  after: number;
  /** Near-duplicates merged into a kept memory. */
  merged: number;
  /** Low-importance memories whose importance decayed. */
  decayed: number;
  /** Memories deleted because their importance decayed away, or to make room. */
  pruned: number;
  /** Memories stored while the consolidation was being planned, carried into the new index. */
  carried_over: number;
  /** False when the change budget left work for the next consolidation. */
  complete: boolean;
  duration_ms: number;
  /** The database transaction (DATABASE lock; better-sqlite3 runs it on the event loop). */
  database_ms: number;
  /** How long readers and writers of this session were held off (the swap). */
  exclusive_ms: number;
}

const BUILD_YIELD_EVERY = 8_192;
/** Unchanged sessions are still consolidated (for decay) every this many intervals. */
const DECAY_ONLY_EVERY = 6;

/**
 * Consolidation (merge near-duplicates, decay, prune) of one session at a time per session:
 * plans over a snapshot and builds the new index off to the side without any lock (rows below
 * the snapshot never change: the index is append-only between swaps), commits all its database
 * changes in one transaction (readers do not read the table, so they keep seeing the old state),
 * then takes the session's MEMORY lock in WRITE mode only to carry over the rows stored meanwhile
 * and swap the index: a reader sees all before or all after, and the exclusive part is
 * milliseconds. Also the periodic sweep over the sessions due.
 */
export class ConsolidationRunner {
  private readonly consolidating = new Map<string, Promise<ConsolidationResult>>();
  private readonly queuedConsolidation = new Map<string, Promise<ConsolidationResult>>();
  /** Sessions with memories stored since their last consolidation. */
  private readonly changed = new Set<string>();
  private readonly lastConsolidated = new Map<string, number>();
  private consolidations = 0;
  private sweeping: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly options: MemoryOptions,
    private readonly db: DatabaseService,
    private readonly sessions: { exists(sessionId: string): boolean },
    private readonly lock: CatalogLock<typeof LockName.MEMORY>,
    private readonly cache: MemoryIndexCache,
    private readonly access: AccessCountBuffer,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  isRunning(sessionId: string): boolean {
    return this.consolidating.has(sessionId);
  }

  /** A store published into the session's index: it is due for the next sweep. */
  markChanged(sessionId: string): void {
    this.changed.add(sessionId);
  }

  forget(sessionId: string): void {
    this.changed.delete(sessionId);
    this.lastConsolidated.delete(sessionId);
  }

  get total(): number {
    return this.consolidations;
  }

  get running(): number {
    return this.consolidating.size;
  }

  /** No new sweep or scheduled consolidation; resolves once the running ones (and the sweep) settled. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.consolidating.values(), ...this.queuedConsolidation.values(), this.sweeping]);
  }

  private assertSession(sessionId: string): void {
    if (!this.sessions.exists(sessionId)) throw new SessionNotFoundError(sessionId);
  }

  /**
   * Merges near-duplicates and decays old unimportant memories. One consolidation runs per
   * session at a time; a call arriving while one runs gets the next one (started when the
   * running one ends, shared by every call that arrived meanwhile), so its result always covers
   * the memories stored before the call.
   */
  consolidate(sessionId: string): Promise<ConsolidationResult> {
    this.assertSession(sessionId);
    const running = this.consolidating.get(sessionId);
    if (!running) return this.startConsolidation(sessionId);
    let queued = this.queuedConsolidation.get(sessionId);
    if (!queued) {
      queued = running
        .catch(() => undefined)
        .then(() => {
          this.queuedConsolidation.delete(sessionId);
          this.assertSession(sessionId);
          return this.consolidating.get(sessionId) ?? this.startConsolidation(sessionId);
        });
      this.queuedConsolidation.set(sessionId, queued);
    }
    return queued;
  }

  private startConsolidation(sessionId: string): Promise<ConsolidationResult> {
    const run = runInTask(`memory.consolidate[${sessionId}]`, () => this.consolidateOnce(sessionId)).finally(() => this.consolidating.delete(sessionId));
    this.consolidating.set(sessionId, run);
    return run;
  }

  private async consolidateOnce(sessionId: string): Promise<ConsolidationResult> {
    const started = performance.now();
    // 1. Snapshot: the rows the plan covers (loading the index if needed). Rows below it never
    //    change while we work (the index is append-only, and this is the session's only
    //    consolidation); stores append after it.
    const { index, snapshot } = await withLock(
      this.lock,
      async () => {
        const idx = await this.cache.indexFor(sessionId);
        return { index: idx, snapshot: idx.size };
      },
      { key: sessionId, mode: 'read' },
    );
    // 2. Plan, and build the new index off to the side; readers and writers carry on.
    const now = this.now();
    const plan = await planConsolidation(
      index,
      snapshot,
      {
        mergeSimilarity: this.options.mergeSimilarity,
        halfLifeMs: this.options.decayHalfLifeMs,
        decayBelow: this.options.decayBelow,
        pruneBelow: this.options.pruneBelow,
        maxSize: this.options.maxPerSession,
        targetSize: Math.floor(this.options.maxPerSession * PRUNE_TARGET_SHARE),
        maxChanges: this.options.maxChangesPerConsolidation,
      },
      now,
    );
    const n = plan.snapshot;
    const mergedCount = new Float64Array(n);
    const members = new Map<number, number[]>(); // kept row → rows merged into it
    const retired: number[] = []; // ids of merged and pruned rows
    for (let row = 0; row < n; row++) {
      const rep = plan.rep[row];
      if (rep >= 0) mergedCount[rep] += index.record(row).mergedCount;
      if (rep === row) continue;
      retired.push(index.idAt(row));
      if (rep >= 0) {
        const list = members.get(rep);
        if (list) list.push(row);
        else members.set(rep, [row]);
      }
    }
    const next = this.cache.newIndex(plan.kept + (index.size - snapshot) + 64);
    const nextSlot = new Int32Array(n).fill(-1);
    const updates: Array<{ id: number; importance: number; decayedAt: number; mergedCount: number; merged: number[] }> = [];
    for (let row = 0; row < n; row++) {
      if (row > 0 && row % BUILD_YIELD_EVERY === 0) await yieldToLoop();
      if (plan.rep[row] !== row) continue;
      const record = index.record(row);
      nextSlot[row] = next.size;
      // Access counts are filled in at the swap, from the live values.
      next.add({ ...record, importance: plan.importance[row], decayedAt: plan.decayedAt[row], mergedCount: mergedCount[row], accessCount: 0 }, index.vectorAt(row), index.payloadAt(row));
      const group = members.get(row);
      if (group || plan.importance[row] !== record.importance || plan.decayedAt[row] !== record.decayedAt) {
        updates.push({ id: record.id, importance: plan.importance[row], decayedAt: plan.decayedAt[row], mergedCount: mergedCount[row], merged: (group ?? []).map((r) => index.idAt(r)) });
      }
    }

    // 3. The database changes, in one transaction, before the swap: readers never read the
    //    table (the index holds the events), so they keep seeing the old state until step 4.
    //    Access-count flushes of this session are held back meanwhile (they skip sessions being
    //    consolidated), so the counts moved from merged rows to their kept row are exact.
    await this.access.current;
    let databaseMs = 0;
    if (updates.length > 0 || retired.length > 0) {
      const dbStart = performance.now();
      await this.db.write(
        async (tx) => {
          const retiredAccess = new Map<number, number>();
          for (let i = 0; i < retired.length; i += ID_CHUNK) {
            const chunk = retired.slice(i, i + ID_CHUNK);
            // Locked on PostgreSQL until the rows are deleted: a count added meanwhile is moved too.
            for (const r of await tx.all<{ id: number; access_count: number }>(
              `SELECT id, access_count FROM memories WHERE id IN (${placeholders(chunk.length)})${lockingRead(tx, 'update')}`,
              chunk,
            )) {
              retiredAccess.set(r.id, r.access_count);
            }
          }
          for (const u of updates) {
            const moved = u.merged.reduce((sum, id) => sum + (retiredAccess.get(id) ?? 0), 0);
            await tx.run('UPDATE memories SET importance = ?, decayed_at = ?, merged_count = ?, access_count = access_count + ?, updated_at = ? WHERE id = ?', [
              u.importance,
              u.decayedAt,
              u.mergedCount,
              moved,
              now,
              u.id,
            ]);
          }
          for (let i = 0; i < retired.length; i += ID_CHUNK) {
            const chunk = retired.slice(i, i + ID_CHUNK);
            await tx.run(`DELETE FROM memories WHERE session_id = ? AND id IN (${placeholders(chunk.length)})`, [sessionId, ...chunk]);
          }
        },
        { label: 'memory.consolidate' },
      );
      databaseMs = performance.now() - dbStart;
    }

    // 4. The swap, under the session's WRITE lock: no reader or writer of the session runs, so
    //    none sees a half-done state. Synchronous work only: carry over, counts, publish.
    return withLock(
      this.lock,
      () => {
        const exclusiveStart = performance.now();
        const before = index.size;
        const current = this.cache.get(sessionId) === index;
        if (current) {
          for (let row = snapshot; row < before; row++) next.add(index.record(row), index.vectorAt(row), index.payloadAt(row));
          // Live counts (they include retrievals not yet written): a kept row gets its group's.
          const groupAccess = new Float64Array(n);
          for (let row = 0; row < n; row++) if (plan.rep[row] >= 0) groupAccess[plan.rep[row]] += index.accessCountAt(row);
          for (let row = 0; row < n; row++) if (nextSlot[row] >= 0) next.touch(nextSlot[row], groupAccess[row]);
          this.access.remap(sessionId, index, plan.rep, n);
          this.cache.set(sessionId, next);
          // Work left over (change budget) keeps the session due for the next sweep.
          if (plan.truncated) this.changed.add(sessionId);
          else this.changed.delete(sessionId);
          this.lastConsolidated.set(sessionId, this.now());
        }
        // else: the session expired meanwhile and its index was dropped; the table is already
        // consolidated and is what a later load reads.
        this.consolidations++;
        const finished = performance.now();
        const result: ConsolidationResult = {
          session_id: sessionId,
          before,
          after: current ? next.size : before - retired.length,
          merged: plan.merged,
          decayed: plan.decayed,
          pruned: retired.length - plan.merged,
          carried_over: before - snapshot,
          complete: !plan.truncated,
          duration_ms: round3(finished - started),
          database_ms: round3(databaseMs),
          exclusive_ms: round3(finished - exclusiveStart),
        };
        this.logger.log(result, 'memories consolidated');
        return result;
      },
      { key: sessionId, mode: 'write' },
    );
  }

  /** Timer: consolidates, one after another, the loaded sessions with new memories (and now and then the others, for decay). */
  async consolidateDue(): Promise<void> {
    if (this.sweeping || this.closed) return;
    const run = async (): Promise<void> => {
      const now = this.now();
      const idle = this.options.consolidateIntervalMs * DECAY_ONLY_EVERY;
      for (const sessionId of this.cache.sessionIds()) {
        if (this.closed) return;
        const due = this.changed.has(sessionId) || now - (this.lastConsolidated.get(sessionId) ?? 0) >= idle;
        if (!due || !this.sessions.exists(sessionId)) continue;
        try {
          await this.consolidate(sessionId);
        } catch (err) {
          this.logger.warn({ err, session_id: sessionId }, 'background memory consolidation failed');
        }
      }
    };
    this.sweeping = runInTask('memory.consolidate.timer', run).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** A consolidation soon (a session at its memory limit), outside the request that found it full. */
  schedule(sessionId: string): void {
    if (this.consolidating.has(sessionId) || this.closed) return;
    setImmediate(() => {
      if (this.closed || !this.sessions.exists(sessionId)) return;
      runInTask('memory.consolidate.full', () => this.consolidate(sessionId)).catch((err: unknown) =>
        this.logger.warn({ err, session_id: sessionId }, 'memory consolidation to make room failed'),
      );
    });
  }
}
