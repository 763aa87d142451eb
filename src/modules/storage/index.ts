export { StorageModule } from './storage.module';
export { RetentionService, PRUNE_JOB, type PruneRunReport, type TablePruneReport, type RetentionStatus } from './retention.service';
export { DISK_CHECK_JOB } from './storage-monitor.service';
export { StorageService, type StorageReport, type TableStorage } from './storage.service';
export { VacuumService, VACUUM_STEP_PAGES } from './vacuum.service';
export { type DatabaseSizes, readDatabaseSizes } from './storage-stats';
