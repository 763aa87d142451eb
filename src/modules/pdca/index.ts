export { PdcaModule } from './pdca.module';
export { PdcaService, PDCA_FLAG, type CycleView, type PdcaEvents, type PdcaStatusView, type StopResult } from './pdca.service';
export { PdcaBusyError } from './pdca.errors';
export type { PdcaPlanner, PlanningContext, Strategy, PlanType, PdcaPhase, CheckOutcome } from './pdca.types';
