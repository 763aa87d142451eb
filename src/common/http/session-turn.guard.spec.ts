import fc from 'fast-check';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LockAbortedError, SessionSerializer, type SessionTurn } from '../concurrency';
import { RecordingLogger } from '../concurrency/concurrency.test-kit';
import { createLockManager } from '../concurrency/lock-manager.service';
import { until } from '../testing/wait.test-kit';
import { TurnState, turnForResponse } from './session-turn.guard';

function state() {
  const end = jest.fn();
  return { end, turn: new TurnState(end as unknown as SessionTurn) };
}

describe('TurnState', () => {
  it('keeps the turn while the handler runs, even after the response closed', () => {
    const { end, turn } = state();
    turn.handlerStarted();
    turn.closed();
    expect(end).not.toHaveBeenCalled();
    turn.handlerSettled();
    expect(end).toHaveBeenCalledTimes(1);
  });

  it('refuses to start a handler once the turn ended (the client left first)', () => {
    const { end, turn } = state();
    turn.closed();
    expect(end).toHaveBeenCalledTimes(1);
    expect(() => turn.handlerStarted()).toThrow(LockAbortedError);
    turn.closed();
    expect(end).toHaveBeenCalledTimes(1);
  });

  it('property: the turn ends exactly once, when the response is closed and no handler runs, and no handler runs after it', () => {
    const step = fc.constantFrom('start', 'settle', 'close');
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        const { end, turn } = state();
        let running = false;
        let closed = false;
        for (const s of steps) {
          if (s === 'start') {
            if (running) continue; // one handler per request
            if (end.mock.calls.length > 0) {
              expect(() => turn.handlerStarted()).toThrow(LockAbortedError);
              continue;
            }
            turn.handlerStarted();
            running = true;
          } else if (s === 'settle') {
            if (!running) continue;
            turn.handlerSettled();
            running = false;
          } else {
            turn.closed();
            closed = true;
          }
          expect(end.mock.calls.length).toBe(closed && !running ? 1 : 0);
        }
      }),
      { numRuns: 500 },
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
        // Once the body is consumed Node marks the request destroyed; wait for it, as a handler
        // with an await before its turn would.
        void until(() => req.destroyed, 'request marked destroyed')
          .then(() => turnForResponse(serializer, 'k', req, res))
          .then(
            (state) => {
              outcome.push('turn');
              state.handlerStarted();
              state.handlerSettled();
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
