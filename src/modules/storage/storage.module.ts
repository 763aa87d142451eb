import { Module } from '@nestjs/common';
import { RetentionService } from './retention.service';
import { StorageController } from './storage.controller';
import { StorageMonitor } from './storage-monitor.service';
import { StorageService } from './storage.service';
import { VacuumService } from './vacuum.service';

/**
 * Data lifecycle: the prune job running every module's retention policy (RetentionRegistry),
 * incremental vacuum, the disk's free space (into the StorageGuard every writer consults), its
 * metrics, and `GET /api/v1/admin/storage`.
 */
@Module({
  controllers: [StorageController],
  providers: [VacuumService, RetentionService, StorageMonitor, StorageService],
  exports: [RetentionService, StorageService],
})
export class StorageModule {}
