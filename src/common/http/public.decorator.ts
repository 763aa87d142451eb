import { SetMetadata } from '@nestjs/common';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';

export const IS_PUBLIC = 'openkore:isPublic';
/** The route needs no bearer token (health probes). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * What the request pipeline needs to know about a route while it answers, kept in the route's
 * Fastify config (Nest passes a method's `RouteConfig` through), so the pipeline reads it from
 * the route itself — the same way whichever way the request came in.
 */
export interface PipelineRouteConfig {
  /** Answers in its own flat shape (compatibility routes, health, Prometheus), not the envelope. */
  readonly rawResponse?: boolean;
  /** May be served by the front door (src/common/http/front-door.ts). */
  readonly frontDoor?: boolean;
}

/** Adds to the method's Fastify route config (several of these decorators may be stacked). */
function routeConfig(patch: PipelineRouteConfig): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const current = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, method) as object | undefined) ?? {};
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...current, ...patch }, method);
  };
}

/** The route answers in its own flat shape (compatibility routes, health), not the envelope; errors keep the envelope. */
export const RawResponse = () => routeConfig({ rawResponse: true });

/**
 * A per-tick route of a bot farm: a request with nothing unusual about its transport (an exact
 * path, a JSON body of known length) may be taken off Node's server before Fastify and handed
 * to the same pipeline (src/common/http/front-door.ts).
 */
export const FrontDoor = () => routeConfig({ frontDoor: true });
