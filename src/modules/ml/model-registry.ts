import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../../common/database/database.service';
import { FlagService } from '../flags';
import type { ModelOrigin, ModelRegistryStatus } from './entities/model-registry.entity';
import { MODEL_VERSION_COUNTER } from './ml.constants';

export interface RegistryRow {
  version: number;
  path: string;
  sha256: string;
  size_bytes: number;
  origin: ModelOrigin;
  status: ModelRegistryStatus;
  metrics: Record<string, unknown> | null;
  previous_version: number | null;
  created_at: number;
  promoted_at: number | null;
}

export interface NewRegistryEntry {
  path: string;
  sha256: string;
  sizeBytes: number;
  origin: ModelOrigin;
  metrics: Record<string, unknown> | null;
  previousVersion: number | null;
}

/** Persistence of model versions; the manager depends on this interface (tests use a map). */
export interface ModelRegistry {
  /** Allocates the next version (unique across processes) and records it as `pending`. */
  allocate(entry: NewRegistryEntry): Promise<number>;
  markPromoted(version: number, promotedAt: number): Promise<void>;
  markFailed(version: number): Promise<void>;
  /** The highest promoted version, if any. */
  lastPromoted(): Promise<RegistryRow | undefined>;
  list(limit: number): Promise<RegistryRow[]>;
}

export const MODEL_REGISTRY = Symbol('MODEL_REGISTRY');

interface RawRow extends Omit<RegistryRow, 'metrics'> {
  metrics: string | null;
}

function fromRaw(r: RawRow): RegistryRow {
  return {
    version: Number(r.version),
    path: r.path,
    sha256: r.sha256,
    size_bytes: Number(r.size_bytes),
    origin: r.origin,
    status: r.status,
    metrics: r.metrics === null ? null : (JSON.parse(r.metrics) as Record<string, unknown>),
    previous_version: r.previous_version === null ? null : Number(r.previous_version),
    created_at: Number(r.created_at),
    promoted_at: r.promoted_at === null ? null : Number(r.promoted_at),
  };
}

/** `model_registry` through the database helper; the version is MAX+1 under BEGIN IMMEDIATE. */
@Injectable()
export class SqlModelRegistry implements ModelRegistry {
  constructor(
    private readonly db: DatabaseService,
    private readonly flags: FlagService,
  ) {}

  allocate(entry: NewRegistryEntry): Promise<number> {
    return this.db.write(
      async (tx) => {
        const next = Number((await tx.get<{ v: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM model_registry'))!.v);
        await tx.run(
          `INSERT INTO model_registry (version, path, sha256, size_bytes, origin, status, metrics, previous_version, created_at)
           VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
          [next, entry.path, entry.sha256, entry.sizeBytes, entry.origin, entry.metrics ? JSON.stringify(entry.metrics) : null, entry.previousVersion, Date.now()],
        );
        return next;
      },
      // MAX + 1: serializable on PostgreSQL, so two instances allocating at once cannot both take it.
      { label: 'ml.registry.allocate', isolation: 'serializable' },
    );
  }

  async markPromoted(version: number, promotedAt: number): Promise<void> {
    await this.db.write(
      async (tx) => {
        await tx.run(`UPDATE model_registry SET status = 'promoted', promoted_at = ? WHERE version = ?`, [promotedAt, version]);
        // The cross-process model_version counter (docs/architecture.md §4.2): other processes can watch it.
        // process_flags comes after model_registry in the table write order.
        await this.flags.incrementVersionIn(tx, MODEL_VERSION_COUNTER);
      },
      { label: 'ml.registry.promoted' },
    );
  }

  async markFailed(version: number): Promise<void> {
    await this.db.write((tx) => tx.run(`UPDATE model_registry SET status = 'failed' WHERE version = ? AND status = 'pending'`, [version]), {
      label: 'ml.registry.failed',
    });
  }

  async lastPromoted(): Promise<RegistryRow | undefined> {
    const row = await this.db.get<RawRow>(`SELECT * FROM model_registry WHERE status = 'promoted' ORDER BY version DESC LIMIT 1`);
    return row ? fromRaw(row) : undefined;
  }

  async list(limit: number): Promise<RegistryRow[]> {
    return (await this.db.all<RawRow>('SELECT * FROM model_registry ORDER BY version DESC LIMIT ?', [limit])).map(fromRaw);
  }
}

/** In-memory registry for unit tests and benchmarks. */
export class MemoryModelRegistry implements ModelRegistry {
  readonly rows = new Map<number, RegistryRow>();

  async allocate(entry: NewRegistryEntry): Promise<number> {
    await Promise.resolve();
    const version = Math.max(0, ...this.rows.keys()) + 1;
    this.rows.set(version, {
      version,
      path: entry.path,
      sha256: entry.sha256,
      size_bytes: entry.sizeBytes,
      origin: entry.origin,
      status: 'pending',
      metrics: entry.metrics,
      previous_version: entry.previousVersion,
      created_at: Date.now(),
      promoted_at: null,
    });
    return version;
  }

  async markPromoted(version: number, promotedAt: number): Promise<void> {
    await Promise.resolve();
    const row = this.rows.get(version);
    if (row) this.rows.set(version, { ...row, status: 'promoted', promoted_at: promotedAt });
  }

  async markFailed(version: number): Promise<void> {
    await Promise.resolve();
    const row = this.rows.get(version);
    if (row?.status === 'pending') this.rows.set(version, { ...row, status: 'failed' });
  }

  lastPromoted(): Promise<RegistryRow | undefined> {
    return Promise.resolve([...this.rows.values()].filter((r) => r.status === 'promoted').sort((a, b) => b.version - a.version)[0]);
  }

  list(limit: number): Promise<RegistryRow[]> {
    return Promise.resolve([...this.rows.values()].sort((a, b) => b.version - a.version).slice(0, limit));
  }
}
