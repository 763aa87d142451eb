import { ProcessFlagEntity } from '../../modules/flags/entities/process-flag.entity';
import { MacroVersionEntity } from '../../modules/macro/entities/macro-version.entity';
import { MemoryEntity } from '../../modules/memory/entities/memory.entity';
import { MetricRollupEntity } from '../../modules/metrics/entities/metric-rollup.entity';
import { ModelRegistryEntity } from '../../modules/ml/entities/model-registry.entity';
import { TrainingDataEntity } from '../../modules/ml/entities/training-data.entity';
import { PdcaCycleEntity } from '../../modules/pdca/entities/pdca-cycle.entity';
import { InteractionHistoryEntity } from '../../modules/reputation/entities/interaction-history.entity';
import { PlayerReputationEntity } from '../../modules/reputation/entities/player-reputation.entity';
import { PlayerSessionEntity } from '../../modules/session/entities/player-session.entity';

/** Every TypeORM entity; shared by the app and the migration CLI data source (ormconfig.ts). */
export const ENTITIES = [PlayerSessionEntity, PlayerReputationEntity, InteractionHistoryEntity, ProcessFlagEntity, TrainingDataEntity, ModelRegistryEntity, MetricRollupEntity, MacroVersionEntity, MemoryEntity, PdcaCycleEntity];
