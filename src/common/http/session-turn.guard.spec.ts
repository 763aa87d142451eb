import fc from 'fast-check';
import { LockAbortedError, type SessionTurn } from '../concurrency';
import { TurnState } from './session-turn.guard';

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
