import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { formatDuration, type PruneContext, type PruneOutcome, pruneBelowId, pruneOldestFirst, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

/**
 * decision_log (only read offline): rows older than RETENTION_DECISION_LOG go, oldest first, and
 * beyond RETENTION_DECISION_LOG_ROWS rows the oldest go too — at a farm's rate the age alone would
 * keep tens of GB (README "Disk use"), the count bounds the file whatever the farm's size. Rows are
 * only ever deleted from the front, so ids stay dense and the newest N rows are the N highest ids.
 */
@Injectable()
export class DecisionLogRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'decision_log';
  private readonly maxAgeMs: number;
  private readonly maxRows: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {
    this.maxAgeMs = config.retentionDecisionLogMs;
    this.maxRows = config.retentionDecisionLogRows;
  }

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    const age = this.maxAgeMs === 0 ? 'no age limit (RETENTION_DECISION_LOG=0)' : `rows older than ${formatDuration(this.maxAgeMs)} are deleted (RETENTION_DECISION_LOG)`;
    const cap = this.maxRows === 0 ? 'no row cap (RETENTION_DECISION_LOG_ROWS=0)' : `at most the newest ${this.maxRows} rows (RETENTION_DECISION_LOG_ROWS)`;
    return `${age}; ${cap}`;
  }

  async prune(ctx: PruneContext): Promise<PruneOutcome> {
    let deleted = 0;
    if (this.maxAgeMs > 0) deleted += await pruneOldestFirst(ctx, 'decision_log', 'created_at', ctx.now - this.maxAgeMs);
    if (this.maxRows > 0) {
      const newest = (await ctx.get<{ id: number | null }>('SELECT MAX(id) AS id FROM decision_log'))?.id ?? null;
      if (newest !== null) deleted += await pruneBelowId(ctx, 'decision_log', newest - this.maxRows + 1);
    }
    return { deleted };
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number }>('SELECT created_at AS t FROM decision_log ORDER BY id LIMIT 1');
    return row ? Number(row.t) : null;
  }
}
