import { type BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { DatabaseService, type WriteTx } from '../../common/database/database.service';
import { ServiceUnavailableError } from '../../common/errors/app.error';
import { assertFlagName, assertTtl } from './flag.constants';
import { FlagKindMismatchError } from './flag.errors';
import { PeriodicJobs } from '../../common/scheduling';

export const FLAG_SERVICE_OPTIONS = Symbol('FLAG_SERVICE_OPTIONS');

export interface FlagServiceOptions {
  /**
   * Clock (epoch ms). Every process on one database file runs on the same host and reads the
   * same wall clock, so leases compare times from different processes; tests pass a fake clock.
   */
  now?: () => number;
  /** Owner id override (tests). Default `<hostname>:<pid>:<random hex>`. */
  ownerId?: string;
}

export interface LeaseOptions {
  /** Renew the lease every ttl/3 on an unref'd timer until it is released (default true). */
  heartbeat?: boolean;
  /** Called once if the lease is found lost (expired, or taken over after expiry). */
  onLost?: (lease: FlagLease) => void;
}

/** A held flag. `token` is a fencing token: every acquisition of the flag gets a larger one. */
export class FlagLease {
  lost = false;
  released = false;

  constructor(
    readonly flag: string,
    readonly owner: string,
    readonly token: number,
    readonly ttlMs: number,
    public expiresAt: number,
  ) {}

  /** Still ours as far as this process knows (not released, no failed heartbeat). */
  get active(): boolean {
    return !this.lost && !this.released;
  }
}

export interface FlagState {
  name: string;
  kind: 'flag' | 'counter';
  /** Flag: held now (an owner and an expiry in the future). Counter: false. */
  held: boolean;
  owner: string | null;
  token: number;
  value: number;
  acquired_at: number | null;
  expires_at: number | null;
  heartbeat_at: number | null;
  updated_at: number;
}

interface FlagRow {
  name: string;
  kind: 'flag' | 'counter';
  owner: string | null;
  token: number;
  value: number;
  acquired_at: number | null;
  expires_at: number | null;
  heartbeat_at: number | null;
  updated_at: number;
}

/**
 * Compare-and-set in one statement: insert the flag held by us, or take the existing row over
 * only if it is free or its lease has expired. Either the row changes (we hold the flag) or it
 * does not (someone else holds a live lease). Portable: SQLite ≥ 3.24 and PostgreSQL share
 * INSERT … ON CONFLICT … DO UPDATE … WHERE.
 */
const ACQUIRE_SQL = `
  INSERT INTO process_flags (name, kind, owner, token, value, acquired_at, expires_at, heartbeat_at, updated_at)
  VALUES (?, 'flag', ?, 1, 0, ?, ?, ?, ?)
  ON CONFLICT (name) DO UPDATE SET
    owner = excluded.owner,
    token = process_flags.token + 1,
    acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at,
    heartbeat_at = excluded.heartbeat_at,
    updated_at = excluded.updated_at
  WHERE process_flags.kind = 'flag'
    AND (process_flags.owner IS NULL OR process_flags.expires_at <= excluded.acquired_at)`;

/** Renewal: only by the holder of this very acquisition (owner + token), only while unexpired. */
const HEARTBEAT_SQL = `
  UPDATE process_flags SET expires_at = ?, heartbeat_at = ?, updated_at = ?
  WHERE name = ? AND owner = ? AND token = ? AND expires_at > ?`;

const RELEASE_SQL = `
  UPDATE process_flags SET owner = NULL, expires_at = NULL, heartbeat_at = NULL, updated_at = ?
  WHERE name = ? AND owner = ? AND token = ?`;

const INCREMENT_SQL = `
  INSERT INTO process_flags (name, kind, token, value, updated_at)
  VALUES (?, 'counter', 0, 1, ?)
  ON CONFLICT (name) DO UPDATE SET value = process_flags.value + 1, updated_at = excluded.updated_at
  WHERE process_flags.kind = 'counter'`;

/** Prefix of the heartbeat jobs, one per lease held: `flags.heartbeat:<flag>#<token>`. */
export const FLAG_HEARTBEAT_JOB = 'flags.heartbeat';

/**
 * Cross-process flags and version counters (docs/architecture.md §4.2) in the `process_flags` table, shared by
 * every engine process on the database file. The spec's shared-memory atomics become SQL:
 * the compare-and-set is one conditional upsert inside a BEGIN IMMEDIATE transaction, and a flag
 * is a lease (owner = host:pid:random instance id, expiry, heartbeat), so a process that dies
 * holding a flag holds it only until the lease runs out instead of forever.
 *
 * Holders must treat `onLost` (or `lease.active === false`) as "stop": a lease whose heartbeat
 * came too late is lost even if nobody has taken the flag yet, because another process may
 * already have seen it free.
 */
@Injectable()
export class FlagService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(FlagService.name);
  readonly ownerId: string;
  private readonly now: () => number;
  /** Leases this process holds, with their heartbeat timers. */
  private readonly leases = new Map<FlagLease, { job?: string; onLost?: (l: FlagLease) => void }>();
  private closed = false;

  constructor(
    private readonly db: DatabaseService,
    @Optional() @Inject(FLAG_SERVICE_OPTIONS) options: FlagServiceOptions | null = null,
    @Optional() private readonly jobs: PeriodicJobs = PeriodicJobs.standalone(),
  ) {
    this.now = options?.now ?? Date.now;
    this.ownerId = options?.ownerId ?? `${os.hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  }

  /** Takes `flag` for `ttlMs` if it is free or its lease expired; null while someone holds it. */
  async tryAcquire(flag: string, ttlMs: number, options: LeaseOptions = {}): Promise<FlagLease | null> {
    assertFlagName(flag);
    assertTtl(ttlMs);
    if (this.closed) throw new ServiceUnavailableError('Flag service is shut down');
    const owner = this.ownerId;
    const won = await this.db.write(
      async (tx) => {
        // The time is read under SQLite's write lock: it is the instant of the compare-and-set.
        const now = this.now();
        const { changes } = await tx.run(ACQUIRE_SQL, [flag, owner, now, now + ttlMs, now, now]);
        const row = await tx.get<{ kind: string; token: number; expires_at: number | null }>(
          'SELECT kind, token, expires_at FROM process_flags WHERE name = ?',
          [flag],
        );
        if (changes === 0) {
          if (row && row.kind !== 'flag') throw new FlagKindMismatchError(flag, 'flag');
          return null;
        }
        return { token: Number(row!.token), expiresAt: Number(row!.expires_at) };
      },
      { label: 'flags.acquire' },
    );
    if (!won) return null;
    const lease = new FlagLease(flag, owner, won.token, ttlMs, won.expiresAt);
    this.track(lease, options);
    this.logger.debug({ flag, owner, token: lease.token, ttl_ms: ttlMs }, 'flag acquired');
    return lease;
  }

  /**
   * Runs `fn` while holding `flag` (heartbeat on), releasing it afterwards. Returns
   * `{acquired: false}` at once if someone else holds the flag.
   */
  async withLease<T>(
    flag: string,
    ttlMs: number,
    fn: (lease: FlagLease) => Promise<T> | T,
  ): Promise<{ acquired: true; value: T } | { acquired: false; holder: FlagState | null }> {
    const lease = await this.tryAcquire(flag, ttlMs);
    if (!lease) return { acquired: false, holder: await this.get(flag) };
    try {
      return { acquired: true, value: await fn(lease) };
    } finally {
      await this.release(lease);
    }
  }

  /** Extends the lease by its TTL; false (and the lease is marked lost) if it was no longer ours. */
  async heartbeat(lease: FlagLease): Promise<boolean> {
    if (!lease.active) return false;
    const changes = await this.db.write(
      async (tx) => {
        const now = this.now();
        const res = await tx.run(HEARTBEAT_SQL, [now + lease.ttlMs, now, now, lease.flag, lease.owner, lease.token, now]);
        if (res.changes === 1) lease.expiresAt = now + lease.ttlMs;
        return res.changes;
      },
      { label: 'flags.heartbeat' },
    );
    if (changes === 0) {
      this.markLost(lease);
      return false;
    }
    return true;
  }

  /** Gives the flag up; false if it was already lost or released. Stops the heartbeat either way. */
  async release(lease: FlagLease): Promise<boolean> {
    const state = this.leases.get(lease);
    if (state?.job) void this.jobs.remove(state.job);
    this.leases.delete(lease);
    if (!lease.active) return false;
    lease.released = true;
    const changes = await this.db.write(
      async (tx) => (await tx.run(RELEASE_SQL, [this.now(), lease.flag, lease.owner, lease.token])).changes,
      { label: 'flags.release' },
    );
    this.logger.debug({ flag: lease.flag, token: lease.token, released: changes === 1 }, 'flag released');
    return changes === 1;
  }

  /** True while some process holds a live lease on `flag`. */
  async isSet(flag: string): Promise<boolean> {
    return (await this.get(flag))?.held ?? false;
  }

  async get(name: string): Promise<FlagState | null> {
    assertFlagName(name);
    const row = await this.db.get<FlagRow>('SELECT * FROM process_flags WHERE name = ?', [name]);
    return row ? this.toState(row) : null;
  }

  async list(): Promise<FlagState[]> {
    return (await this.db.all<FlagRow>('SELECT * FROM process_flags ORDER BY kind, name')).map((r) => this.toState(r));
  }

  /** Atomically adds one to a version counter (created at 1); returns the new value. */
  incrementVersion(counter: string): Promise<number> {
    assertFlagName(counter);
    return this.db.write((tx) => this.incrementVersionIn(tx, counter), { label: 'flags.increment' });
  }

  /**
   * The same inside a caller's write transaction, so a version bump commits or rolls back with
   * the change it versions. process_flags is last in TABLE_WRITE_ORDER: bump at the end.
   */
  async incrementVersionIn(tx: WriteTx, counter: string): Promise<number> {
    assertFlagName(counter);
    const { changes } = await tx.run(INCREMENT_SQL, [counter, this.now()]);
    if (changes === 0) throw new FlagKindMismatchError(counter, 'counter');
    return Number((await tx.get<{ value: number }>('SELECT value FROM process_flags WHERE name = ?', [counter]))!.value);
  }

  async getVersion(counter: string): Promise<number> {
    assertFlagName(counter);
    const row = await this.db.get<{ value: number; kind: string }>('SELECT value, kind FROM process_flags WHERE name = ?', [counter]);
    if (row && row.kind !== 'counter') throw new FlagKindMismatchError(counter, 'counter');
    return row ? Number(row.value) : 0;
  }

  /** Leases this process holds. */
  heldLeases(): FlagLease[] {
    return [...this.leases.keys()];
  }

  /** Stops every heartbeat and releases every lease this process holds (best effort). */
  async close(): Promise<void> {
    this.closed = true;
    const held = [...this.leases.keys()];
    for (const state of this.leases.values()) if (state.job) void this.jobs.remove(state.job);
    for (const lease of held) {
      try {
        await this.release(lease);
      } catch (err) {
        // The lease then simply expires; nothing else to do on the way out.
        this.logger.warn({ err, flag: lease.flag }, 'could not release flag at shutdown');
      }
    }
  }

  // Before TypeORM closes the connection in its own shutdown hook.
  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private track(lease: FlagLease, options: LeaseOptions): void {
    const state: { job?: string; onLost?: (l: FlagLease) => void } = { onLost: options.onLost };
    this.leases.set(lease, state);
    if (options.heartbeat === false) return;
    const every = Math.max(5, Math.floor(lease.ttlMs / 3));
    // One job per lease (the token tells two leases of one flag apart); a beat still running when
    // the next is due is skipped; unref'd: a heartbeat never keeps a process alive on its own.
    state.job = `${FLAG_HEARTBEAT_JOB}:${lease.flag}#${lease.token}`;
    this.jobs.register(state.job, {
      intervalMs: every,
      run: () => (lease.active ? this.heartbeat(lease) : undefined),
      onError: (err) => this.logger.warn({ err, flag: lease.flag }, 'flag heartbeat failed; retrying'),
    });
  }

  private markLost(lease: FlagLease): void {
    if (lease.lost) return;
    lease.lost = true;
    const state = this.leases.get(lease);
    if (state?.job) void this.jobs.remove(state.job);
    this.leases.delete(lease);
    this.logger.warn({ flag: lease.flag, token: lease.token }, 'flag lease lost');
    try {
      state?.onLost?.(lease);
    } catch (err) {
      this.logger.error({ err, flag: lease.flag }, 'onLost callback failed');
    }
  }

  private toState(row: FlagRow): FlagState {
    const expires = row.expires_at === null ? null : Number(row.expires_at);
    return {
      name: row.name,
      kind: row.kind,
      held: row.kind === 'flag' && row.owner !== null && expires !== null && expires > this.now(),
      owner: row.owner,
      token: Number(row.token),
      value: Number(row.value),
      acquired_at: row.acquired_at === null ? null : Number(row.acquired_at),
      expires_at: expires,
      heartbeat_at: row.heartbeat_at === null ? null : Number(row.heartbeat_at),
      updated_at: Number(row.updated_at),
    };
  }
}
