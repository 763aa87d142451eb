import { Inject, Module, Optional } from '@nestjs/common';
import { METRICS, type MetricsPort } from '../../common/ports/metrics-sources.port';
import { DecisionModule } from '../decision';
import { SessionModule } from '../session';
import { StateModule } from '../state';
import { MacroController } from './macro.controller';
import { MacroService } from './macro.service';
import { MacroVersionRetention } from './macro-version.retention';

/**
 * eventMacro files (docs/architecture.md §6): the language as eventMacro loads it (language/), the registry of
 * MACRO_DIR with hot reload under per-macro RW locks (registry/), executions feeding the session
 * action queues (runtime/), templates. Other modules use MacroService through index.ts (e.g. the
 * PDCA cycle: renderTemplate / deployTemplate).
 */
@Module({
  imports: [DecisionModule, SessionModule, StateModule],
  controllers: [MacroController],
  providers: [MacroService, MacroVersionRetention],
  exports: [MacroService],
})
export class MacroModule {
  /** Registry and execution figures on GET /metrics, when the metrics module is loaded. */
  constructor(macros: MacroService, @Optional() @Inject(METRICS) metrics: MetricsPort | null) {
    if (!metrics) return;
    const { registry, executor } = macros;
    metrics.registerGauge('openkore_macros_loaded', 'Macros and automacros serving, by kind', () => [
      { labels: { kind: 'macro' }, value: registry.catalog.macros.size },
      { labels: { kind: 'automacro' }, value: registry.catalog.automacros.size },
    ], { labelNames: ['kind'] });
    metrics.registerGauge('openkore_macro_executions_running', 'Macro executions running or waiting for their locks', () => executor.runningCount);
    metrics.registerGauge('openkore_macro_files_rejected', 'Macro files whose newest content is refused (the previous version serves)', () =>
      registry.fileRecords().filter((r) => r.rejection !== null).length,
    );
    metrics.registerCounter('openkore_macro_reloads_total', 'Macro file loads accepted since start', () => registry.counters.loads);
    metrics.registerCounter('openkore_macro_rejections_total', 'Macro edits refused since start (invalid, lock timeout, I/O)', () => registry.counters.rejections);
    metrics.registerCounter('openkore_macro_reload_lock_timeouts_total', 'Macro reloads that gave up waiting for running executions', () => registry.counters.lock_timeouts);
  }
}
