import { CreatePlayerSessions1764201600000 } from './1764201600000-create-player-sessions';

/** Every migration, oldest first. Schema changes are migrations, never `synchronize`. */
export const MIGRATIONS = [CreatePlayerSessions1764201600000];
