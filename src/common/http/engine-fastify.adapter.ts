import { FastifyAdapter } from '@nestjs/platform-fastify';
import { envelope } from './envelope';
import type { PipelineRouteConfig } from './public.decorator';
import { type FastRouteHost, installRouteExecutor, type RouteExecutorChoice } from './route-executor';

installRouteExecutor();

interface ReplyOfRoute {
  readonly elapsedTime: number;
  readonly request?: { readonly id: string; readonly routeOptions?: { readonly config?: PipelineRouteConfig } };
}

/** Whether the route that `reply` answers is marked @RawResponse (its Fastify route config). */
export function isRawResponse(reply: unknown): boolean {
  return (reply as ReplyOfRoute | null | undefined)?.request?.routeOptions?.config?.rawResponse === true;
}

/**
 * Nest's Fastify adapter, with the pipeline's reply stage: `reply()` is where Nest hands every
 * route handler's result over to be sent — for a request that came through Fastify and for one
 * the front door took alike — so the success envelope is put on here, once, unless the route
 * is @RawResponse. (An interceptor would do the same at the cost of an Observable chain per
 * request on every route.) Errors get theirs from the error stage (AllExceptionsFilter).
 */
export class EngineFastifyAdapter extends FastifyAdapter implements FastRouteHost {
  /** Whether Nest's routes get the composed executor where it runs them as Nest would (HTTP_FAST_ROUTES). */
  fastRoutes = false;
  /** Which executor each route got, as Nest created them. */
  readonly routeExecutors: RouteExecutorChoice[] = [];

  override reply(response: Parameters<FastifyAdapter['reply']>[0], body: unknown, statusCode?: number): ReturnType<FastifyAdapter['reply']> {
    const reply = response as unknown as ReplyOfRoute;
    const payload = reply.request && !isRawResponse(reply) ? envelope(body, reply.request, reply) : body;
    return super.reply(response, payload, statusCode);
  }
}
