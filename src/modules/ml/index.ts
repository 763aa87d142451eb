export { MlModule } from './ml.module';
export { MlService, type Prediction, type SamplesResult } from './ml.service';
export { extractFeatures, type GameStateLike, type MonsterLike, NO_MONSTER_DISTANCE } from './features';
export { GAME_STATE_READER, type GameStateReader } from './game-state-reader';
export { ACTION_TYPES, type ActionType, FEATURE_NAMES, FEATURE_COUNT, CLASS_COUNT } from './ml.constants';
export type { OutcomeInput } from './training-data.service';
