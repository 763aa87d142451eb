export { MacroModule } from './macro.module';
export {
  MacroService,
  mergeBlocks,
  type DeployResult,
  type MacroDetailView,
  type MacroFileView,
  type MacroListView,
  type MacroSummaryView,
  type RejectionView,
  type ReloadResult,
} from './macro.service';
export type { ExecutionStatus, ExecutionView } from './macro-executor';
export type { Catalog, FileOutcome, MacroEntry, Rejection } from './macro-registry';
export * from './macro.errors';
export type * from './parser/ast';
export { parseMacroSource, NAME_PATTERN, MAX_SOURCE_BYTES } from './parser/parser';
export { validateMacroSource, validateDocument, FEW_PAUSES_RUN, type ValidationContext, type ValidationResult } from './parser/validator';
export { commandToAction } from './runtime/command-actions';
export * from './templates/macro-templates';
