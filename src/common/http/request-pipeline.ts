import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { IntrusiveList, type ListNode } from '../concurrency/intrusive-list';
import { ServiceUnavailableError } from '../errors/app.error';
import { MethodNotAllowedError } from '../errors/http.errors';
import { accessLogLevel, logRequestCompleted, REQUEST_ID_LOG_LABEL, responseTimeMs } from '../logging/access-log';
import { lazyRequestLogger } from '../logging/lazy-child.logger';
import { sendError } from './all-exceptions.filter';
import type { PipelineRequest } from './http-exchange';
import type { PipelineRouteConfig } from './public.decorator';
import { RateLimiter } from './rate-limiter';
import { RequestRun } from './request-run';
import type { RequestStats } from './request-stats';
import { finalStatus, onResponseDone } from './response-done';
import { type RouteEntry, type RouteHandler, RouteTable } from './route-table';

export interface RequestPipelineOptions {
  readonly stats: RequestStats;
  /** The root logger: one access line per response (with the request id). */
  readonly logger: Logger;
  /** Requests per second per client address (RATE_LIMIT_RPS); 0 = off. Health routes are exempt. */
  readonly rateLimitPerSecond: number;
  /** This engine instance (INSTANCE_ID), named on every response (`x-openkore-instance`). */
  readonly instanceId?: string;
}

/** Paths that answer without token and outside the rate limit (orchestrators poll them). */
export function isHealthPath(url: string): boolean {
  return url === '/health' || url.startsWith('/health/') || url.startsWith('/health?') || url.startsWith('/api/v1/health');
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** A console's event stream lasts as long as its page stays open: its duration is no response time. */
function isEventStream(res: ServerResponse): boolean {
  return String(res.getHeader('content-type') ?? '').startsWith('text/event-stream');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** A response not done yet, linked into the pipeline's in-flight list. */
interface InFlightResponse extends ListNode<InFlightResponse> {
  readonly res: ServerResponse;
}

/**
 * The one request pipeline, for every route and every way in (Fastify, the front door):
 *
 * 1. observation (`observe`): the request id on the response, in-flight and request counters,
 *    the metrics observers, one access-log line once the response is done;
 * 2. admission (`admit`): draining (503), the per-address rate limit (429), a known path with
 *    another method (405);
 * 3. the route (`execute`), inside the request's lock scope: for Nest's routes, Nest's own
 *    chain — the global guards (authentication, then the session: identity and turn, see
 *    SessionTurnGuard), every guard and interceptor registered the Nest way, pipes, the handler
 *    — then the reply (the envelope, EngineFastifyAdapter) or the error mapping
 *    (AllExceptionsFilter, `sendError`); the session turn ends once this has settled and the
 *    response is closed.
 *
 * Fastify runs 1–2 in its onRequest hook and 3 as every route's handler (`onRoute` wraps them
 * as they are registered); the front door calls the same three functions.
 */
export class RequestPipeline {
  readonly routes = new RouteTable();
  private readonly limiter: RateLimiter;
  /**
   * Responses not done yet. A list linked through one small node per request, not a Set: a
   * long-lived Set emptied and refilled by every request had V8 reallocate its table in the old
   * generation on nearly each of them (bench/README.md, "Old-generation churn").
   */
  private readonly inFlight = new IntrusiveList<InFlightResponse>();
  private draining = false;

  constructor(private readonly options: RequestPipelineOptions) {
    this.limiter = new RateLimiter(options.rateLimitPerSecond);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Requests whose response is not done yet. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Stage 1: counts the request and observes it to its end (response sent, or client gone —
   * status 499). `route` is the matched route's pattern (undefined: none matched).
   */
  observe(req: IncomingMessage, res: ServerResponse, id: string, route: string | undefined): void {
    const { stats, logger } = this.options;
    const startedAt = performance.now();
    res.setHeader('x-request-id', id);
    // Behind a load balancer: which instance served it (docs/cluster.md).
    if (this.options.instanceId !== undefined) res.setHeader('x-openkore-instance', this.options.instanceId);
    if (this.draining) res.setHeader('connection', 'close');
    stats.started();
    const entry: InFlightResponse = { res, prev: null, next: null, list: null };
    this.inFlight.push(entry);
    onResponseDone(req, res, () => {
      this.inFlight.remove(entry);
      const elapsed = performance.now() - startedAt;
      const status = finalStatus(res);
      if (isEventStream(res)) stats.finishedUntimed(status);
      else stats.finished(req.method ?? '', route, status, elapsed);
      // One line per response sent; a client gone first gets none.
      if (!res.writableFinished || !logger.isLevelEnabled(accessLogLevel(status, undefined))) return;
      try {
        logRequestCompleted(
          lazyRequestLogger(logger, { [REQUEST_ID_LOG_LABEL]: id }),
          { method: req.method ?? '', url: req.url ?? '', status, response_time_ms: responseTimeMs(elapsed) },
          undefined,
        );
      } catch {
        // A broken log stream must not take the process down from a socket event.
      }
    });
  }

  /** Stage 2: throws the refusal (an AppError) when the request is not admitted. */
  admit(req: IncomingMessage, route: string | undefined): void {
    if (this.draining) throw new ServiceUnavailableError('Engine is shutting down');
    const url = req.url ?? '';
    if (isHealthPath(url)) return;
    this.limiter.take(req.socket?.remoteAddress ?? '');
    if (route === undefined) {
      const path = pathOf(url);
      const allow = this.routes.methodsFor(path);
      if (allow.length > 0) throw new MethodNotAllowedError(req.method ?? '', path, allow);
    }
    // No token check here: the routes that are not Nest's (the OpenAPI UI and document, the
    // console's static files) are public, and every Nest route has the auth guard.
  }

  /**
   * Stage 3: runs the route's handler in the request's lock scope; the request's session turn
   * (if its session guard took one) is released once the handler's promise has settled and
   * the response is closed. Returns what the handler returns, untouched.
   */
  execute(request: PipelineRequest, reply: unknown, entry: RouteEntry, thisArg?: unknown): unknown {
    const run = new RequestRun(request.id);
    RequestRun.attach(request, run);
    let result: unknown;
    try {
      result = run.scope.run(() => (entry.handler as (this: unknown, req: unknown, rep: unknown) => unknown).call(thisArg, request, reply));
    } catch (err) {
      run.settle();
      throw err;
    }
    if (isThenable(result)) {
      result.then(
        () => run.settle(),
        () => run.settle(),
      );
    } else {
      run.settle();
    }
    return result;
  }

  /** Fastify's onRequest hook: stages 1 and 2 (a refusal goes to the error stage). */
  readonly onRequest = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    const route = request.routeOptions.url;
    this.observe(request.raw, reply.raw, request.id, route);
    try {
      this.admit(request.raw, route);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  };

  /** Fastify's onRoute hook: every route registered from here on runs through `execute`. */
  readonly onRoute = (route: RouteOptions): void => {
    const handler = route.handler as RouteHandler;
    const config = (route.config ?? {}) as PipelineRouteConfig;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const entries = methods.map((method) => ({ method: String(method), url: route.url, config, handler }));
    for (const entry of entries) this.routes.add(entry);
    const execute = this.execute.bind(this);
    const [first] = entries;
    // A function, not an arrow: Fastify passes the route's server instance as `this`.
    route.handler = function (this: unknown, request: FastifyRequest, reply: FastifyReply) {
      return execute(request, reply, entries.length === 1 ? first : { ...first, method: request.method }, this);
    };
  };

  /**
   * Fastify's `frameworkErrors`: what its router refuses before any hook or route (a malformed
   * URL, a path parameter over its length limit) is observed and answered like any other error.
   */
  readonly frameworkErrors = (error: Error, request: FastifyRequest, reply: FastifyReply): void => {
    this.observe(request.raw, reply.raw, request.id, undefined);
    sendError(error, request, reply);
  };

  /**
   * Shutdown: new requests get 503, and every response not sent yet (and those to come) tells
   * its client to close the connection.
   */
  startDraining(): void {
    this.draining = true;
    for (const { res } of this.inFlight) {
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
  }
}
