import { ModelRegistryEntity } from './entities/model-registry.entity';
import { TrainingDataEntity } from './entities/training-data.entity';
export { MlModule } from './ml.module';
export { MlService, type Prediction, type SamplesResult } from './ml.service';
export { extractFeatures, type GameStateLike, type MonsterLike, NO_MONSTER_DISTANCE } from './features';
export { GAME_STATE_READER, type GameStateReader } from './game-state-reader';
export { ACTION_TYPES, type ActionType, FEATURE_NAMES, FEATURE_COUNT, CLASS_COUNT } from './ml.constants';
export type { OutcomeInput } from './training-data.service';
export { DEFAULT_MODEL_FILE } from './ml.constants';
export { TrainingBusyError } from './ml.errors';
export { ModelManager, writeFileAtomic } from './model-manager.service';
export { MemoryModelRegistry } from './model-registry';
export { OnnxModel, sha256 } from './onnx-model';
export { buildDefaultModel, DEFAULT_DATASET_SEED, DEFAULT_DATASET_SIZE, syntheticDataset } from './synthetic-data';
export { type PromotePolicy, TrainerService, type TrainRequest } from './trainer.service';
export { TrainingDataService } from './training-data.service';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const ML_ENTITIES = [ModelRegistryEntity, TrainingDataEntity];
