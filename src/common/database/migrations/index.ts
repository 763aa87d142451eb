import { CreatePlayerSessions1764201600000 } from './1764201600000-create-player-sessions';
import { CreateStateAndDecisions1764201700000 } from './1764201700000-create-state-and-decisions';
import { CreateReputation1764288000000 } from './1764288000000-create-reputation';
import { CreateProcessFlags1764288000001 } from './1764288000001-create-process-flags';
import { CreateMlTables1764374400000 } from './1764374400000-create-ml-tables';
import { CreateMetrics1764460800000 } from './1764460800000-create-metrics';
import { CreateMemories1764461100000 } from './1764461100000-create-memories';
import { CreateMacroVersions1764461000000 } from './1764461000000-create-macro-versions';
import { CreatePdcaCycles1764547200000 } from './1764547200000-create-pdca-cycles';
import { DropDecisionLogSessionIndex1764633600000 } from './1764633600000-drop-decision-log-session-index';
import { CreateSessionLeases1764720000000 } from './1764720000000-create-session-leases';

/** Every migration, oldest first. Schema changes are migrations, never `synchronize`. */
export const MIGRATIONS = [
  CreatePlayerSessions1764201600000,
  CreateStateAndDecisions1764201700000,
  CreateReputation1764288000000,
  CreateProcessFlags1764288000001,
  CreateMlTables1764374400000,
  CreateMetrics1764460800000,
  CreateMacroVersions1764461000000,
  CreateMemories1764461100000,
  CreatePdcaCycles1764547200000,
  DropDecisionLogSessionIndex1764633600000,
  CreateSessionLeases1764720000000,
];
