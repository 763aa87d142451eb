import { ProcessFlagEntity } from './entities/process-flag.entity';
export { ProcessFlag, VersionCounter, FLAG_NAME_PATTERN, MIN_LEASE_TTL_MS, MAX_LEASE_TTL_MS } from './flag.constants';
export { FlagKindMismatchError } from './flag.errors';
export { FlagLease, FlagService, FLAG_SERVICE_OPTIONS, type FlagServiceOptions, type FlagState, type LeaseOptions } from './flag.service';
export { FlagsModule } from './flags.module';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const FLAGS_ENTITIES = [ProcessFlagEntity];
