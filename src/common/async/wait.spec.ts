import { settledWithin, yieldToLoop } from './wait';

describe('settledWithin', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('says true when the promise settles first, rejected included, and leaves no timer', async () => {
    await expect(settledWithin(Promise.resolve(1), 1000)).resolves.toBe(true);
    await expect(settledWithin(Promise.reject(new Error('x')), 1000)).resolves.toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('says false when the time runs out first', async () => {
    const never = new Promise<void>(() => undefined);
    const result = settledWithin(never, 1000);
    await yieldToLoop();
    jest.advanceTimersByTime(999);
    let done = false;
    void result.then(() => (done = true));
    await yieldToLoop();
    expect(done).toBe(false);
    jest.advanceTimersByTime(1);
    await expect(result).resolves.toBe(false);
  });
});

describe('yieldToLoop', () => {
  it('lets an immediate queued before it run first', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('queued'));
    await yieldToLoop();
    order.push('after');
    expect(order).toEqual(['queued', 'after']);
  });
});
