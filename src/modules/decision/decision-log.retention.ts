import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { formatDuration, type PruneContext, type PruneOutcome, pruneOldestFirst, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

/** decision_log: rows older than RETENTION_DECISION_LOG go, oldest first (the table is only read offline). */
@Injectable()
export class DecisionLogRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'decision_log';
  private readonly maxAgeMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {
    this.maxAgeMs = config.retentionDecisionLogMs;
  }

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    if (this.maxAgeMs === 0) return 'kept forever (RETENTION_DECISION_LOG=0)';
    return `rows older than ${formatDuration(this.maxAgeMs)} are deleted (RETENTION_DECISION_LOG)`;
  }

  async prune(ctx: PruneContext): Promise<PruneOutcome> {
    if (this.maxAgeMs === 0) return { deleted: 0 };
    return { deleted: await pruneOldestFirst(ctx, 'decision_log', 'created_at', ctx.now - this.maxAgeMs) };
  }

  oldestRowAt(ctx: Pick<PruneContext, 'get'>): number | null {
    const row = ctx.get<{ t: number }>('SELECT created_at AS t FROM decision_log ORDER BY id LIMIT 1');
    return row ? Number(row.t) : null;
  }
}
