import { Inject, Module, Optional } from '@nestjs/common';
import { DatabaseService } from '../../common/database/database.service';
import { ML_PREDICTOR, type MlPredictor } from './ml-predictor.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { HealthModule, HealthService, WarmupService } from '../health';
import { ProgressionModule, TablesService } from '../progression';
import { SessionModule } from '../session';
import { StateModule } from '../state';
import { CompatController } from './compat.controller';
import { DecisionLogWriter } from './decision-log.writer';
import { DecisionLogRetention } from './decision-log.retention';
import { DecisionController } from './decision.controller';
import { DecisionService } from './decision.service';
import { warmDecisionPath } from './decision.warmup';
import { PlannerService } from './planner.service';
import { RuleSetService } from './rule-set.service';

@Module({
  imports: [SessionModule, StateModule, HealthModule, ProgressionModule],
  controllers: [DecisionController, CompatController],
  providers: [DecisionService, DecisionLogWriter, DecisionLogRetention, PlannerService, RuleSetService],
  exports: [DecisionService, DecisionLogWriter, PlannerService, RuleSetService],
})
export class DecisionModule {
  constructor(
    health: HealthService,
    rules: RuleSetService,
    tables: TablesService,
    warmup: WarmupService,
    db: DatabaseService,
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() @Inject(ML_PREDICTOR) predictor: MlPredictor | null,
  ) {
    warmup.register('decision path', (ctx) => warmDecisionPath({ config, rules, tables, db, ml: predictor }, ctx));
    const ok = { status: 'healthy' as const };
    health.registerDecisionEngine('reflex', () => ok);
    health.registerDecisionEngine('rule', () => ({ status: 'healthy', detail: `${rules.rules.rules.length} rules from ${rules.rules.source}` }));
    health.registerDecisionEngine('llm', () => ({ status: 'healthy', detail: 'built-in strategic planner' }));
  }
}
