import { PlayerSessionEntity } from './entities/player-session.entity';
export { SessionLeaseRepository, type SessionRowUpsert } from './session-lease.repository';
export { SessionOwnership, type SessionRowWrite, writeSessionRows } from './session-ownership.service';
export { SessionNotFoundError } from './session.errors';
export { SessionModule } from './session.module';
export { SessionService } from './session.service';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const SESSION_ENTITIES = [PlayerSessionEntity];
