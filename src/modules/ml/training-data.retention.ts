import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { nthNewestId, type PruneContext, type PruneOutcome, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { FlagService } from '../flags';
import { TRAINING_FLAG } from './ml.constants';

const HELD = 'a training run is reading the table (training_in_progress)';

/**
 * training_data keeps what the trainer can use and what feedback labelled:
 * - the newest RETENTION_TRAINING_ROWS usable (successful) samples — the trainer reads the newest
 *   ML_TRAIN_MAX_SAMPLES of them, the default keeps a quarter more — and every row after the
 *   oldest of those (failed outcomes in that window stay for analysis);
 * - beyond that window, the newest RETENTION_TRAINING_FEEDBACK_ROWS rows labelled by action
 *   feedback (source `feedback`).
 * Nothing is deleted while any process holds `training_in_progress`: checked inside every delete
 * transaction, so a run that takes the flag after a batch committed reads a snapshot whose newest
 * ML_TRAIN_MAX_SAMPLES rows no batch touches.
 */
@Injectable()
export class TrainingDataRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'training_data';
  private readonly keepUsable: number;
  private readonly keepFeedback: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: RetentionRegistry,
    private readonly flags: FlagService,
  ) {
    this.keepUsable = config.retentionTrainingRows;
    this.keepFeedback = config.retentionTrainingFeedbackRows;
  }

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    if (this.keepUsable === 0) return 'kept forever (RETENTION_TRAINING_ROWS=0)';
    return (
      `the newest ${this.keepUsable} usable samples and every row after the oldest of them (RETENTION_TRAINING_ROWS), ` +
      `plus the newest ${this.keepFeedback} rows labelled by feedback (RETENTION_TRAINING_FEEDBACK_ROWS); nothing while a training run holds training_in_progress`
    );
  }

  async prune(ctx: PruneContext): Promise<PruneOutcome> {
    if (this.keepUsable === 0) return { deleted: 0 };
    if (await this.flags.isSet(TRAINING_FLAG)) return { deleted: 0, held: HELD };
    const windowStart = await nthNewestId(ctx, 'training_data', 'success = 1', this.keepUsable);
    if (windowStart === undefined) return { deleted: 0 };
    // Feedback rows below this id go; none when there are fewer than the number kept.
    let feedbackBelow = Number.MAX_SAFE_INTEGER;
    if (this.keepFeedback > 0) feedbackBelow = (await nthNewestId(ctx, 'training_data', "source = 'feedback'", this.keepFeedback)) ?? -1;

    let deleted = 0;
    let lo = (await ctx.get<{ id: number | null }>('SELECT MIN(id) AS id FROM training_data'))?.id ?? null;
    while (lo !== null && lo < windowStart) {
      const last = await ctx.get<{ id: number }>('SELECT id FROM training_data WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?', [lo, ctx.batchRows - 1]);
      const hi = Math.min(last ? last.id : windowStart - 1, windowStart - 1);
      let held = false;
      deleted += await ctx.batch(async (tx) => {
        if (await this.flags.isSet(TRAINING_FLAG)) {
          held = true;
          return 0;
        }
        return (await tx.run(`DELETE FROM training_data WHERE id >= ? AND id <= ? AND (source <> 'feedback' OR id < ?)`, [lo, hi, feedbackBelow])).changes;
      });
      if (held) return { deleted, held: HELD };
      lo = (await ctx.get<{ id: number }>('SELECT id FROM training_data WHERE id > ? ORDER BY id LIMIT 1', [hi]))?.id ?? null;
    }
    return { deleted };
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number | null }>('SELECT MIN(created_at) AS t FROM training_data');
    return row?.t == null ? null : Number(row.t);
  }
}
