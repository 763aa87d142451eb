import { Logger } from '@nestjs/common';
import type { PdcaPlanner, PlanningContext, Strategy } from '../pdca.types';

/**
 * Asks `primary` (the LLM planner) and, on ANY failure — pool exhausted, timeout, HTTP error,
 * unusable answer, a bug — asks `fallback` (the built-in planner), recording why in the
 * strategy's `fallback_reason`. Only the caller's own abort (a stop) is not papered over.
 */
export class FallbackPlanner implements PdcaPlanner {
  private readonly logger = new Logger('PdcaPlanner');
  private fallbacks = 0;

  constructor(
    readonly primary: PdcaPlanner | null,
    readonly fallback: PdcaPlanner,
  ) {}

  get name(): string {
    return this.primary ? `${this.primary.name} (fallback ${this.fallback.name})` : this.fallback.name;
  }

  /** How many plans the fallback had to make. */
  get fallbackCount(): number {
    return this.fallbacks;
  }

  async plan(context: PlanningContext, signal: AbortSignal): Promise<Strategy> {
    if (this.primary) {
      try {
        return await this.primary.plan(context, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.fallbacks++;
        const reason = describe(err);
        this.logger.warn({ planner: this.primary.name, reason }, 'planner failed: the built-in planner answers instead');
        const strategy = await this.fallback.plan(context, signal);
        return { ...strategy, fallback_reason: `${this.primary.name}: ${reason}` };
      }
    }
    return this.fallback.plan(context, signal);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 500);
  return String(err).slice(0, 500);
}
