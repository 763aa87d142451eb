import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { HealthService } from '../health/health.service';
import { ProgressionModule } from '../progression';
import { SessionModule } from '../session/session.module';
import { StateModule } from '../state/state.module';
import { CompatController } from './compat.controller';
import { DecisionLogWriter } from './decision-log.writer';
import { DecisionLogRetention } from './decision-log.retention';
import { DecisionController } from './decision.controller';
import { DecisionService } from './decision.service';
import { PlannerService } from './planner.service';
import { RuleSetService } from './rule-set.service';

@Module({
  imports: [SessionModule, StateModule, HealthModule, ProgressionModule],
  controllers: [DecisionController, CompatController],
  providers: [DecisionService, DecisionLogWriter, DecisionLogRetention, PlannerService, RuleSetService],
  exports: [DecisionService, DecisionLogWriter, PlannerService, RuleSetService],
})
export class DecisionModule {
  constructor(health: HealthService, rules: RuleSetService) {
    const ok = { status: 'healthy' as const };
    health.registerDecisionEngine('reflex', () => ok);
    health.registerDecisionEngine('rule', () => ({ status: 'healthy', detail: `${rules.rules.rules.length} rules from ${rules.rules.source}` }));
    health.registerDecisionEngine('llm', () => ({ status: 'healthy', detail: 'built-in strategic planner' }));
  }
}
