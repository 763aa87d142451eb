import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { MetricsPort } from '../../common/ports/metrics-sources.port';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

/** What a warmer gets: how many rounds to run, and throwaway collaborators counted nowhere. */
export interface WarmupContext {
  /** Times to run the code being warmed: V8 optimizes a function after it ran often enough. */
  readonly rounds: number;
  /** Recording handles of a throwaway metrics collector: the real recording code, counted nowhere. */
  readonly metrics: MetricsPort | null;
}

/** Runs a module's hot code on throwaway state: no row written, no request, decision or metric counted. */
export type Warmer = (ctx: WarmupContext) => Promise<void> | void;

export type WarmupStatus = 'pending' | 'running' | 'ready';

export interface WarmupStep {
  name: string;
  duration_ms: number;
  error?: string;
}

export interface WarmupReport {
  status: WarmupStatus;
  rounds: number;
  duration_ms: number | null;
  steps: WarmupStep[];
}

/**
 * Cold start: a freshly started engine runs its hot path in V8's interpreter, with statements
 * not yet prepared and the model never run — several times slower per request, which a farm
 * reconnecting all at once after a deploy turns into a queue (seconds of latency). Modules
 * register warmers at init; they all run once every module is initialised, before the engine
 * listens (Nest awaits `onApplicationBootstrap` in `app.init()`), and readiness
 * (`/health/ready`) answers 200 only once they are done. A warmer that fails is logged and
 * skipped: warming is an optimisation, never a reason not to serve.
 */
@Injectable()
export class WarmupService implements OnApplicationBootstrap {
  private readonly logger = new Logger(WarmupService.name);
  private readonly warmers: Array<{ name: string; warmer: Warmer }> = [];
  private metricsFactory: (() => MetricsPort) | undefined;
  private status: WarmupStatus = 'pending';
  private durationMs: number | null = null;
  private readonly steps: WarmupReport['steps'] = [];
  private running: Promise<void> | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  register(name: string, warmer: Warmer): void {
    this.warmers.push({ name, warmer });
  }

  /** A step run before this engine existed (the boot's rehearsal engine): listed first, not timed again. */
  recordPrior(step: WarmupStep): void {
    this.steps.unshift({ ...step });
  }

  /** The metrics module hands out throwaway recording handles for the warmers. */
  useMetrics(factory: () => MetricsPort): void {
    this.metricsFactory = factory;
  }

  /** Epoch ms when the warm-up ended (null before): readiness ignores event-loop stalls of the boot before it. */
  readyAt: number | null = null;

  get ready(): boolean {
    return this.status === 'ready';
  }

  report(): WarmupReport {
    return { status: this.status, rounds: this.config.warmupRounds, duration_ms: this.durationMs, steps: this.steps.map((s) => ({ ...s })) };
  }

  onApplicationBootstrap(): Promise<void> {
    return this.run();
  }

  /** Runs every warmer once (later calls share the first run). */
  run(): Promise<void> {
    this.running ??= this.runAll();
    return this.running;
  }

  private async runAll(): Promise<void> {
    this.status = 'running';
    const started = performance.now();
    const rounds = this.config.warmupRounds;
    if (rounds > 0) {
      const ctx: WarmupContext = { rounds, metrics: this.metricsFactory?.() ?? null };
      for (const { name, warmer } of this.warmers) {
        const t = performance.now();
        try {
          await warmer(ctx);
          this.steps.push({ name, duration_ms: round(performance.now() - t) });
        } catch (err) {
          this.steps.push({ name, duration_ms: round(performance.now() - t), error: err instanceof Error ? err.message : String(err) });
          this.logger.error({ err, warmer: name }, 'warm-up step failed; skipped');
        }
      }
    }
    this.durationMs = round(performance.now() - started);
    this.status = 'ready';
    this.readyAt = Date.now();
    this.logger.log({ rounds, duration_ms: this.durationMs, steps: this.steps }, 'warmed up');
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
