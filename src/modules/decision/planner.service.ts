import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../../common/errors/app.error';
import type { GameState } from '../state';
import { type Action, ActionType } from './action';

/** A strategic planner: slow, so it runs as a task off the request path. */
export interface StrategicPlanner {
  readonly name: string;
  plan(state: Readonly<GameState>, signal: AbortSignal): Promise<Action>;
}

export type PlannerTaskStatus = 'pending' | 'completed' | 'failed';

export interface PlannerTask {
  task_id: string;
  session_id: string;
  status: PlannerTaskStatus;
  planner: string;
  created_at: string;
  finished_at?: string;
  action?: Action;
  error?: string;
  fallback_action: Action;
}

/** Explores when nothing else applies: a move to a point ahead, varied by position. */
export class BuiltInPlanner implements StrategicPlanner {
  readonly name = 'built-in';

  plan(state: Readonly<GameState>): Promise<Action> {
    const { map, x, y } = state.character.position;
    // Deterministic per position, so a stuck bot does not oscillate on one spot.
    const angle = ((x * 73856093) ^ (y * 19349663)) % 360;
    const rad = (Math.abs(angle) * Math.PI) / 180;
    return Promise.resolve({
      type: ActionType.MOVE_TO,
      params: { map, x: Math.max(0, Math.round(x + Math.cos(rad) * 15)), y: Math.max(0, Math.round(y + Math.sin(rad) * 15)) },
      reason: 'nothing to do here: exploring (strategic planner)',
    });
  }
}

export const FALLBACK_ACTION: Action = Object.freeze({ type: ActionType.NO_ACTION, params: {}, reason: 'waiting for the strategic planner' });

const TASK_TTL_MS = 60_000;
const MAX_TASKS = 10_000;
const PLAN_TIMEOUT_MS = 8_000;

/**
 * The slow tier: at most one planning task per session in flight; its result is picked up by
 * the session's next tick (or polled at GET /action/:taskId). Finished tasks are kept for a
 * minute, bounded in number.
 */
@Injectable()
export class PlannerService implements OnModuleDestroy {
  private readonly logger = new Logger(PlannerService.name);
  private readonly tasks = new Map<string, PlannerTask>();
  private readonly inFlight = new Map<string, string>();
  private readonly ready = new Map<string, string>();
  private readonly controllers = new Set<AbortController>();
  private planner: StrategicPlanner = new BuiltInPlanner();

  usePlanner(planner: StrategicPlanner): void {
    this.planner = planner;
  }

  /** A completed plan for the session not yet delivered, taken (delivered once). */
  takeReady(sessionId: string): PlannerTask | undefined {
    const id = this.ready.get(sessionId);
    if (!id) return undefined;
    this.ready.delete(sessionId);
    return this.tasks.get(id);
  }

  /** The session's pending task, or a new one. */
  startOrGet(sessionId: string, state: Readonly<GameState>): PlannerTask {
    const existing = this.inFlight.get(sessionId);
    if (existing) return this.tasks.get(existing)!;
    this.evict();
    const task: PlannerTask = {
      task_id: randomUUID(),
      session_id: sessionId,
      status: 'pending',
      planner: this.planner.name,
      created_at: new Date().toISOString(),
      fallback_action: FALLBACK_ACTION,
    };
    this.tasks.set(task.task_id, task);
    this.inFlight.set(sessionId, task.task_id);
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), PLAN_TIMEOUT_MS);
    timer.unref();
    const planner = this.planner;
    setImmediate(() => {
      planner
        .plan(state, controller.signal)
        .then(
          (action) => {
            task.status = 'completed';
            task.action = action;
            this.ready.set(sessionId, task.task_id);
          },
          (err: unknown) => {
            task.status = 'failed';
            task.error = err instanceof Error ? err.message : String(err);
            this.logger.warn({ err, session_id: sessionId, planner: planner.name }, 'planning failed');
          },
        )
        .finally(() => {
          clearTimeout(timer);
          this.controllers.delete(controller);
          task.finished_at = new Date().toISOString();
          if (this.inFlight.get(sessionId) === task.task_id) this.inFlight.delete(sessionId);
        });
    });
    return task;
  }

  get(taskId: string): PlannerTask {
    const task = this.tasks.get(taskId);
    if (!task) throw new NotFoundError(`Task ${taskId} not found (tasks are kept ${TASK_TTL_MS / 1000} s)`, { task_id: taskId });
    return task;
  }

  forgetSession(sessionId: string): void {
    this.inFlight.delete(sessionId);
    this.ready.delete(sessionId);
  }

  get pendingCount(): number {
    return this.inFlight.size;
  }

  onModuleDestroy(): void {
    for (const c of this.controllers) c.abort();
  }

  private evict(): void {
    const cutoff = Date.now() - TASK_TTL_MS;
    for (const [id, task] of this.tasks) {
      if (this.tasks.size < MAX_TASKS && Date.parse(task.created_at) > cutoff) break;
      if (task.status === 'pending' && this.tasks.size < MAX_TASKS) continue;
      this.tasks.delete(id);
    }
  }
}
