import { LockAbortedError, RequestScope, type SessionTurn } from '../concurrency';

/**
 * A session turn held for an HTTP request. It ends once the request's pipeline has settled
 * (guards, pipes, handler, reply or error mapping) and its response is closed (sent, or the
 * client went away), whichever comes last: a client that disconnects mid-handler does not let
 * its session's next request overlap the handler still running for it, and every wait inside a
 * handler is bounded, so the turn still ends.
 */
export class TurnState {
  private pipelineSettled = false;
  private responseClosed = false;
  private ended = false;

  constructor(readonly turn: SessionTurn) {}

  get sessionId(): string {
    return this.turn.sessionId;
  }

  /** True once the turn was given back. */
  get over(): boolean {
    return this.ended;
  }

  /** The request's pipeline is done with the turn. */
  settled(): void {
    this.pipelineSettled = true;
    if (this.responseClosed) this.end();
  }

  /** The response is closed (sent — by the front door: handed to its batch, its bytes final — or its client gone). Idempotent. */
  closed(): void {
    this.responseClosed = true;
    if (this.pipelineSettled) this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.turn();
  }
}

const RUN = Symbol('openkore:requestRun');

/**
 * One request's pass through the pipeline: its lock scope (everything the pipeline runs for
 * it runs inside) and the session turn it holds, if any.
 */
export class RequestRun {
  readonly scope: RequestScope;
  private turnState: TurnState | undefined;
  private settled = false;

  constructor(readonly requestId: string) {
    this.scope = new RequestScope(`request ${requestId}`);
  }

  /** The session this request is serialized under (set by the session guard). */
  get sessionId(): string | undefined {
    return this.turnState?.sessionId;
  }

  get turn(): TurnState | undefined {
    return this.turnState;
  }

  /**
   * The request holds `state`'s turn: its scope adopts it (locks taken from here on nest under
   * SESSION) and it ends when the pipeline settles and the response closes.
   */
  hold(state: TurnState): void {
    if (this.turnState) {
      state.settled();
      throw new Error(`request ${this.requestId} already holds the turn of session ${this.turnState.sessionId}`);
    }
    this.turnState = state;
    state.turn.holdFor(this.scope);
    if (this.settled) state.settled();
  }

  /** Called once the pipeline has settled for this request. */
  settle(): void {
    this.settled = true;
    this.turnState?.settled();
  }

  static attach(request: object, run: RequestRun): void {
    (request as { [RUN]?: RequestRun })[RUN] = run;
  }

  static of(request: object | null | undefined): RequestRun | undefined {
    return (request as { [RUN]?: RequestRun } | null | undefined)?.[RUN];
  }
}

/** The turn ended before its handler could start: the client left while it waited. */
export function clientGoneError(): LockAbortedError {
  return new LockAbortedError('session', 'client gone before its turn began');
}
