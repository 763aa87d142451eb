import { MacroVersionEntity } from './entities/macro-version.entity';
/**
 * The macro module's public face: other modules import the macro module only from here.
 * eventMacro files (the language, as eventMacro loads it), the registry of MACRO_DIR with hot
 * reload, executions through the session action queues, templates.
 */
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
export type { ExecutionStatus, ExecutionView } from './runtime/execution';
export type { Catalog, MacroEntry } from './registry/catalog';
export type { BlockReport, FileOutcome, Rejection } from './registry/file-book';
export * from './macro.errors';
export type * from './language/ast';
export { validateMacroSource, NAME_PATTERN, MAX_SOURCE_BYTES, type ValidationContext, type ValidationResult } from './language/validator';
export { CONDITION_TYPES, PUBLIC_CONDITION_TYPES, type ConditionType } from './language/conditions';
export { commandToAction } from './runtime/command-actions';
export * from './templates/macro-templates';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const MACRO_ENTITIES = [MacroVersionEntity];
