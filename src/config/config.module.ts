import { type DynamicModule, Global, Module } from '@nestjs/common';
import { RequestStats } from '../common/http/request-stats';
import { SessionRateLimiter } from '../common/http/session-rate-limiter';
import { APP_CONFIG, type AppConfig } from './app-config';

/** Provides the boot-time validated configuration (and process-wide HTTP counters and limits) everywhere. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        RequestStats,
        { provide: SessionRateLimiter, useFactory: () => new SessionRateLimiter(config.sessionRateLimitPerSecond) },
      ],
      exports: [APP_CONFIG, RequestStats, SessionRateLimiter],
    };
  }
}
