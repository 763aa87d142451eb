import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  HTTP_CODE_METADATA,
  INTERCEPTORS_METADATA,
  METHOD_METADATA,
  PATH_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants';
import { RequestMethod, SetMetadata } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { SessionSerializer } from '../concurrency';
import { assertBearer } from './auth.guard';
import { envelope } from './envelope.interceptor';
import type { LeanReply, LeanRequest } from './http-exchange';
import { IS_PUBLIC, RAW_RESPONSE } from './public.decorator';
import { SessionRateLimiter } from './session-rate-limiter';
import { defaultSessionKey, SESSION_KEY, type SessionKeyExtractor, turnForResponse, usableSessionKey } from './session-turn.guard';

export type { LeanReply, LeanRequest } from './http-exchange';

/** Builds the handler's arguments from the request; validation happens here (throwing AppErrors). */
export type LeanArgs = (request: LeanRequest, reply: LeanReply) => unknown[];

const LEAN_ROUTE = 'openkore:leanRoute';

/**
 * Serves a hot route straight from Fastify instead of through Nest's guard/interceptor/pipe
 * pipeline (each a promise or an Observable per request). Same contract as the Nest path:
 * bearer token unless @Public, the session turn from @SerializeBy (or the default key), the
 * handler inside the turn's async context, @RawResponse or the envelope, @HttpCode; errors
 * thrown reach the one global filter through Fastify's error handler. The route stays a Nest
 * controller method, so it is documented in OpenAPI like every other.
 *
 * `args` replaces the parameter decorators and their pipes: it must validate as strictly.
 * Unlike Nest's order, the body is validated before queueing for the turn: a malformed
 * request never occupies its session's queue.
 */
export const LeanRoute = (args: LeanArgs) => SetMetadata(LEAN_ROUTE, args);

/** Resolves with the payload to send (enveloped unless @RawResponse); the status is on the reply. */
export type LeanHandler = (request: LeanRequest, reply: LeanReply) => Promise<unknown>;

export interface LeanRouteEntry {
  readonly method: string;
  readonly url: string;
  readonly handler: LeanHandler;
  /** @Public: no bearer token needed. */
  readonly isPublic: boolean;
}

function joinPath(...parts: (string | undefined)[]): string {
  const joined = parts
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0)
    .join('/');
  return `/${joined}`;
}

function leanHandler(
  target: { instance: object; method: (...args: unknown[]) => unknown; args: LeanArgs },
  options: { tokenDigest: Buffer | undefined; isPublic: boolean; raw: boolean; status: number; sessionKey: SessionKeyExtractor },
  serializer: SessionSerializer,
  limiter: SessionRateLimiter,
): LeanHandler {
  const { instance, method, args } = target;
  const invoke = (values: unknown[]) => method.apply(instance, values);
  return async (request, reply) => {
    if (options.tokenDigest && !options.isPublic) assertBearer(request.headers.authorization, options.tokenDigest);
    const values = args(request, reply);
    const key = usableSessionKey(options.sessionKey(request));
    // Before the handler, which may choose another status (202) through the reply.
    void reply.code(options.status);
    let result: unknown;
    if (key === undefined) {
      result = await invoke(values);
    } else {
      limiter.take(key);
      const pending = turnForResponse(serializer, key, request.raw, reply.raw);
      const state = pending instanceof Promise ? await pending : pending;
      result = await state.runHandler(() => invoke(values));
    }
    return options.raw ? result : envelope(result, request, reply);
  };
}

/**
 * Finds every @LeanRoute controller method and, as Nest registers its route with Fastify,
 * swaps in the lean handler. Call before `app.init()`; throws at init if a lean route was
 * never registered (a path that no longer matches would silently fall back otherwise).
 */
export function installLeanRoutes(
  app: NestFastifyApplication,
  tokenDigest: Buffer | undefined,
): { assertInstalled(): void; readonly routes: ReadonlyMap<string, LeanRouteEntry> } {
  const reflector = app.get(Reflector);
  const serializer = app.get(SessionSerializer);
  const limiter = app.get(SessionRateLimiter);
  /** Lean routes by "METHOD /url". */
  const handlers = new Map<string, LeanRouteEntry>();
  for (const wrapper of app.get(DiscoveryService).getControllers()) {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    const controller = wrapper.metatype;
    if (!instance || !controller) continue;
    const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method = proto[name];
      if (name === 'constructor' || typeof method !== 'function') continue;
      const targets: (typeof controller)[] = [method as typeof controller, controller];
      const args = reflector.get<LeanArgs | undefined>(LEAN_ROUTE, method);
      if (!args) continue;
      // What the lean handler does not run must not be there, silently skipped.
      for (const key of [GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, EXCEPTION_FILTERS_METADATA]) {
        if (targets.some((t) => (reflector.get<unknown[] | undefined>(key, t)?.length ?? 0) > 0)) {
          throw new Error(`@LeanRoute ${controller.name}.${name} cannot have route-level ${key}: mirror it in the lean handler`);
        }
      }
      if (!wrapper.isDependencyTreeStatic()) throw new Error(`@LeanRoute ${controller.name}.${name}: the controller must be a singleton`);
      const verb = RequestMethod[reflector.get<RequestMethod>(METHOD_METADATA, method)];
      const url = joinPath(reflector.get<string | undefined>(PATH_METADATA, controller), reflector.get<string | undefined>(PATH_METADATA, method));
      const isPublic = reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true;
      const handler = leanHandler(
        { instance, method: method as (...a: unknown[]) => unknown, args },
        {
          tokenDigest,
          isPublic,
          raw: reflector.getAllAndOverride<boolean | undefined>(RAW_RESPONSE, targets) === true,
          status: reflector.get<number | undefined>(HTTP_CODE_METADATA, method) ?? (verb === 'POST' ? 201 : 200),
          sessionKey: reflector.getAllAndOverride<SessionKeyExtractor | undefined>(SESSION_KEY, targets) ?? defaultSessionKey,
        },
        serializer,
        limiter,
      );
      handlers.set(`${verb} ${url}`, { method: verb, url, handler, isPublic });
    }
  }
  const installed = new Set<string>();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const m of methods) {
        const entry = handlers.get(`${m} ${route.url}`);
        if (!entry) continue;
        // One handler serves every method of a route definition: only a single-method one can be swapped.
        if (methods.length > 1) throw new Error(`Lean route ${m} ${route.url} is registered with other methods (${methods.join(', ')})`);
        const { handler } = entry;
        route.handler = (request: FastifyRequest, reply: FastifyReply) => handler(request as LeanRequest, reply);
        installed.add(`${m} ${route.url}`);
      }
    });
  return {
    routes: handlers,
    assertInstalled() {
      const missing = [...handlers.keys()].filter((k) => !installed.has(k));
      if (missing.length > 0) throw new Error(`Lean routes never registered by Nest: ${missing.join(', ')}`);
    },
  };
}
