import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { DatabaseService } from './database.service';
import { STORAGE_GUARD_OPTIONS, StorageGuard, type StorageGuardOptions } from './storage-guard';
import { WalCheckpointer } from './wal-checkpointer.service';

export function storageGuardOptions(config: AppConfig): StorageGuardOptions {
  return { dir: config.dataDir, lowBytes: config.storageLowDiskBytes, criticalBytes: config.storageCriticalDiskBytes };
}

@Global()
@Module({
  providers: [
    { provide: STORAGE_GUARD_OPTIONS, useFactory: storageGuardOptions, inject: [APP_CONFIG] },
    StorageGuard,
    DatabaseService,
    WalCheckpointer,
  ],
  exports: [DatabaseService, WalCheckpointer, StorageGuard],
})
export class DatabaseModule {}
