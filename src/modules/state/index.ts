export { GameStateDto } from './dto/game-state.dto';
export { DecisionResponseDto, PendingDecisionResponseDto, StateUpdateDto } from './dto/state-update.dto';
export { type GameState, hpRatio, type InventoryItem, type Monster, type PartialGameState, type Skill, spRatio, type StateSnapshot, weightRatio } from './game-state';
export { parseGameState, parseGameStatePatch } from './game-state.validator';
export { MergeStrategy } from './state-merger';
export { etagOf } from './state.controller';
export { StateModule } from './state.module';
export { StateService } from './state.service';
