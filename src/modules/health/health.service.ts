import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { StorageGuard } from '../../common/database/storage-guard';
import { RequestStats } from '../../common/http/request-stats';
import { SessionService } from '../session';

export type ComponentStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface ComponentHealth {
  status: ComponentStatus;
  detail?: string;
}

/** A decision tier or subsystem reports its own health; modules register one at init. */
export type HealthIndicatorFn = () => ComponentHealth;

export interface EngineHealth {
  status: ComponentStatus;
  uptime_seconds: number;
  active_sessions: number;
  decision_engines: Record<string, ComponentHealth>;
  components: Record<string, ComponentHealth>;
  performance: ReturnType<RequestStats['snapshot']>;
  issues: string[];
  timestamp: string;
}

@Injectable()
export class HealthService {
  private readonly logger = new Logger(HealthService.name);
  private readonly engines = new Map<string, HealthIndicatorFn>();
  private readonly components = new Map<string, HealthIndicatorFn>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sessions: SessionService,
    private readonly stats: RequestStats,
    private readonly storage: StorageGuard,
  ) {}

  registerDecisionEngine(name: string, fn: HealthIndicatorFn): void {
    this.engines.set(name, fn);
  }

  registerComponent(name: string, fn: HealthIndicatorFn): void {
    this.components.set(name, fn);
  }

  /** One decision tier's own report (undefined when no module registered it). */
  decisionEngineHealth(name: string): ComponentHealth | undefined {
    const fn = this.engines.get(name);
    return fn ? safe(fn) : undefined;
  }

  async databaseHealth(): Promise<ComponentHealth> {
    try {
      if (!this.dataSource.isInitialized) return { status: 'unhealthy', detail: 'database not initialized' };
      if (this.dataSource.options.type === 'postgres') {
        // A round trip to the server on a pooled connection, bounded: a server that does not
        // answer makes the check fail, not hang.
        await withTimeout(this.dataSource.query('SELECT 1'), DB_PING_TIMEOUT_MS, 'PostgreSQL did not answer a ping');
        return { status: 'healthy' };
      }
      // better-sqlite3 is synchronous: a ping is a microsecond query on the open connection.
      const db = (this.dataSource.driver as unknown as { databaseConnection: import('better-sqlite3').Database }).databaseConnection;
      db.prepare('SELECT 1').get();
      return { status: 'healthy' };
    } catch (err) {
      this.logger.error({ err }, 'database ping failed');
      return { status: 'unhealthy', detail: (err as Error).message };
    }
  }

  /** Free space under DATA_DIR: degraded when low or shedding, unhealthy while writes fail for lack of space. */
  diskHealth(): ComponentHealth {
    return this.storage.health();
  }

  async check(): Promise<EngineHealth> {
    const issues: string[] = [];
    const components: Record<string, ComponentHealth> = { database: await this.databaseHealth(), disk: this.diskHealth() };
    for (const [name, fn] of this.components) components[name] = safe(fn);
    const engines: Record<string, ComponentHealth> = {};
    for (const [name, fn] of this.engines) engines[name] = safe(fn);

    let status: ComponentStatus = 'healthy';
    for (const [name, c] of Object.entries(components)) {
      if (c.status !== 'healthy') issues.push(`${name}: ${c.status}${c.detail ? ` (${c.detail})` : ''}`);
      if (c.status === 'unhealthy' && name === 'database') status = 'unhealthy';
      else if (c.status !== 'healthy' && status === 'healthy') status = 'degraded';
    }
    for (const [name, e] of Object.entries(engines)) {
      if (e.status !== 'healthy') {
        issues.push(`decision engine ${name}: ${e.status}${e.detail ? ` (${e.detail})` : ''}`);
        if (status === 'healthy') status = 'degraded';
      }
    }
    return {
      status,
      uptime_seconds: this.stats.uptimeSeconds,
      active_sessions: this.sessions.activeCount,
      decision_engines: engines,
      components,
      performance: this.stats.snapshot(),
      issues,
      timestamp: new Date().toISOString(),
    };
  }
}

/** Bound of the PostgreSQL ping of a health check. */
const DB_PING_TIMEOUT_MS = 2_000;

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function safe(fn: HealthIndicatorFn): ComponentHealth {
  try {
    return fn();
  } catch (err) {
    return { status: 'unhealthy', detail: (err as Error).message };
  }
}
