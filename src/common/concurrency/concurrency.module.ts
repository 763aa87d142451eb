import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LOCK_MANAGER_OPTIONS, LockManager, type LockManagerOptions } from './lock-manager.service';
import { lockProviders } from './lock-providers';
import { SESSION_SERIALIZER_OPTIONS, SessionSerializer, type SessionSerializerOptions } from './session-serializer';

export interface ConcurrencyModuleOptions {
  locks?: LockManagerOptions;
  sessions?: SessionSerializerOptions;
}

const LOCKS = lockProviders();

/**
 * Global provider of the LockManager (locks, deadlock detector, contention
 * profiler; long-hold scan runs between module init and destroy), of each
 * standard lock of the hierarchy (`@InjectLock(LockName.X)`) and of the
 * SessionSerializer. Import once, in AppModule; `forRoot` passes options
 * (e.g. orderMode from LOCK_ORDER_MODE), the bare module uses defaults.
 */
@Global()
@Module({
  providers: [LockManager, ...LOCKS, SessionSerializer],
  exports: [LockManager, ...LOCKS, SessionSerializer],
})
export class ConcurrencyModule {
  static forRoot(options: ConcurrencyModuleOptions = {}): DynamicModule {
    return {
      module: ConcurrencyModule,
      global: true,
      providers: [
        { provide: LOCK_MANAGER_OPTIONS, useValue: options.locks ?? {} },
        { provide: SESSION_SERIALIZER_OPTIONS, useValue: options.sessions ?? {} },
      ],
    };
  }
}
