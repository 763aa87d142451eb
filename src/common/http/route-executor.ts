import { ForbiddenException, type PipeTransform, StreamableFile } from '@nestjs/common';
import { FORBIDDEN_MESSAGE } from '@nestjs/core/guards/constants.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { STATIC_CONTEXT } from '@nestjs/core/injector/constants.js';
import { ParamsTokenFactory } from '@nestjs/core/pipes/params-token-factory.js';
import { markRejectedByPipes } from '@nestjs/core/router/rejected-by-pipes.js';
import { RouterExecutionContext } from '@nestjs/core/router/router-execution-context.js';
import { isStreamingBody } from '@nestjs/core/router/streaming-body.js';
import { isObservable } from 'rxjs';

/** Which executor serves a route: ours (`fast`) or Nest's (`nest`, with the reason). */
export interface RouteExecutorChoice {
  readonly route: string;
  readonly executor: 'fast' | 'nest';
  readonly reason?: string;
}

/**
 * What an HTTP adapter opts into: when `fastRoutes` is true, the routes Nest creates for it get
 * the composed executor below wherever it can run them exactly as Nest would; every choice is
 * recorded in `routeExecutors`.
 */
export interface FastRouteHost {
  fastRoutes: boolean;
  readonly routeExecutors: RouteExecutorChoice[];
}

function isFastRouteHost(value: unknown): value is FastRouteHost {
  return typeof value === 'object' && value !== null && typeof (value as FastRouteHost).fastRoutes === 'boolean' && Array.isArray((value as FastRouteHost).routeExecutors);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** A route handler as Nest holds it: a method of the controller instance. */
type Handler = (...args: unknown[]) => unknown;
type Guard = { canActivate(context: ExecutionContextHost): unknown };
type Args = [req: unknown, res: unknown, next: unknown];

/** A param as Nest's context utils describe it (metadata merged with its design type). */
interface ParamOption {
  index: number;
  extractValue: (req: unknown, res: unknown, next: unknown) => unknown;
  type: unknown;
  data: unknown;
  metatype: unknown;
  pipes: unknown[];
  schema: unknown;
}

interface ParamPlan {
  readonly index: number;
  readonly extractValue: (req: unknown, res: unknown, next: unknown) => unknown;
  readonly isPipeable: boolean;
  readonly pipes: PipeTransform[];
  readonly metadata: { metatype: unknown; type: string; data: unknown; schema: unknown };
}

/** Nest's internals the executor reads, as RouterExecutionContext holds them (all set in its constructor). */
interface NestExecutionContext {
  applicationRef: { reply(res: unknown, body: unknown, statusCode?: number): unknown };
  pipesContextCreator: { create(...a: unknown[]): PipeTransform[] };
  guardsContextCreator: { create(...a: unknown[]): Guard[] };
  /** A guard's answer that is not a boolean (a promise, an Observable: its last value), as Nest's guards consumer reads it. */
  guardsConsumer: { pickResult(result: unknown): Promise<unknown> };
  interceptorsContextCreator: { create(...a: unknown[]): unknown[] };
  contextUtils: { mergeParamsMetatypes(params: unknown[], paramtypes: unknown): ParamOption[] };
  responseController: { setStatus(res: unknown, code: number): void; setHeaders(res: unknown, headers: unknown[]): void };
  getMetadata(...a: unknown[]): {
    argsLength: number;
    fnHandleResponse: (result: unknown, res: unknown, req: unknown, observable?: unknown, streams?: unknown[]) => Promise<unknown>;
    isSseHandler: boolean;
    paramtypes: unknown;
    getParamsMetadata: (moduleKey: string, contextId?: unknown, inquirerId?: string) => unknown[];
    httpStatusCode: number;
    responseHeaders: unknown[];
    hasCustomHeaders: boolean;
  };
  isPipeable(type: unknown): boolean;
  isResponseHandled(instance: object, methodName: string, paramsMetadata: unknown[]): boolean;
  reflectRenderTemplate(callback: Handler): unknown;
  reflectRedirect(callback: Handler): unknown;
}

type NestCreate = (this: NestExecutionContext, ...a: unknown[]) => (req: unknown, res: unknown, next: unknown) => Promise<unknown>;

const tokens = new ParamsTokenFactory();
let installed = false;

/**
 * Nest's route executor (RouterExecutionContext.create) wraps every step of every request in an
 * async function — the guards, their consumer, the pipes, the interceptor consumer, the handler
 * and the response — so a route whose steps are all synchronous still costs a chain of promises
 * per request (each dearer with AsyncLocalStorage's hooks, which the lock hierarchy needs), plus
 * an `isPlainObject` on every result. This composes, once per route at boot, an executor that
 * runs the same steps in the same order with the same objects — every guard the route has
 * (global, controller, method, whatever their class), the status and headers, every param's
 * extractor and pipes, the handler, the adapter's reply — and waits only where a step returned a
 * promise (or an Observable). Errors propagate the same way, to Nest's exception layer
 * (RouterProxy, then the exception filter).
 *
 * Nest's executor stays in charge of any route the composed one does not know how to run
 * identically: interceptors, server-sent events, templates, redirects, a handler that answers
 * itself (`@Res()` without passthrough, `@Next()`), request-scoped controllers; and of any
 * result that is not a plain value (an Observable, a stream, a StreamableFile: handed to Nest's
 * own response step). The choice per route is recorded on the adapter (`routeExecutors`).
 *
 * Installed once per process; it only changes routes of an adapter that opts in (FastRouteHost).
 */
export function installRouteExecutor(): void {
  if (installed) return;
  installed = true;
  const proto = RouterExecutionContext.prototype as unknown as { create: NestCreate };
  const nestCreate = proto.create;
  proto.create = function (this: NestExecutionContext, ...a: unknown[]) {
    const nest = nestCreate.apply(this, a);
    const host = this.applicationRef as unknown;
    const [instance, callback, methodName, moduleKey, , contextId = STATIC_CONTEXT, inquirerId] = a as [object, Handler, string, string, unknown, unknown, string | undefined];
    // A request-scoped controller's route is created per request, for that request's instance: Nest's.
    if (!isFastRouteHost(host) || !host.fastRoutes || contextId !== STATIC_CONTEXT) return nest;
    const route = `${instance.constructor.name}.${methodName}`;
    const plan = compose(this, instance, callback, methodName, moduleKey, a[4], contextId, inquirerId);
    if (typeof plan === 'string') {
      host.routeExecutors.push({ route, executor: 'nest', reason: plan });
      return nest;
    }
    host.routeExecutors.push({ route, executor: 'fast' });
    return plan as unknown as ReturnType<NestCreate>;
  };
}

/** The composed executor for a route, or why Nest's must run it. */
function compose(
  ctx: NestExecutionContext,
  instance: object,
  callback: Handler,
  methodName: string,
  moduleKey: string,
  requestMethod: unknown,
  contextId: unknown,
  inquirerId: string | undefined,
): ((req: unknown, res: unknown, next: unknown) => unknown) | string {
  const meta = ctx.getMetadata(instance, callback, methodName, moduleKey, requestMethod, 'http');
  if (meta.isSseHandler) return 'server-sent events';
  if (ctx.reflectRenderTemplate(callback)) return 'template';
  if (ctx.reflectRedirect(callback)) return 'redirect';
  const interceptors = ctx.interceptorsContextCreator.create(instance, callback, moduleKey, contextId, inquirerId);
  if (interceptors.length > 0) return 'interceptors';
  const paramsMetadata = meta.getParamsMetadata(moduleKey, contextId, inquirerId);
  if (ctx.isResponseHandled(instance, methodName, paramsMetadata)) return 'handler answers itself';
  const paramsOptions = ctx.contextUtils.mergeParamsMetatypes(paramsMetadata, meta.paramtypes);
  const routePipes = ctx.pipesContextCreator.create(instance, callback, moduleKey, contextId, inquirerId);
  const guards = ctx.guardsContextCreator.create(instance, callback, moduleKey, contextId, inquirerId);

  const params: ParamPlan[] = paramsOptions.map(({ index, extractValue, type, data, metatype, pipes, schema }) => {
    const isPipeable = ctx.isPipeable(type);
    return {
      index,
      extractValue,
      isPipeable,
      pipes: isPipeable ? routePipes.concat(pipes as PipeTransform[]) : [],
      metadata: { metatype, type: tokens.exchangeEnumForString(type as never), data, schema },
    };
  });
  const { argsLength, httpStatusCode, hasCustomHeaders, responseHeaders, fnHandleResponse } = meta;
  const { applicationRef, responseController, guardsConsumer } = ctx;
  const controller = instance.constructor;

  const respond = (result: unknown, req: unknown, res: unknown): unknown => {
    // What only Nest's response step knows how to send (and to clean up after).
    if (isObservable(result) || isStreamingBody(result) || result instanceof StreamableFile) return fnHandleResponse(result, res, req, undefined, []);
    return applicationRef.reply(res, result, undefined);
  };

  const invoke = (args: unknown[], req: unknown, res: unknown): unknown => {
    const result = callback.apply(instance, args);
    if (isThenable(result)) return Promise.resolve(result).then((value) => respond(value, req, res));
    return respond(result, req, res);
  };

  /** Param `p`'s pipes from `from` on, `value` being what the previous one returned. */
  const pipeFrom = (p: ParamPlan, from: number, value: unknown): unknown => {
    for (let i = from; i < p.pipes.length; i++) {
      const out = p.pipes[i].transform(value, p.metadata as never);
      if (isThenable(out)) return Promise.resolve(out).then((v) => pipeFrom(p, i + 1, v));
      value = out;
    }
    return value;
  };

  const run = (req: unknown, res: unknown, next: unknown): unknown => {
    responseController.setStatus(res, httpStatusCode);
    if (hasCustomHeaders) responseController.setHeaders(res, responseHeaders);
    const args: unknown[] = new Array(argsLength).fill(undefined);
    let pending: Array<Promise<unknown>> | undefined;
    for (const p of params) {
      try {
        const value = p.extractValue(req, res, next);
        if (!p.isPipeable) {
          args[p.index] = value;
          continue;
        }
        const out = isThenable(value) ? Promise.resolve(value).then((v) => pipeFrom(p, 0, v)) : pipeFrom(p, 0, value);
        if (isThenable(out)) (pending ??= []).push(Promise.resolve(out).then((v) => (args[p.index] = v)));
        else args[p.index] = out;
      } catch (err) {
        (pending ??= []).push(Promise.reject(err));
      }
    }
    if (pending) {
      return Promise.all(pending).then(
        () => invoke(args, req, res),
        (err: unknown) => {
          // As Nest does: e.g. for upload interceptors to remove the files they stored.
          markRejectedByPipes(req as never);
          throw err;
        },
      );
    }
    return invoke(args, req, res);
  };

  /** Guards in order from `from`; a false one refuses the request as Nest does. */
  const guardFrom = (context: ExecutionContextHost, from: number, req: unknown, res: unknown, next: unknown): unknown => {
    for (let i = from; i < guards.length; i++) {
      const result = guards[i].canActivate(context);
      if (typeof result === 'boolean') {
        if (!result) throw new ForbiddenException(FORBIDDEN_MESSAGE);
        continue;
      }
      return guardsConsumer.pickResult(result).then((ok) => {
        if (!ok) throw new ForbiddenException(FORBIDDEN_MESSAGE);
        return guardFrom(context, i + 1, req, res, next);
      });
    }
    return run(req, res, next);
  };

  if (guards.length === 0) return run;
  return (req, res, next) => {
    const args: Args = [req, res, next];
    const context = new ExecutionContextHost(args, controller as never, callback as never);
    context.setType('http');
    return guardFrom(context, 0, req, res, next);
  };
}
