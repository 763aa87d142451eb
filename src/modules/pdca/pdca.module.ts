import { Inject, Module, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { LockManager } from '../../common/concurrency';
import { HttpConnectionPool } from '../../common/network';
import { METRICS } from '../../common/ports/metrics-sources.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { DecisionModule, DecisionService } from '../decision';
import { ProgressionModule } from '../progression';
import { FlagService, FlagsModule } from '../flags';
import { MacroModule, MacroService } from '../macro';
import { SessionModule, SessionService } from '../session';
import { StateModule, StateService } from '../state';
import { PdcaCycleStore } from './pdca-cycle.store';
import { PdcaController, StrategyCompatController } from './pdca.controller';
import { createPorts } from './pdca.adapters';
import { PDCA_OPTIONS, PDCA_PLANNER, PDCA_PORTS, type PdcaOptions } from './pdca.ports';
import { PdcaService } from './pdca.service';
import type { PdcaPlanner } from './pdca.types';
import { BuiltInPlanner } from './planners/built-in.planner';
import { FallbackPlanner } from './planners/fallback.planner';
import { LlmPlanner } from './planners/llm.planner';
import { PdcaCycleRetention } from './pdca-cycle.retention';

const PDCA_LLM_POOL = Symbol('PDCA_LLM_POOL');

export function pdcaOptions(config: AppConfig): PdcaOptions {
  return { intervalMs: config.pdcaIntervalMs, executionPeriodMs: config.pdcaExecutionPeriodMs, leaseTtlMs: config.pdcaLeaseTtlMs };
}

/** The outbound pool of the LLM planner; null when PDCA_LLM_URL is unset. */
export function createLlmPool(config: AppConfig, locks: LockManager): HttpConnectionPool | null {
  if (!config.pdcaLlmUrl) return null;
  return new HttpConnectionPool(locks, {
    name: 'pdca-llm',
    maxConnections: config.pdcaLlmMaxConnections,
    acquireTimeoutMs: config.pdcaLlmAcquireTimeoutMs,
    requestTimeoutMs: config.pdcaLlmTimeoutMs,
  });
}

export function createPlanner(config: AppConfig, pool: HttpConnectionPool | null): PdcaPlanner {
  const llm = pool && config.pdcaLlmUrl ? new LlmPlanner(pool, { url: config.pdcaLlmUrl, apiKey: config.pdcaLlmApiKey, model: config.pdcaLlmModel }) : null;
  return new FallbackPlanner(llm, new BuiltInPlanner());
}

/**
 * The PDCA improvement cycle (docs/architecture.md §8.1): cycle manager, planners (built-in; optional
 * OpenAI-compatible LLM through a bounded pool), `pdca_cycles`, `/api/v1/pdca/*` and the
 * plugin's `POST /api/v1/strategy/plan`.
 */
@Module({
  imports: [FlagsModule, MacroModule, SessionModule, StateModule, DecisionModule, ProgressionModule],
  controllers: [PdcaController, StrategyCompatController],
  providers: [
    { provide: PDCA_OPTIONS, useFactory: pdcaOptions, inject: [APP_CONFIG] },
    { provide: PDCA_LLM_POOL, useFactory: createLlmPool, inject: [APP_CONFIG, LockManager] },
    { provide: PDCA_PLANNER, useFactory: createPlanner, inject: [APP_CONFIG, PDCA_LLM_POOL] },
    {
      provide: PDCA_PORTS,
      useFactory: createPorts,
      inject: [FlagService, MacroService, SessionService, StateService, DecisionService, { token: METRICS, optional: true }],
    },
    PdcaCycleStore,
    PdcaCycleRetention,
    PdcaService,
  ],
  exports: [PdcaService],
})
export class PdcaModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(PDCA_LLM_POOL) private readonly pool: HttpConnectionPool | null) {}

  /** After the HTTP servers closed (no planning request left in flight). */
  onApplicationShutdown(): void {
    this.pool?.close();
  }
}
