import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { type PruneContext, type PruneOutcome, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

const DAY_MS = 86_400_000;

/** metrics: rollups whose period ended more than METRICS_RETENTION_DAYS ago go, by their period index. */
@Injectable()
export class MetricRollupRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'metrics';
  private readonly maxAgeMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {
    this.maxAgeMs = config.metricsRetentionDays * DAY_MS;
  }

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    if (this.maxAgeMs === 0) return 'kept forever (METRICS_RETENTION_DAYS=0)';
    return `rollups older than ${this.maxAgeMs / DAY_MS}d are deleted (METRICS_RETENTION_DAYS)`;
  }

  async prune(ctx: PruneContext): Promise<PruneOutcome> {
    if (this.maxAgeMs === 0) return { deleted: 0 };
    const cutoff = ctx.now - this.maxAgeMs;
    let deleted = 0;
    for (;;) {
      const n = await ctx.batch(
        async (tx) => (await tx.run('DELETE FROM metrics WHERE id IN (SELECT id FROM metrics WHERE period_end < ? ORDER BY period_end LIMIT ?)', [cutoff, ctx.batchRows])).changes,
      );
      deleted += n;
      if (n < ctx.batchRows) return { deleted };
    }
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number | null }>('SELECT MIN(period_end) AS t FROM metrics');
    return row?.t == null ? null : Number(row.t);
  }
}
