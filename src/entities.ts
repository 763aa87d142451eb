import { FLAGS_ENTITIES } from './modules/flags';
import { MACRO_ENTITIES } from './modules/macro';
import { MEMORY_ENTITIES } from './modules/memory';
import { METRICS_ENTITIES } from './modules/metrics';
import { ML_ENTITIES } from './modules/ml';
import { PDCA_ENTITIES } from './modules/pdca';
import { REPUTATION_ENTITIES } from './modules/reputation';
import { SESSION_ENTITIES } from './modules/session';

/**
 * Every TypeORM entity, each module listing its own (its index's `<MODULE>_ENTITIES`); shared by
 * the app (app.module.ts) and the migration CLI's data source (ormconfig.ts).
 */
export const ENTITIES = [
  ...SESSION_ENTITIES,
  ...REPUTATION_ENTITIES,
  ...FLAGS_ENTITIES,
  ...ML_ENTITIES,
  ...METRICS_ENTITIES,
  ...MACRO_ENTITIES,
  ...MEMORY_ENTITIES,
  ...PDCA_ENTITIES,
];
