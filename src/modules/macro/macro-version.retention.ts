import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { type PruneContext, RetentionRegistry, type RetentionPolicy } from '../../common/database/retention';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

/** macro_versions are kept to the last MACRO_VERSIONS_KEEP per macro when a version is stored: the prune job leaves them. */
@Injectable()
export class MacroVersionRetention implements RetentionPolicy, OnModuleInit {
  readonly table = 'macro_versions';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: RetentionRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.register(this);
  }

  describe(): string {
    return `the last ${this.config.macroVersionsKeep} versions per macro (MACRO_VERSIONS_KEEP), kept when a version is stored`;
  }

  async oldestRowAt(ctx: Pick<PruneContext, 'get'>): Promise<number | null> {
    const row = await ctx.get<{ t: number }>('SELECT created_at AS t FROM macro_versions ORDER BY id LIMIT 1');
    return row ? Number(row.t) : null;
  }
}
