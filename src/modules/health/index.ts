export { HealthModule } from './health.module';
export { HealthService } from './health.service';
export { type WarmupContext, WarmupService } from './warmup.service';
