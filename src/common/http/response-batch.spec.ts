import type { ServerResponse } from 'node:http';
import { yieldToLoop } from '../async/wait';
import { ResponseBatch } from './response-batch';

interface FakeResponse {
  destroyed: boolean;
  end: jest.Mock;
  destroy: jest.Mock;
}

function fakeResponse(endImpl?: () => void): FakeResponse {
  const res: FakeResponse = {
    destroyed: false,
    end: jest.fn(endImpl),
    destroy: jest.fn(() => {
      res.destroyed = true;
    }),
  };
  return res;
}

describe('ResponseBatch', () => {
  it('ends nothing at once, then every response of the turn with its own payload, in order', async () => {
    const batch = new ResponseBatch();
    const order: number[] = [];
    const responses = [0, 1, 2].map((i) => fakeResponse(() => order.push(i)));
    responses.forEach((res, i) => batch.end(res as unknown as ServerResponse, `body ${i}`));
    expect(responses.every((r) => r.end.mock.calls.length === 0)).toBe(true);
    expect(batch.size).toBe(3);
    await yieldToLoop();
    expect(order).toEqual([0, 1, 2]);
    responses.forEach((res, i) => expect(res.end).toHaveBeenCalledWith(`body ${i}`));
    expect(batch.size).toBe(0);
  });

  it('schedules one flush per turn, however many responses it holds', async () => {
    const spy = jest.spyOn(global, 'setImmediate');
    try {
      const batch = new ResponseBatch();
      for (let i = 0; i < 5; i++) batch.end(fakeResponse() as unknown as ServerResponse, 'x');
      expect(spy).toHaveBeenCalledTimes(1);
      const flush = spy.mock.calls[0][0];
      await yieldToLoop();
      batch.end(fakeResponse() as unknown as ServerResponse, 'y');
      expect(spy.mock.calls.filter(([fn]) => fn === flush)).toHaveLength(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('a response that cannot be ended is torn down, and the batch’s others are still ended', async () => {
    const batch = new ResponseBatch();
    const broken = fakeResponse(() => {
      throw new Error('socket gone');
    });
    const fine = fakeResponse();
    batch.end(broken as unknown as ServerResponse, 'a');
    batch.end(fine as unknown as ServerResponse, 'b');
    await yieldToLoop();
    expect(broken.destroy).toHaveBeenCalledTimes(1);
    expect(fine.end).toHaveBeenCalledWith('b');
  });

  it('a response added while a batch is ended goes out with the next turn’s', async () => {
    const batch = new ResponseBatch();
    const late = fakeResponse();
    const first = fakeResponse(() => batch.end(late as unknown as ServerResponse, 'late'));
    batch.end(first as unknown as ServerResponse, 'first');
    await yieldToLoop();
    expect(first.end).toHaveBeenCalled();
    expect(late.end).not.toHaveBeenCalled();
    await yieldToLoop();
    expect(late.end).toHaveBeenCalledWith('late');
  });
});
