import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { LockManager } from '../../common/concurrency';
import { applyMigrations, openStandaloneDatabase, type StandaloneDatabase } from '../../common/database/database.test-kit';
import { MIGRATIONS } from '../../common/database/migrations';
import type { AppConfig } from '../../config/app-config';
import { SessionLeaseRepository } from './session-lease.repository';
import { SessionOwnership } from './session-ownership.service';
import { SessionService } from './session.service';

/** The lease TTL of the instances of an `OwnershipTestCluster` (ms on its fake clock). */
export const OWNERSHIP_TEST_TTL_MS = 3_000;

/** No session rows at boot (the table is read through the repository instead). */
const noRows = { isInitialized: true, getRepository: () => ({ find: () => Promise.resolve([]) }) } as unknown as DataSource;

/** One engine instance: its own connection and locks (as another process has), on the cluster's file. */
export interface OwnershipTestInstance {
  readonly locks: LockManager;
  readonly db: StandaloneDatabase;
  readonly repo: SessionLeaseRepository;
  readonly ownership: SessionOwnership;
  readonly sessions: SessionService;
}

/**
 * Engine instances with session leases on one migrated SQLite file and one fake clock, for the
 * specs of what ownership moves between instances (session, state, memory). `instance(id, add,
 * stop)` builds one, with the services a spec adds on top; `close()` stops them (theirs first)
 * and removes the file.
 */
export class OwnershipTestCluster {
  /** The instances' clock (epoch ms): a spec moves it past a lease's TTL. */
  clock = 1_000_000;
  private readonly stops: Array<() => Promise<void>> = [];

  private constructor(private readonly dir: string) {}

  /** Moves the clock on (past a lease's TTL: `OWNERSHIP_TEST_TTL_MS + 1`). */
  advance(ms: number): void {
    this.clock += ms;
  }

  static async open(): Promise<OwnershipTestCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-own-'));
    const setup = openStandaloneDatabase(path.join(dir, 'db.sqlite'));
    try {
      await applyMigrations(setup.connection, MIGRATIONS);
    } finally {
      setup.close();
    }
    return new OwnershipTestCluster(dir);
  }

  async instance<T extends object = object>(
    id: string,
    add?: (base: OwnershipTestInstance) => T | Promise<T>,
    stop?: (made: OwnershipTestInstance & T) => Promise<void>,
  ): Promise<OwnershipTestInstance & T> {
    const locks = new LockManager();
    const db = openStandaloneDatabase(path.join(this.dir, 'db.sqlite'), locks);
    const config = { instanceId: id, sessionLeaseTtlMs: OWNERSHIP_TEST_TTL_MS, sessionTtlMs: 3_600_000, host: '127.0.0.1', port: 1, advertisedUrl: `http://${id}.test:9901` } as AppConfig;
    const repo = new SessionLeaseRepository(db.service);
    const ownership = new SessionOwnership(config, db.service, repo, { now: () => this.clock });
    const sessions = new SessionService(config, noRows, db.service, undefined, ownership, repo);
    const base = { locks, db, repo, ownership, sessions };
    try {
      await sessions.onModuleInit();
    } catch (err) {
      db.close();
      throw err;
    }
    const made = { ...base, ...(add ? await add(base) : ({} as T)) };
    this.stops.push(async () => {
      try {
        await stop?.(made);
        await sessions.beforeApplicationShutdown();
      } finally {
        db.close();
      }
    });
    return made;
  }

  async close(): Promise<void> {
    try {
      for (const stop of this.stops.splice(0)) await stop();
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
