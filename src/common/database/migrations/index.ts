import { CreatePlayerSessions1764201600000 } from './1764201600000-create-player-sessions';
import { CreateStateAndDecisions1764201700000 } from './1764201700000-create-state-and-decisions';
import { CreateMetrics1764460800000 } from './1764460800000-create-metrics';

/** Every migration, oldest first. Schema changes are migrations, never `synchronize`. */
export const MIGRATIONS = [CreatePlayerSessions1764201600000, CreateStateAndDecisions1764201700000, CreateMetrics1764460800000];
