import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import { PeriodicJobs } from '../../common/scheduling';
import { InvalidRequestError, NotFoundError } from '../../common/errors/app.error';
import { DatabaseService } from '../../common/database/database.service';
import { SessionLeaseRepository, type SessionRowUpsert, SessionOwnership, SessionService, writeSessionRows } from '../session';
import { deepFreeze, type GameState, type PartialGameState, type StateSnapshot } from './game-state';
import { MergeStrategy, mergeState } from './state-merger';
import { MergeConflictError, StaleVersionError } from './state.errors';
import { LatestWriter } from '../../common/database/background-writer';

/** A snapshot to persist, with the lease token it was made under (the write's fence). */
interface PendingSnapshot {
  readonly snapshot: StateSnapshot;
  readonly token: number | undefined;
}

/** The periodic job writing changed snapshots. */
export const STATE_FLUSH_JOB = 'state.flush';

export interface StateUpdate {
  /** A whole game state: replaces the snapshot. */
  full?: GameState;
  /** Some fields: merged into the snapshot with `strategy`. */
  patch?: PartialGameState;
  strategy?: MergeStrategy;
  /** Optimistic locking: refuse with VERSION_CONFLICT unless the snapshot is at this version. */
  expectedVersion?: number;
}

/**
 * Per session, the current game state as an immutable snapshot (docs/architecture.md §9.1 copy-on-write):
 * readers take the published snapshot without any lock; a writer builds the next one and
 * publishes it, bumping the version (§9.2) by one for every applied update. An update is one
 * synchronous step — check the version, merge, publish — so no other update or read can come
 * between its parts; this, and the session's turn around every writer, is what the STATE level
 * of the hierarchy stands for here (docs/architecture.md). Snapshots are persisted by a
 * background writer, off the request path, in bounded slices.
 */
@Injectable()
export class StateService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(StateService.name);
  private readonly snapshots = new Map<string, StateSnapshot>();
  /** The latest snapshot of every session changed since the last flush, written in bounded slices. */
  private readonly writer: LatestWriter<string, PendingSnapshot>;
  static readonly FLUSH_INTERVAL_MS = 1000;
  /** Snapshots per transaction: ~8 µs each with its JSON (bench/README.md), ~0.3 ms a slice. */
  static readonly SLICE_ROWS = 32;

  constructor(
    private readonly db: DatabaseService,
    private readonly sessions: SessionService,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
    // Absent in unit specs and the warm-up's throwaway engine: one instance, unfenced writes.
    @Optional() @Inject(SessionOwnership) private readonly ownership: SessionOwnership | null = null,
    @Optional() @Inject(SessionLeaseRepository) private readonly leases: SessionLeaseRepository | null = null,
  ) {
    this.writer = new LatestWriter<string, PendingSnapshot>({
      name: 'state.snapshots',
      sliceRows: StateService.SLICE_ROWS,
      writeSlice: (slice) => this.writeSlice(slice),
      // While writes fail for lack of space, flushes back off (snapshots stay pending, in memory).
      defer: () => this.db.storage.deferBackground(),
    });
  }

  async onModuleInit(): Promise<void> {
    // Resume: the last persisted snapshot of every session that is still active.
    const rows = await this.db.all<{ session_id: string; version: number; state_json: string; updated_at: number }>(
      `SELECT s.session_id, s.version, s.state_json, s.updated_at FROM game_state_snapshots s
       JOIN player_sessions p ON p.session_id = s.session_id WHERE p.status = 'active'`,
    );
    for (const row of rows) {
      try {
        const state = JSON.parse(row.state_json) as GameState;
        this.snapshots.set(row.session_id, deepFreeze({ sessionId: row.session_id, version: Number(row.version), updatedAt: Number(row.updated_at), state }));
      } catch (err) {
        this.logger.warn({ err, session_id: row.session_id }, 'unreadable persisted snapshot skipped');
      }
    }
    this.sessions.onSessionExpired((id) => {
      this.snapshots.delete(id);
      this.writer.delete(id);
    });
    // Taken over, or lost to another instance: what this instance has is stale. Reloaded from
    // the last persisted snapshot when the session is served here again (docs/cluster.md).
    this.sessions.onSessionAdopted((id) => this.reload(id));
    // Leases go at shutdown only once the snapshots made under them are written.
    this.ownership?.beforeRelease(() => this.writer.flush());
    this.writer.start(this.jobs, STATE_FLUSH_JOB, StateService.FLUSH_INTERVAL_MS);
  }

  private async reload(sessionId: string): Promise<void> {
    this.snapshots.delete(sessionId);
    this.writer.delete(sessionId);
    if (!this.sessions.exists(sessionId) || !this.leases) return;
    const row = await this.leases.persistedSnapshot(sessionId);
    // Gone meanwhile, or already updated by a request of the session: what is here is newer.
    if (!row || !this.sessions.exists(sessionId) || this.snapshots.has(sessionId)) return;
    try {
      const state = JSON.parse(row.state_json) as GameState;
      this.snapshots.set(sessionId, deepFreeze({ sessionId, version: Number(row.version), updatedAt: Number(row.updated_at), state }));
    } catch (err) {
      this.logger.warn({ err, session_id: sessionId }, 'unreadable persisted snapshot skipped');
    }
  }

  /** One slice in one transaction; a snapshot whose lease token is no longer the session's is refused (fencing). */
  private writeSlice(slice: ReadonlyArray<readonly [string, PendingSnapshot]>): Promise<void> {
    return writeSessionRows(this.db, this.ownership, slice, ([sessionId, { snapshot, token }]) => ({ sessionId, upsert: snapshotUpsert(snapshot), fence: { token } }), 'state.flush');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.writer.close();
  }

  /** The current snapshot, lock-free; undefined before the session's first update. */
  current(sessionId: string): StateSnapshot | undefined {
    return this.snapshots.get(sessionId);
  }

  get(sessionId: string): StateSnapshot {
    const snap = this.snapshots.get(sessionId);
    if (!snap) {
      if (!this.sessions.exists(sessionId)) throw new NotFoundError(`Session ${sessionId} not found or expired`, { session_id: sessionId });
      throw new NotFoundError(`Session ${sessionId} has no game state yet`, { session_id: sessionId });
    }
    return snap;
  }

  /** Synchronous from start to publication: nothing else runs between reading the base and publishing the next. */
  async apply(sessionId: string, update: StateUpdate): Promise<StateSnapshot> {
    return this.applyNow(sessionId, update);
  }

  /** `apply` without the promise, for the per-tick route (one async step less a request). */
  applyNow(sessionId: string, update: StateUpdate): StateSnapshot {
    if (!update.full === !update.patch) throw new InvalidRequestError('Send exactly one of game_state (whole) or patch (partial)');
    const base = this.snapshots.get(sessionId);
    const version = base?.version ?? 0;
    if (update.expectedVersion !== undefined && update.expectedVersion !== version) {
      throw new StaleVersionError(sessionId, update.expectedVersion, version);
    }
    let next: GameState;
    if (update.full) {
      next = update.full;
    } else {
      if (!base) throw new InvalidRequestError('The first update of a session must be a whole game_state, not a patch');
      const merged = mergeState(base.state, update.patch!, update.strategy ?? MergeStrategy.LAST_WRITE_WINS);
      if (merged.conflicts.length > 0) throw new MergeConflictError(sessionId, version, merged.conflicts);
      next = merged.state;
    }
    const snapshot: StateSnapshot = deepFreeze({ sessionId, version: version + 1, updatedAt: Date.now(), state: next });
    this.snapshots.set(sessionId, snapshot);
    this.writer.set(sessionId, { snapshot, token: this.ownership?.tokenOf(sessionId) });
    return snapshot;
  }

  /** Writes the snapshots changed since the last flush; resolves once they are committed (or a slice failed: kept for the next). */
  async flush(): Promise<void> {
    await this.writer.flush();
  }

  get sessionCount(): number {
    return this.snapshots.size;
  }
}

/** A newer version replaces the stored snapshot; an older one changes nothing. */
function snapshotUpsert(s: StateSnapshot): SessionRowUpsert {
  return {
    into: 'INSERT INTO game_state_snapshots (session_id, version, state_json, updated_at)',
    values: [s.sessionId, s.version, JSON.stringify(s.state), s.updatedAt],
    onConflict: `ON CONFLICT(session_id) DO UPDATE SET version = excluded.version, state_json = excluded.state_json, updated_at = excluded.updated_at
       WHERE excluded.version > game_state_snapshots.version`,
  };
}
