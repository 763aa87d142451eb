import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { formatDuration, type PruneContext, type PruneOutcome, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { PDCA_HISTORY_KEEP } from './pdca-cycle.store';

/**
 * pdca_cycles: finished cycles older than RETENTION_PDCA go (and the store keeps at most
 * PDCA_HISTORY_KEEP rows); a running cycle's row is never deleted, however old.
 */
@Injectable()
export class PdcaCycleRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'pdca_cycles';
  private readonly maxAgeMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {
    this.maxAgeMs = config.retentionPdcaMs;
  }

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    const age = this.maxAgeMs === 0 ? '' : `finished cycles older than ${formatDuration(this.maxAgeMs)} are deleted (RETENTION_PDCA); `;
    return `${age}at most the newest ${PDCA_HISTORY_KEEP} rows; a running cycle is never deleted`;
  }

  async prune(ctx: PruneContext): Promise<PruneOutcome> {
    if (this.maxAgeMs === 0) return { deleted: 0 };
    const cutoff = ctx.now - this.maxAgeMs;
    let deleted = 0;
    for (;;) {
      const n = await ctx.batch(
        async (tx) =>
          (
            await tx.run(
              `DELETE FROM pdca_cycles WHERE id IN (
                 SELECT id FROM pdca_cycles WHERE status <> 'running' AND finished_at < ? ORDER BY id LIMIT ?)`,
              [cutoff, ctx.batchRows],
            )
          ).changes,
      );
      deleted += n;
      if (n < ctx.batchRows) return { deleted };
    }
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number }>('SELECT started_at AS t FROM pdca_cycles ORDER BY id LIMIT 1');
    return row ? Number(row.t) : null;
  }
}
