import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { formatDuration, type PruneContext, type PruneOutcome, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

/**
 * game_state_snapshots holds one row per session (its latest state, to resume after a restart).
 * An active session's is always kept; a session expired longer ago than RETENTION_SNAPSHOTS will
 * never be resumed, and its snapshot goes. The session row itself stays (small, and memories
 * and interactions name it).
 */
@Injectable()
export class SnapshotRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'game_state_snapshots';
  private readonly maxAgeMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {
    this.maxAgeMs = config.retentionSnapshotsMs;
  }

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    if (this.maxAgeMs === 0) return 'the latest per session, kept forever (RETENTION_SNAPSHOTS=0)';
    return `the latest per session; a session's is deleted once it expired more than ${formatDuration(this.maxAgeMs)} ago (RETENTION_SNAPSHOTS)`;
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
              `DELETE FROM game_state_snapshots WHERE session_id IN (
                 SELECT s.session_id FROM game_state_snapshots s JOIN player_sessions p ON p.session_id = s.session_id
                 WHERE p.status = 'expired' AND p.expired_at < ? LIMIT ?)`,
              [cutoff, ctx.batchRows],
            )
          ).changes,
      );
      deleted += n;
      if (n < ctx.batchRows) return { deleted };
    }
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number | null }>('SELECT MIN(updated_at) AS t FROM game_state_snapshots');
    return row?.t == null ? null : Number(row.t);
  }
}
