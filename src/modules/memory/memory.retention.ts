import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { type PruneContext, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

/** memories are bounded by the memory module itself (per-session cap, consolidation, decay): the prune job leaves them. */
@Injectable()
export class MemoryRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'memories';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    return `governed by consolidation: at most ${this.config.memoryMaxPerSession} per session (MEMORY_MAX_PER_SESSION), near-duplicates merged, decayed ones (importance under 0.05) deleted`;
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number }>('SELECT created_at AS t FROM memories ORDER BY id LIMIT 1');
    return row ? Number(row.t) : null;
  }
}
