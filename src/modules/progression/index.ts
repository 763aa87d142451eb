export { ProgressionModule } from './progression.module';
export { TablesService, TablesRejectedError } from './tables.service';
export {
  EMPTY_TABLES,
  STATS,
  TABLE_FILES,
  TablesValidationError,
  validateTables,
  type HealingItem,
  type JobInfo,
  type JunkItem,
  type SkillInfo,
  type SkillPlan,
  type Stat,
  type StatBuild,
  type TableName,
  type Tables,
} from './tables';
export { chooseSkillPlan, chooseStatBuild, planSale, resolveJob, type SellRow } from './progression.logic';
