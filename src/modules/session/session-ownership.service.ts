import { type BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import { SessionElsewhereError } from '../../common/errors/app.error';
import { PeriodicJobs } from '../../common/scheduling';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { type InstanceRow, type LeaseRow, SessionLeaseRepository, type SessionRowUpsert, type TakeResult, upsertSessionRow } from './session-lease.repository';

export const SESSION_OWNERSHIP_OPTIONS = Symbol('SESSION_OWNERSHIP_OPTIONS');

export interface SessionOwnershipOptions {
  /** Clock (epoch ms); tests pass a fake one. Instances compare expiries: their clocks must agree (NTP). */
  now?: () => number;
}

/** A lease this instance holds (or held: `heldUntil` past, the token kept for continuity). */
interface HeldLease {
  token: number;
  /** The lease's expiry as last written; the hot path serves the session while well before it. */
  heldUntil: number;
  /** Last request that used the lease: only leases of active bots are renewed. */
  usedAt: number;
}

/** The outcome of taking a session's lease. */
export interface Claim {
  /**
   * True when this instance held the lease under the same token before (nobody else owned the
   * session in between): what it has in memory for the session is current. False: load it.
   */
  readonly continuous: boolean;
  /**
   * True when the session had never been leased before (no lease row): nobody served it under a
   * lease, so what this instance already has of it (a handshake's session) is current too.
   */
  readonly first: boolean;
}

export type OwnershipListener = (sessionId: string) => void;

/** A session's row for `writeSessionRows`. */
export interface SessionRowWrite {
  readonly sessionId: string;
  readonly upsert: SessionRowUpsert;
  /**
   * Fenced: written only while the session's lease is this instance's under `token` (or, with no
   * token, nobody ever leased it). Absent: written as it is.
   */
  readonly fence?: { readonly token: number | undefined };
}

/**
 * One slice of a background writer's session rows (session rows, game-state snapshots) in one
 * write transaction. With leases (`ownership`), a fenced row is written only while the fence
 * holds — one statement, the fence being the upsert's condition — and a row refused means the
 * session is another instance's now: it is dropped here once the transaction committed. Without
 * leases every row is written. `toRow` runs inside the transaction, once per item and attempt.
 */
export async function writeSessionRows<T>(
  db: DatabaseService,
  ownership: SessionOwnership | null,
  slice: ReadonlyArray<T>,
  toRow: (item: T) => SessionRowWrite,
  label: string,
): Promise<void> {
  const refused = await db.write(
    async (tx) => {
      let fenced: Array<readonly [string, number | undefined]> | undefined;
      for (const item of slice) {
        const { sessionId, upsert, fence } = toRow(item);
        if (!ownership || !fence) await upsertSessionRow(tx, upsert);
        else if (!(await ownership.upsertFenced(tx, upsert, sessionId, fence.token))) (fenced ??= []).push([sessionId, fence.token]);
      }
      return fenced;
    },
    { label },
  );
  if (refused) for (const [sessionId, token] of refused) ownership!.fenced(sessionId, token);
}

/**
 * Bot ownership across engine instances (docs/cluster.md): a session is served by one instance
 * at a time, recorded as a lease in `session_leases` (instance id, advertised address, expiry,
 * fencing token). The hot path asks `holds()` — a map lookup and a clock read, no write, no
 * allocation; a database write happens only to take a lease (first request here, or after it
 * lapsed) and in the periodic batch renewal of the leases of active sessions. Another live
 * instance's lease refuses the request (SESSION_ELSEWHERE); an expired one is taken over with a
 * larger token, and the session's state is then loaded from the database (`continuous: false`).
 * State writes carry the token (`writeSessionRows`), so an instance that lost a lease cannot
 * overwrite the new owner's rows.
 */
/** The periodic job renewing this instance's leases and heartbeat. */
export const SESSION_LEASE_RENEW_JOB = 'session.lease-renew';

@Injectable()
export class SessionOwnership implements BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionOwnership.name);
  readonly instanceId: string;
  readonly ttlMs: number;
  /** A lease closer than this to its expiry is renewed before the request is served. */
  private readonly marginMs: number;
  private advertised: string;
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly leases = new Map<string, HeldLease>();
  private readonly lostListeners: OwnershipListener[] = [];
  private readonly beforeReleaseHooks: Array<() => Promise<unknown>> = [];
  private started = false;
  /** When the last renewal started: the next renews only the leases used since. */
  private lastRenewAt = Number.NEGATIVE_INFINITY;
  private renewing: Promise<void> | undefined;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DatabaseService,
    private readonly repo: SessionLeaseRepository,
    @Optional() @Inject(SESSION_OWNERSHIP_OPTIONS) options: SessionOwnershipOptions | null = null,
    @Optional() @Inject(PeriodicJobs) private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    this.instanceId = config.instanceId;
    this.ttlMs = config.sessionLeaseTtlMs;
    this.marginMs = Math.floor(config.sessionLeaseTtlMs / 4);
    this.now = options?.now ?? Date.now;
    this.startedAt = this.now();
    // Until the engine listens and knows its port (PORT=0), the configured one.
    this.advertised = config.advertisedUrl ?? `http://${config.host}:${config.port}`;
  }

  get advertisedUrl(): string {
    return this.advertised;
  }

  /**
   * Starts the instance's heartbeat and the batch renewal (every third of the TTL, unref'd,
   * stopped at shutdown). `advertisedUrl`: the address once listening, unless ADVERTISED_URL set it.
   */
  async start(advertisedUrl?: string): Promise<void> {
    if (advertisedUrl !== undefined) this.advertised = advertisedUrl;
    if (this.closed || this.started) return;
    this.started = true;
    await this.renew();
    // A tick during a running renewal is skipped; close() waits for the one in flight.
    this.jobs.register(SESSION_LEASE_RENEW_JOB, {
      intervalMs: Math.max(50, Math.floor(this.ttlMs / 3)),
      run: () => (this.renewing ??= this.renew().finally(() => (this.renewing = undefined))),
      onError: (err) => this.logger.warn({ err }, 'session lease renewal failed; retrying'),
    });
  }

  /** Hot path: true while this instance holds the session's lease with time to spare. */
  holds(sessionId: string): boolean {
    const lease = this.leases.get(sessionId);
    if (lease === undefined) return false;
    const now = this.now();
    if (now >= lease.heldUntil - this.marginMs) return false;
    lease.usedAt = now;
    return true;
  }

  /** The token this instance's writes of the session carry; undefined if it never held it. */
  tokenOf(sessionId: string): number | undefined {
    return this.leases.get(sessionId)?.token;
  }

  /**
   * Takes (or renews) the session's lease in its own transaction; SESSION_ELSEWHERE if another
   * live instance holds it — found by a read first, so a refused request costs no transaction.
   */
  async acquire(sessionId: string): Promise<Claim> {
    await this.refuseIfElsewhere(sessionId);
    const known = this.tokenOf(sessionId);
    const result = await this.db.write((tx) => this.takeIn(tx, sessionId), { label: 'session.lease' });
    return this.record(sessionId, known, result);
  }

  /**
   * SESSION_ELSEWHERE when the lease row shows another instance holding the session and not
   * expired (a read, no transaction). The take still decides: this only spares the refused
   * request a write transaction.
   */
  async refuseIfElsewhere(sessionId: string): Promise<void> {
    if (this.closed) throw this.elsewhere(sessionId, { instance_id: this.instanceId, advertised_url: this.advertised, expires_at: this.now() });
    const row = await this.repo.lease(sessionId);
    if (row && row.instance_id !== null && row.instance_id !== this.instanceId && row.expires_at > this.now()) {
      this.logger.debug({ session_id: sessionId, owner: row.instance_id }, 'session leased elsewhere');
      throw this.elsewhere(sessionId, row);
    }
  }

  /** The take, inside the caller's write transaction (a session created with its lease); pass the result to `record`. */
  takeIn(tx: WriteTx, sessionId: string): Promise<TakeResult> {
    if (this.closed) throw this.elsewhere(sessionId, { instance_id: this.instanceId, advertised_url: this.advertised, expires_at: this.now() });
    return this.repo.take(tx, sessionId, this.instanceId, this.advertised, this.tokenOf(sessionId) ?? 0, this.now(), this.ttlMs);
  }

  /** Records a take's outcome: the lease held, or SESSION_ELSEWHERE with the owner. `known`: the token held before the take. */
  record(sessionId: string, known: number | undefined, result: TakeResult): Claim {
    if (!result.taken) {
      const owner = result.owner;
      this.logger.debug({ session_id: sessionId, owner: owner.instance_id }, 'session leased elsewhere');
      throw this.elsewhere(sessionId, owner);
    }
    const now = this.now();
    const continuous = known !== undefined && result.previous?.instance_id === this.instanceId && result.previous.token === known && result.token === known;
    if (!continuous && result.previous?.instance_id && result.previous.instance_id !== this.instanceId) {
      this.logger.log({ session_id: sessionId, from: result.previous.instance_id, token: result.token }, 'session taken over');
    }
    this.leases.set(sessionId, { token: result.token, heldUntil: result.expiresAt, usedAt: now });
    return { continuous, first: result.previous === undefined };
  }

  /** Called with a session this instance lost to another (its memory of it is stale). */
  onLost(listener: OwnershipListener): void {
    this.lostListeners.push(listener);
  }

  /** Work that must be durable before the leases go at shutdown (state flushes). */
  beforeRelease(hook: () => Promise<unknown>): void {
    this.beforeReleaseHooks.push(hook);
  }

  /** Gives up a session's lease (the session ended here). */
  async release(sessionId: string): Promise<void> {
    const lease = this.leases.get(sessionId);
    if (!lease) return;
    this.leases.delete(sessionId);
    await this.db.write((tx) => this.repo.release(tx, this.instanceId, [{ sessionId, token: lease.token }], this.now()), { label: 'session.lease.release' });
  }

  /**
   * One batch: the instance's heartbeat and the renewal of the leases of sessions used since the
   * previous renewal (a bot's lease so outlives its last request by at most a renewal interval
   * plus the TTL). A lease found gone to another instance is dropped (listeners evict the
   * session) — the renewed ones the renewal finds lost, and every lapsed one, whose row is read:
   * an idle bot that moved to another instance is let go here too. One that merely lapsed, with
   * nobody taking it since, keeps its token: taking it again later is continuous.
   */
  async renew(): Promise<void> {
    if (this.closed) return;
    const now = this.now();
    const since = this.lastRenewAt;
    const due: Array<{ sessionId: string; token: number }> = [];
    const lapsed: Array<{ sessionId: string; token: number }> = [];
    for (const [sessionId, lease] of this.leases) {
      if (lease.heldUntil <= now) lapsed.push({ sessionId, token: lease.token });
      else if (lease.usedAt > since) due.push({ sessionId, token: lease.token });
    }
    const renewed = await this.db.write(
      async (tx) => {
        const at = this.now();
        await this.repo.heartbeatInstance(tx, this.instanceId, this.advertised, this.startedAt, at, this.ttlMs);
        return { at, lost: await this.repo.renew(tx, this.instanceId, this.advertised, due, at, this.ttlMs) };
      },
      { label: 'session.lease.renew' },
    );
    // Requests since `now` are renewed by the next round.
    this.lastRenewAt = now;
    const lostSet = new Set(renewed.lost);
    for (const { sessionId, token } of due) {
      const lease = this.leases.get(sessionId);
      if (!lease || lease.token !== token) continue;
      if (!lostSet.has(sessionId)) {
        lease.heldUntil = renewed.at + this.ttlMs;
        continue;
      }
      lease.heldUntil = 0;
      await this.confirm(sessionId);
    }
    for (const { sessionId, token } of lapsed) {
      if (this.leases.get(sessionId)?.token === token) await this.confirm(sessionId);
    }
  }

  /**
   * Reads the session's lease row: true while it is still this instance's epoch (ours, live or
   * lapsed, or released by nobody else, under our token). Otherwise another instance has taken
   * it since: the session is dropped (listeners evict it) and false. False also when this
   * instance holds no lease of it.
   */
  async confirm(sessionId: string): Promise<boolean> {
    const lease = this.leases.get(sessionId);
    if (!lease) return false;
    const row = await this.repo.lease(sessionId);
    // Dropped or taken again here while the row was read: that newer state decides.
    if (this.leases.get(sessionId) !== lease) return this.leases.has(sessionId);
    if (!row || (row.token === lease.token && (row.instance_id === null || row.instance_id === this.instanceId))) return true;
    this.logger.log({ session_id: sessionId, owner: row.instance_id, token: row.token }, 'session lease lost to another instance');
    this.drop(sessionId);
    return false;
  }

  /** The session's row, written only while its lease is this instance's under `token` (see `writeSessionRows`). */
  upsertFenced(tx: WriteTx, upsert: SessionRowUpsert, sessionId: string, token: number | undefined): Promise<boolean> {
    return this.repo.upsertFenced(tx, upsert, sessionId, this.instanceId, token);
  }

  /** A state write refused by the fence: the session belongs to another instance now. */
  fenced(sessionId: string, token: number | undefined): void {
    const lease = this.leases.get(sessionId);
    if (lease && lease.token !== token) return; // taken again since: that write was of an older epoch
    this.logger.warn({ session_id: sessionId, token }, 'state write refused: the session is leased by another instance');
    this.drop(sessionId);
  }

  /** This instance and every live one with its live lease count. */
  async cluster(): Promise<{ instance: { instance_id: string; advertised_url: string; leases_held: number }; instances: InstanceRow[]; lease_ttl_ms: number }> {
    const now = this.now();
    let held = 0;
    for (const lease of this.leases.values()) if (lease.heldUntil > now) held += 1;
    return {
      instance: { instance_id: this.instanceId, advertised_url: this.advertised, leases_held: held },
      instances: await this.repo.liveInstances(now),
      lease_ttl_ms: this.ttlMs,
    };
  }

  /** Stops renewing; once the state is flushed, releases every lease and retires the instance. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.started) await this.jobs.stop(SESSION_LEASE_RENEW_JOB);
    await this.renewing;
    for (const hook of this.beforeReleaseHooks) {
      try {
        await hook();
      } catch (err) {
        this.logger.warn({ err }, 'flush before lease release failed');
      }
    }
    this.closed = true;
    const held = [...this.leases].map(([sessionId, lease]) => ({ sessionId, token: lease.token }));
    this.leases.clear();
    // No heartbeat ever written and no lease taken (SESSION_LEASES off: this instance is
    // constructed but unused): no row of it to retire, nothing to release, no write.
    if (held.length === 0 && this.lastRenewAt === Number.NEGATIVE_INFINITY) return;
    try {
      await this.db.write(
        async (tx) => {
          const now = this.now();
          // engine_instances before session_leases (TABLE_WRITE_ORDER).
          await this.repo.retireInstance(tx, this.instanceId, now);
          await this.repo.release(tx, this.instanceId, held, now);
        },
        { label: 'session.lease.release' },
      );
    } catch (err) {
      // The leases then expire after their TTL; nothing else to do on the way out.
      this.logger.warn({ err, leases: held.length }, 'could not release session leases at shutdown');
    }
  }

  // Before TypeORM closes the connection in its own shutdown hook.
  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private elsewhere(sessionId: string, owner: Pick<LeaseRow, 'instance_id' | 'advertised_url' | 'expires_at'>): SessionElsewhereError {
    return new SessionElsewhereError(sessionId, { instance_id: owner.instance_id ?? '', advertised_url: owner.advertised_url ?? '', expires_at: owner.expires_at });
  }

  private drop(sessionId: string): void {
    this.leases.delete(sessionId);
    for (const listener of this.lostListeners) {
      try {
        listener(sessionId);
      } catch (err) {
        this.logger.error({ err, session_id: sessionId }, 'session lost listener failed');
      }
    }
  }
}
