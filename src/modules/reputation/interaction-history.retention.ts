import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { formatDuration, type PruneContext, type PruneOutcome, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

const PLAYERS_PER_PAGE = 256;

/**
 * interaction_history: per player, the newest RETENTION_INTERACTIONS_KEEP rows and every row
 * younger than RETENTION_INTERACTIONS stay; the rest go. Scores and totals live in
 * player_reputation and are never touched. Only players whose lifetime count exceeds the number
 * kept can have anything to delete, so the walk skips the rest by their totals.
 */
@Injectable()
export class InteractionHistoryRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'interaction_history';
  private readonly maxAgeMs: number;
  private readonly keep: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {
    this.maxAgeMs = config.retentionInteractionsMs;
    this.keep = config.retentionInteractionsKeep;
  }

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    if (this.maxAgeMs === 0) return 'kept forever (RETENTION_INTERACTIONS=0)';
    return `per player the newest ${this.keep} rows (RETENTION_INTERACTIONS_KEEP) and every row younger than ${formatDuration(this.maxAgeMs)} (RETENTION_INTERACTIONS); reputation scores are never touched`;
  }

  async prune(ctx: PruneContext): Promise<PruneOutcome> {
    if (this.maxAgeMs === 0) return { deleted: 0 };
    const cutoff = ctx.now - this.maxAgeMs;
    let deleted = 0;
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const players = await ctx.all<{ player_id: number }>(
        'SELECT player_id FROM player_reputation WHERE player_id > ? AND total_interactions > ? ORDER BY player_id LIMIT ?',
        [after, this.keep, PLAYERS_PER_PAGE],
      );
      for (const { player_id: player } of players) {
        // Rows at or below this id are beyond the player's newest `keep`.
        const bound = this.keep === 0 ? Number.MAX_SAFE_INTEGER : (await ctx.get<{ id: number }>('SELECT id FROM interaction_history WHERE player_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?', [player, this.keep]))?.id;
        if (bound === undefined) continue;
        if (!(await ctx.get('SELECT 1 AS x FROM interaction_history WHERE player_id = ? AND id <= ? AND created_at < ? LIMIT 1', [player, bound, cutoff]))) continue;
        for (;;) {
          const n = await ctx.batch(
            async (tx) =>
              (
                await tx.run(
                  `DELETE FROM interaction_history WHERE id IN (
                     SELECT id FROM interaction_history WHERE player_id = ? AND id <= ? AND created_at < ? ORDER BY id LIMIT ?)`,
                  [player, bound, cutoff, ctx.batchRows],
                )
              ).changes,
          );
          deleted += n;
          if (n < ctx.batchRows) break;
        }
      }
      if (players.length < PLAYERS_PER_PAGE) return { deleted };
      after = Number(players[players.length - 1].player_id);
      await ctx.pause();
    }
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number }>('SELECT created_at AS t FROM interaction_history ORDER BY id LIMIT 1');
    return row ? Number(row.t) : null;
  }
}
