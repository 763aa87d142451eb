import { PdcaCycleEntity } from './entities/pdca-cycle.entity';
export { PdcaModule } from './pdca.module';
export { PdcaService, PDCA_FLAG, type CycleView, type PdcaEvents, type PdcaStatusView, type StopResult } from './pdca.service';
export { PdcaBusyError } from './pdca.errors';
export type { PdcaPlanner, PlanningContext, Strategy, PlanType, PdcaPhase, CheckOutcome } from './pdca.types';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const PDCA_ENTITIES = [PdcaCycleEntity];
