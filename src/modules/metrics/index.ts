import { MetricRollupEntity } from './entities/metric-rollup.entity';
export { MetricsCollector, type MetricsCollectorOptions } from './metrics-collector.service';
export { MetricsModule } from './metrics.module';
export { SERIES } from './metrics.service';
export { percentile } from './series-stats';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const METRICS_ENTITIES = [MetricRollupEntity];
