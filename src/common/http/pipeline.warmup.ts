import { createRootLogger } from '../logging/logger';
import { createFrontDoor } from './front-door';
import type { PipelineReply, PipelineRequest } from './http-exchange';
import { DECIDE_SHAPED_BODY, decideShapedAnswer, warmNodeHttp } from './loopback.warmup';
import { RequestPipeline } from './request-pipeline';
import { RequestStats } from './request-stats';
import type { RouteHandler } from './route-table';

export interface PipelineWarmupOptions {
  /** Exchanges to run (each a few hundred µs while cold). */
  readonly requests: number;
  /** The engine's JSON body reader (the front door's). */
  readonly readJson: (body: Buffer) => unknown;
  readonly maxBodyBytes: number;
  /** The throwaway pipeline's counters (a fresh one by default). */
  readonly stats?: RequestStats;
}

/**
 * The engine's own HTTP layer — the front door, the pipeline's observation, admission and
 * execution stages, the request's lock scope, the reply's serialization — is as cold as the rest
 * at boot, and the services' warm-up cannot reach it (it runs below HTTP, before the front door
 * exists). This runs decide-shaped requests through the same code on throwaway instances: a
 * front door over a pipeline of its own, with its own counters and a silent logger, on a
 * loopback server of its own, its one route answering a fixed decision after a promise turn (as
 * Nest's reply stage does). Nothing the engine counts, logs or stores sees them.
 */
export async function warmRequestPipeline(options: PipelineWarmupOptions): Promise<void> {
  const pipeline = new RequestPipeline({ stats: options.stats ?? new RequestStats(), logger: createRootLogger('silent'), rateLimitPerSecond: 0 });
  // The front door's reply sends like Fastify's (`send`), which is what Nest's reply stage calls.
  const handler = (request: PipelineRequest, reply: PipelineReply & { send(payload: unknown): unknown }) =>
    Promise.resolve().then(() => reply.send(decideShapedAnswer((request.body as { request_id?: unknown } | undefined)?.request_id)));
  pipeline.routes.add({ method: 'POST', url: '/api/v1/decide', config: { frontDoor: true }, handler: handler as RouteHandler });
  const door = createFrontDoor({ pipeline, readJson: options.readJson, maxBodyBytes: options.maxBodyBytes, server: undefined });
  await warmNodeHttp(options.requests, DECIDE_SHAPED_BODY, (req, res) => {
    if (door(req, res)) return;
    res.statusCode = 404;
    res.end();
  });
}
