import { PlayerReputationEntity } from './entities/player-reputation.entity';
import { InteractionHistoryEntity } from './entities/interaction-history.entity';
export { syntheticPlayerId } from './player-id';
export { ReputationModule } from './reputation.module';
export { INTERACTION_EVENTS } from './reputation.rules';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const REPUTATION_ENTITIES = [PlayerReputationEntity, InteractionHistoryEntity];
export { ReputationService } from './reputation.service';
export { ReputationRepository } from './reputation.repository';
