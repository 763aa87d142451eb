import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { SchedulingModule } from './common/scheduling';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConcurrencyModule } from './common/concurrency';
import { buildDataSourceOptions, initializeDataSource } from './common/database/data-source.options';
import { DatabaseModule } from './common/database/database.module';
import { AllExceptionsFilter } from './common/http/all-exceptions.filter';
import { AuthGuard } from './common/http/auth.guard';
import { SessionTurnGuard } from './common/http/session-turn.guard';
import { createValidationPipe } from './common/http/validation.pipe';
import type { AppConfig } from './config/app-config';
import { ENTITIES } from './entities';
import { CoreModule } from './config/config.module';
import { AdminModule } from './modules/admin';
import { ConsoleModule } from './modules/console';
import { DecisionModule } from './modules/decision';
import { FlagsModule } from './modules/flags';
import { StateModule } from './modules/state';
import { HealthModule } from './modules/health';
import { MacroModule } from './modules/macro';
import { MetricsModule } from './modules/metrics';
import { MemoryModule } from './modules/memory';
import { MlModule } from './modules/ml';
import { PdcaModule } from './modules/pdca';
import { ProgressionModule } from './modules/progression';
import { ReputationModule } from './modules/reputation';
import { SessionModule } from './modules/session';
import { StorageModule } from './modules/storage';

@Module({})
export class AppModule {
  /** `extraImports`: test-only probe modules; the engine itself passes none. */
  static forRoot(config: AppConfig, extraImports: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        ConcurrencyModule.forRoot({
          locks: { orderMode: config.lockOrderMode, debug: config.lockDebug, longHoldThresholdMs: config.lockLongHoldMs },
          sessions: {
            maxQueueDepth: config.sessionQueueDepth,
            maxInFlight: config.maxInFlight,
            timeoutMs: config.requestTimeoutMs,
          },
        }),
        // A local file either opens or it does not, and a PostgreSQL server that does not answer at
        // boot is a configuration to fix (the pool reconnects later on its own): fail at once.
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...buildDataSourceOptions(config, ENTITIES), retryAttempts: 0 }),
          dataSourceFactory: (options) => initializeDataSource(options!),
        }),
        DatabaseModule,
        ScheduleModule.forRoot(),
        SchedulingModule,
        SessionModule,
        HealthModule,
        AdminModule,
        StateModule,
        ProgressionModule,
        DecisionModule,
        FlagsModule,
        ReputationModule,
        MlModule,
        MemoryModule,
        MetricsModule,
        MacroModule,
        PdcaModule,
        ConsoleModule,
        StorageModule,
        ...extraImports,
      ],
      // The Nest stages of the request pipeline (src/common/http/request-pipeline.ts), on every route.
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // Guards run in this order: authenticate first, then find the session and queue for its turn.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: SessionTurnGuard },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
