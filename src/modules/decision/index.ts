// The ML tier's port comes first: the ML module (which implements it) loads this index.
export { ML_PREDICTOR, type MlPrediction, type MlPredictor } from './ml-predictor.port';
export { type Action, ActionPriority, ActionType, DECISION_TIERS, type DecisionTier, fromPluginAction, toPluginAction } from './action';
export { ConflictResolution, type QueuedAction } from './action-queue';
export { DecisionLogRetention } from './decision-log.retention';
export { DecisionLogWriter } from './decision-log.writer';
export { DecisionModule } from './decision.module';
export { DecisionService, type DecisionStats } from './decision.service';
export { OFFENSIVE_PLUGIN_ACTIONS, PLUGIN_ACTIONS, PLUGIN_HP_EMERGENCY_ITEMS } from './plugin-action';
export { pluginShapedDecideBody } from './plugin-shaped-state';
