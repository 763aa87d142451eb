import { type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import fc from 'fast-check';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { heldLocks, LockAbortedError, SessionSerializer, type SessionTurn, withLock } from '../concurrency';
import { RecordingLogger } from '../concurrency/concurrency.test-kit';
import { createLockManager } from '../concurrency/lock-manager.service';
import { LockName, LockOrder } from '../concurrency/lock-order.enum';
import type { SessionDirectory, SessionRef } from '../ports/session-directory.port';
import { until } from '../testing/wait.test-kit';
import { RateLimitError } from '../errors/http.errors';
import { RequestRun } from './request-run';
import { SessionRateLimiter } from './session-rate-limiter';
import { characterRef, PublishedRead, SessionFrom } from './session-scope.decorator';
import { SessionTurnGuard, TurnState, turnForResponse } from './session-turn.guard';

function state() {
  const end = jest.fn();
  return { end, turn: new TurnState(Object.assign(end, { sessionId: 's' }) as unknown as SessionTurn) };
}

describe('TurnState', () => {
  it('keeps the turn while the pipeline runs, even after the response closed', () => {
    const { end, turn } = state();
    turn.closed();
    expect(end).not.toHaveBeenCalled();
    turn.settled();
    expect(end).toHaveBeenCalledTimes(1);
  });

  it('keeps the turn until the response closes, even after the pipeline settled', () => {
    const { end, turn } = state();
    turn.settled();
    expect(end).not.toHaveBeenCalled();
    turn.closed();
    expect(end).toHaveBeenCalledTimes(1);
    expect(turn.over).toBe(true);
  });

  it('property: the turn ends exactly once, as soon as the pipeline settled and the response closed', () => {
    const step = fc.constantFrom('settle', 'close');
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        const { end, turn } = state();
        let settled = false;
        let closed = false;
        for (const s of steps) {
          if (s === 'settle') {
            turn.settled();
            settled = true;
          } else {
            turn.closed();
            closed = true;
          }
          expect(end.mock.calls.length).toBe(settled && closed ? 1 : 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('turnForResponse', () => {
  it('waits for a busy session after the body was read (a read request is "destroyed" on Node 20; its client is not gone)', async () => {
    const serializer = new SessionSerializer(createLockManager({ logger: new RecordingLogger() }));
    const held = await serializer.acquireTurn('k');
    const outcome: string[] = [];
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        // Once the body is consumed Node marks the request destroyed; wait for it, as a guard
        // after an await would.
        void until(() => req.destroyed, 'request marked destroyed')
          .then(() => turnForResponse(serializer, 'k', req, res))
          .then(
            (state) => {
              outcome.push('turn');
              state.settled();
              res.end('ok');
            },
            (err: Error) => {
              outcome.push(err.name);
              res.end('refused');
            },
          );
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const answer = fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`, { method: 'POST', body: 'x' }).then((r) => r.text());
      await until(() => serializer.queueDepth('k') === 1 || outcome.length > 0, 'queued for the turn');
      held();
      expect(await answer).toBe('ok');
      expect(outcome).toEqual(['turn']);
      await until(() => serializer.inFlight === 0, 'turn released with the response');
    } finally {
      held();
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

class Routes {
  @SessionFrom((req) => characterRef((req.body as { name?: unknown }).name))
  byCharacter() {}

  bySessionId() {}

  @PublishedRead()
  read() {}
}

/** A request the guard can see: an open connection (its response not closed). */
function fakeExchange(body: unknown, params: Record<string, string> = {}) {
  const socket = { destroyed: false, once: jest.fn() };
  const raw = { socket, headers: {} } as unknown as http.IncomingMessage;
  const res = { closed: false, destroyed: false, once: jest.fn(), off: jest.fn() } as unknown as http.ServerResponse;
  const request = { id: 'r1', body, params, headers: {}, raw };
  return { request, reply: { raw: res }, res };
}

function contextFor(handler: (...a: unknown[]) => unknown, request: object, reply: object): ExecutionContext {
  return {
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
  } as unknown as ExecutionContext;
}

describe('SessionTurnGuard', () => {
  const manager = createLockManager({ logger: new RecordingLogger() });
  const serializer = new SessionSerializer(manager);
  const lookups: SessionRef[] = [];
  const directory: SessionDirectory = {
    sessionIdFor: (ref) => {
      lookups.push(ref);
      return 'sessionId' in ref ? ref.sessionId : `sid-of-${ref.characterName}`;
    },
  };
  const guard = new SessionTurnGuard(serializer, new Reflector(), directory);
  const proto = Routes.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;

  afterEach(() => {
    lookups.length = 0;
  });

  it("takes the turn of the bot's one session, found through the directory, synchronously when free", async () => {
    const { request, reply } = fakeExchange({ name: 'Knight' });
    const run = new RequestRun('r1');
    RequestRun.attach(request, run);
    const granted = guard.canActivate(contextFor(proto.byCharacter, request, reply));
    expect(granted).toBe(true);
    expect(lookups).toEqual([{ characterName: 'Knight' }]);
    expect(run.sessionId).toBe('sid-of-Knight');
    expect(serializer.stats().activeSessions).toBe(1);
    // The request's scope holds the turn: a lock taken in it nests under SESSION.
    const state = manager.keyedRwLock(LockName.STATE, LockOrder.STATE);
    await expect(run.scope.run(() => withLock(state, () => heldLocks(), { key: 'sid-of-Knight' }))).resolves.toEqual([
      'session[sid-of-Knight]',
      'state[sid-of-Knight]',
    ]);
    run.settle();
    run.turn!.closed();
    expect(serializer.stats().activeSessions).toBe(0);
  });

  it('queues behind a busy session and holds the turn once granted', async () => {
    const held = await serializer.acquireTurn('sid-busy');
    const { request, reply } = fakeExchange({ session_id: 'sid-busy' });
    const run = new RequestRun('r2');
    RequestRun.attach(request, run);
    const pending = guard.canActivate(contextFor(proto.bySessionId, request, reply));
    expect(pending).toBeInstanceOf(Promise);
    await until(() => serializer.queueDepth('sid-busy') === 1, 'queued');
    held();
    await expect(pending).resolves.toBe(true);
    expect(run.sessionId).toBe('sid-busy');
    run.settle();
    run.turn!.closed();
    expect(serializer.stats().activeSessions).toBe(0);
  });

  it('takes no turn for a published read, nor for a request that names no session', () => {
    const read = fakeExchange({}, { sessionId: 'sid-read' });
    expect(guard.canActivate(contextFor(proto.read, read.request, read.reply))).toBe(true);
    const anonymous = fakeExchange({ other: 1 });
    expect(guard.canActivate(contextFor(proto.bySessionId, anonymous.request, anonymous.reply))).toBe(true);
    expect(lookups).toEqual([]);
    expect(serializer.stats().activeSessions).toBe(0);
  });

  it('refuses to hand out a turn to a request outside the pipeline (it could never give it back)', () => {
    const { request, reply } = fakeExchange({ session_id: 'sid-x' });
    expect(() => guard.canActivate(contextFor(proto.bySessionId, request, reply))).toThrow(/request pipeline/);
    expect(serializer.stats().activeSessions).toBe(0);
  });

  it('gives the turn back with the pipeline when the client left while it waited', async () => {
    const held = await serializer.acquireTurn('sid-gone');
    const { request, reply, res } = fakeExchange({ session_id: 'sid-gone' });
    const run = new RequestRun('r3');
    RequestRun.attach(request, run);
    const pending = guard.canActivate(contextFor(proto.bySessionId, request, reply)) as Promise<boolean>;
    await until(() => serializer.queueDepth('sid-gone') === 1, 'queued');
    // Gone without the server hearing of it yet: the guard sees it when the turn comes.
    (res as { closed: boolean }).closed = true;
    held();
    await expect(pending).rejects.toBeInstanceOf(LockAbortedError);
    run.settle();
    run.turn!.closed();
    expect(serializer.stats().activeSessions).toBe(0);
  });

  it("counts a request against its resolved session's rate limit before it queues: one budget per bot, however it names itself", async () => {
    const limited = new SessionTurnGuard(serializer, new Reflector(), directory, new SessionRateLimiter(2, () => 0));
    const enter = (handler: (...a: unknown[]) => unknown, body: unknown, id: string) => {
      const { request, reply } = fakeExchange(body);
      const run = new RequestRun(id);
      RequestRun.attach(request, run);
      return { run, outcome: () => limited.canActivate(contextFor(handler, request, reply)) };
    };
    const done = (run: RequestRun) => {
      run.settle();
      run.turn!.closed();
    };
    // The bot's session is busy: its requests queue behind it once they are admitted.
    const held = await serializer.acquireTurn('sid-of-Runaway');
    const byName = enter(proto.byCharacter, { name: 'Runaway' }, 'l1');
    const byId = enter(proto.bySessionId, { session_id: 'sid-of-Runaway' }, 'l2');
    const first = byName.outcome() as Promise<boolean>;
    const second = byId.outcome() as Promise<boolean>;
    // The third, by either name, is over the budget of the one session: refused before queueing.
    const third = enter(proto.byCharacter, { name: 'Runaway' }, 'l3');
    expect(third.outcome).toThrow(RateLimitError);
    expect(serializer.queueDepth('sid-of-Runaway')).toBe(2);
    expect(third.run.turn).toBeUndefined();
    // Another bot keeps its own budget.
    const neighbour = enter(proto.byCharacter, { name: 'Neighbour' }, 'l4');
    expect(neighbour.outcome()).toBe(true);
    done(neighbour.run);
    held();
    await expect(first).resolves.toBe(true);
    done(byName.run);
    await expect(second).resolves.toBe(true);
    done(byId.run);
    expect(serializer.stats().activeSessions).toBe(0);
  });
});
