export { HealthModule } from './health.module';
export { HealthService } from './health.service';
export { type WarmupContext, WarmupService, type WarmupStep } from './warmup.service';
