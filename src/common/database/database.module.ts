import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { DatabaseService } from './database.service';
import { RetentionRegistry } from './retention';
import { STORAGE_GUARD_OPTIONS, StorageGuard, type StorageGuardOptions } from './storage-guard';
import { WalCheckpointer } from './wal-checkpointer.service';

export function storageGuardOptions(config: AppConfig): StorageGuardOptions {
  // On PostgreSQL the database is not under DATA_DIR: its free space says nothing about whether
  // writes fit (the server answers 53100 when they do not), so the disk signal is off.
  if (config.databaseUrl !== undefined) return { lowBytes: config.storageLowDiskBytes, criticalBytes: config.storageCriticalDiskBytes };
  return { dir: config.dataDir, databaseFile: config.databasePath, lowBytes: config.storageLowDiskBytes, criticalBytes: config.storageCriticalDiskBytes };
}

@Global()
@Module({
  providers: [
    { provide: STORAGE_GUARD_OPTIONS, useFactory: storageGuardOptions, inject: [APP_CONFIG] },
    StorageGuard,
    DatabaseService,
    WalCheckpointer,
    RetentionRegistry,
  ],
  exports: [DatabaseService, WalCheckpointer, StorageGuard, RetentionRegistry],
})
export class DatabaseModule {}
