import { type CallHandler, type CanActivate, type ExecutionContext, Injectable, type NestInterceptor, Optional, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { finalize, Observable } from 'rxjs';
import { LockAbortedError, SessionSerializer, type SessionTurn } from '../concurrency';
import type { LeanRequest } from './http-exchange';
import { connectionGone, onResponseDone } from './response-done';
import { SessionRateLimiter } from './session-rate-limiter';

/** How a route names the session its request belongs to; undefined = not session-bound. */
export type SessionKeyExtractor = (request: LeanRequest) => unknown;

export const SESSION_KEY = 'openkore:sessionKey';
/** Overrides where the guard finds the session key (e.g. the plugin's character name). */
export const SerializeBy = (extractor: SessionKeyExtractor) => SetMetadata(SESSION_KEY, extractor);

const MAX_KEY_LENGTH = 128;
const TURN = Symbol('sessionTurn');

/**
 * A turn ends when the response is closed (sent, or the client went away) and the handler is
 * not running. A client that disconnects mid-handler does not let its session's next request
 * overlap the handler still running for it; every wait inside a handler is bounded, so the
 * turn still ends. A turn that ended before its handler started (the client left first) does
 * not start one: the handler would run outside its turn.
 */
export class TurnState {
  private handlerRunning = false;
  private responseClosed = false;
  private ended = false;

  constructor(readonly turn: SessionTurn) {}

  /** Runs the request's handler inside the turn's async context (its locks nest under SESSION). */
  async runHandler<T>(handler: () => T | PromiseLike<T>): Promise<T> {
    this.handlerStarted();
    try {
      return await this.turn.run(handler);
    } finally {
      this.handlerSettled();
    }
  }

  /** Throws LockAbortedError when the turn has already ended. */
  handlerStarted(): void {
    if (this.ended) throw new LockAbortedError('session', 'client gone before its turn began');
    this.handlerRunning = true;
  }

  handlerSettled(): void {
    this.handlerRunning = false;
    if (this.responseClosed) this.end();
  }

  closed(): void {
    this.responseClosed = true;
    if (!this.handlerRunning) this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.turn();
  }
}

/** The key when it can name a session; malformed keys are left to validation (a 400). */
export function usableSessionKey(key: unknown): string | undefined {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH ? key : undefined;
}

/**
 * The session's turn for an HTTP request, held until the request is over (`TurnState`): at
 * once when free (no promise), else a bounded wait that a dropped connection cancels, removing
 * the request from the queue. The caller marks when its handler starts and settles.
 */
export function turnForResponse(serializer: SessionSerializer, key: string, request: IncomingMessage, res: ServerResponse): TurnState | Promise<TurnState> {
  const gone = connectionGone(request, res);
  const turn = gone ? undefined : serializer.tryAcquireTurn(key);
  if (turn) return watch(turn, request, res);
  return waitForTurn(serializer, key, request, res, gone).then((t) => watch(t, request, res));
}

function watch(turn: SessionTurn, request: IncomingMessage, res: ServerResponse): TurnState {
  const state = new TurnState(turn);
  onResponseDone(request, res, () => state.closed());
  return state;
}

async function waitForTurn(serializer: SessionSerializer, key: string, request: IncomingMessage, res: ServerResponse, gone: boolean): Promise<SessionTurn> {
  const controller = new AbortController();
  if (gone) controller.abort();
  const stopWatching = onResponseDone(request, res, () => controller.abort());
  try {
    return await serializer.acquireTurn(key, { signal: controller.signal });
  } finally {
    stopWatching();
  }
}

type WithTurn = FastifyRequest & { [TURN]?: TurnState };

/** Default: a `:sessionId` route parameter, else a `session_id` field of the JSON body. */
export const defaultSessionKey: SessionKeyExtractor = (request) => {
  const params = request.params as Record<string, unknown> | undefined;
  if (params && typeof params.sessionId === 'string') return params.sessionId;
  const body = request.body as Record<string, unknown> | undefined;
  if (body && typeof body === 'object' && !Array.isArray(body)) return body.session_id;
  return undefined;
};

/**
 * Per-session request serialization (spec §3.1): a request that carries a session waits for
 * its session's turn (FIFO, bounded by REQUEST_TIMEOUT_MS, QUEUE_FULL past the queue depth)
 * and keeps it until its response is finished — or the client goes away, which also removes
 * a waiting request from the queue. Requests of other sessions are not held up.
 */
@Injectable()
export class SessionTurnGuard implements CanActivate {
  constructor(
    private readonly serializer: SessionSerializer,
    private readonly reflector: Reflector,
    @Optional() private readonly limiter: SessionRateLimiter | null = null,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<WithTurn>();
    const reply = http.getResponse<FastifyReply>();
    const extractor =
      this.reflector.getAllAndOverride<SessionKeyExtractor | undefined>(SESSION_KEY, [context.getHandler(), context.getClass()]) ??
      defaultSessionKey;
    const key = usableSessionKey(extractor(request));
    if (key === undefined) return true;
    this.limiter?.take(key);

    const pending = turnForResponse(this.serializer, key, request.raw, reply.raw);
    request[TURN] = pending instanceof Promise ? await pending : pending;
    return true;
  }
}

/** Runs the handler inside its session turn's async context, so its locks nest under SESSION. */
@Injectable()
export class SessionTurnInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const state = context.switchToHttp().getRequest<WithTurn>()[TURN];
    if (!state) return next.handle();
    return new Observable<unknown>((subscriber) => {
      try {
        state.handlerStarted();
      } catch (err) {
        subscriber.error(err);
        return undefined;
      }
      return state.turn.run(() =>
        next
          .handle()
          .pipe(finalize(() => state.handlerSettled()))
          .subscribe(subscriber),
      );
    });
  }
}
