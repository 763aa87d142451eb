import { type CanActivate, type ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { yieldToLoop } from '../async/wait';
import { SessionSerializer, type SessionTurn } from '../concurrency';
import { SESSION_DIRECTORY, type SessionDirectory, type SessionRef } from '../ports/session-directory.port';
import type { PipelineRequest } from './http-exchange';
import { clientGoneError, RequestRun, TurnState } from './request-run';
import { connectionGone, onResponseDone } from './response-done';
import { SessionRateLimiter } from './session-rate-limiter';
import { defaultSessionRef, PUBLISHED_READ, SESSION_FROM, type SessionRefExtractor } from './session-scope.decorator';

export { TurnState } from './request-run';

/**
 * The session's turn for an HTTP request, held until the request is over (`TurnState`): at
 * once when free (no promise), else a bounded wait that a dropped connection cancels, removing
 * the request from the queue.
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
  let turn: SessionTurn;
  try {
    turn = await serializer.acquireTurn(key, { signal: controller.signal });
  } finally {
    stopWatching();
  }
  // A turn handed over from the previous request arrives in a microtask of that request's end,
  // and so would the next one's: a deep queue would drain without the event loop ever polling
  // for I/O, and every other bot and every read would wait for it. One loop turn per handover.
  await yieldToLoop();
  return turn;
}

/**
 * Per-session request serialization (docs/architecture.md §3.1), the pipeline's session stage: the route names
 * its session (`@SessionFrom`, or a `:sessionId` parameter / `session_id` body field), the
 * session directory turns that into the one session id of the bot — found by id or by
 * character name — and the request waits for that session's turn (FIFO, bounded by
 * REQUEST_TIMEOUT_MS, QUEUE_FULL past the queue depth; a client that goes away leaves the
 * queue). Before it queues, the request is counted against its session's rate limit
 * (SESSION_RATE_LIMIT_RPS, keyed by the resolved session id, so a bot is one budget whichever
 * way it names itself; 429 RATE_LIMIT past it). The request's scope adopts the turn, so the handler and every lock it takes run
 * inside it, and keeps it until the response is closed and the pipeline has settled.
 * Requests of other sessions are not held up; `@PublishedRead` routes take no turn.
 *
 * Synchronous when the session is free (the hot path allocates no promise here).
 */
@Injectable()
export class SessionTurnGuard implements CanActivate {
  /** Per handler: how it names its session, or null for a route without a turn. */
  private readonly extractors = new WeakMap<object, SessionRefExtractor | null>();

  constructor(
    private readonly serializer: SessionSerializer,
    private readonly reflector: Reflector,
    @Optional() @Inject(SESSION_DIRECTORY) private readonly directory: SessionDirectory | null = null,
    // Named explicitly: a `T | null` parameter's design type is Object, which Nest cannot resolve.
    @Optional() @Inject(SessionRateLimiter) private readonly limiter: SessionRateLimiter | null = null,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const extract = this.extractorFor(context);
    if (extract === null) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<PipelineRequest>();
    const ref = extract(request);
    if (ref === undefined) return true;
    const run = RequestRun.of(request);
    if (!run) throw new Error('SessionTurnGuard: this request did not come through the request pipeline (RequestPipeline.execute)');
    const res = http.getResponse<{ raw: ServerResponse }>().raw;
    const id = this.sessionIdFor(ref);
    if (typeof id === 'string') return this.enter(id, run, request.raw, res);
    return id.then((key) => this.enter(key, run, request.raw, res));
  }

  private sessionIdFor(ref: SessionRef): string | Promise<string> {
    if (this.directory) return this.directory.sessionIdFor(ref);
    // Standalone (no session module): the name itself is the key.
    return 'sessionId' in ref ? ref.sessionId : `character:${ref.characterName}`;
  }

  private enter(key: string, run: RequestRun, req: IncomingMessage, res: ServerResponse): true | Promise<true> {
    // A runaway bot is refused before it takes a place in its session's queue.
    this.limiter?.take(key);
    const pending = turnForResponse(this.serializer, key, req, res);
    if (pending instanceof TurnState) return this.hold(pending, run, req, res);
    return pending.then((state) => this.hold(state, run, req, res));
  }

  private hold(state: TurnState, run: RequestRun, req: IncomingMessage, res: ServerResponse): true {
    run.hold(state);
    // Its client left while it waited: the turn ends with the pipeline, and no handler runs for nobody.
    if (connectionGone(req, res)) throw clientGoneError();
    return true;
  }

  private extractorFor(context: ExecutionContext): SessionRefExtractor | null {
    const handler = context.getHandler();
    let extract = this.extractors.get(handler);
    if (extract === undefined) {
      const targets = [handler, context.getClass()];
      const published = this.reflector.getAllAndOverride<boolean | undefined>(PUBLISHED_READ, targets) === true;
      extract = published ? null : (this.reflector.getAllAndOverride<SessionRefExtractor | undefined>(SESSION_FROM, targets) ?? defaultSessionRef);
      this.extractors.set(handler, extract);
    }
    return extract;
  }
}
