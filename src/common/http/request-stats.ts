import { Injectable, Logger } from '@nestjs/common';

/** A finished request: `route` is the route pattern, undefined when no route matched. */
export type RequestObserver = (method: string, route: string | undefined, statusCode: number, elapsedMs: number) => void;

/**
 * Counters fed by both ways in (Fastify's hooks and the front door); read by health, and
 * observed per request by the metrics module.
 */
@Injectable()
export class RequestStats {
  requestsTotal = 0;
  errorsTotal = 0;
  inFlight = 0;
  private latencySumMs = 0;
  private untimed = 0;
  private readonly startedAt = Date.now();
  private readonly observers: RequestObserver[] = [];
  private readonly logger = new Logger(RequestStats.name);
  private observerFailures = 0;
  /**
   * The engine's one event-loop delay sampler (the metrics module's), read here rather than a
   * second monitor of our own beside it: p99 in ms over its window, null without samples.
   */
  private loopDelayP99: () => number | null = () => null;

  started(): void {
    this.inFlight += 1;
  }

  finished(method: string, route: string | undefined, statusCode: number, elapsedMs: number): void {
    this.inFlight -= 1;
    this.requestsTotal += 1;
    if (statusCode >= 500) this.errorsTotal += 1;
    this.latencySumMs += elapsedMs;
    for (const observe of this.observers) {
      try {
        observe(method, route, statusCode, elapsedMs);
      } catch (err) {
        // Called from a socket event: a throwing observer must not take the process down.
        this.observerFailures += 1;
        if (this.observerFailures === 1) this.logger.error({ err }, 'request observer failed (further failures are counted, not logged)');
      }
    }
  }

  /**
   * A long-lived response (an event stream) ended: counted, but its duration is how long a page
   * stayed open, not a response time — kept out of the averages and the observers' histograms.
   */
  finishedUntimed(statusCode: number): void {
    this.inFlight -= 1;
    this.requestsTotal += 1;
    this.untimed += 1;
    if (statusCode >= 500) this.errorsTotal += 1;
  }

  /** Where `event_loop_lag_ms` comes from (the metrics module registers its sampler). */
  useLoopDelay(p99Ms: () => number | null): void {
    this.loopDelayP99 = p99Ms;
  }

  /** Called once per finished request (response sent, or the client gone). */
  observe(observer: RequestObserver): void {
    this.observers.push(observer);
  }

  get uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  snapshot() {
    const total = this.requestsTotal;
    const timed = total - this.untimed;
    return {
      requests_total: total,
      errors_total: this.errorsTotal,
      in_flight: this.inFlight,
      avg_response_time_ms: timed === 0 ? 0 : Math.round((this.latencySumMs / timed) * 1000) / 1000,
      requests_per_second: this.uptimeSeconds === 0 ? total : Math.round((total / this.uptimeSeconds) * 100) / 100,
      event_loop_lag_ms: this.loopDelayP99(),
      memory_rss_mb: Math.round((process.memoryUsage.rss() / 1048576) * 10) / 10,
    };
  }
}
