import { collectGarbageNow } from './full-gc';

describe('collectGarbageNow', () => {
  it('collects unreachable objects at once, without --expose-gc', async () => {
    let ref: WeakRef<object> | undefined;
    (() => {
      ref = new WeakRef({ payload: new Array(1_000).fill(1) });
    })();
    // A WeakRef's target lives until the job that created it is over.
    await new Promise((resolve) => setImmediate(resolve));
    expect(collectGarbageNow()).toBe(true);
    expect(ref!.deref()).toBeUndefined();
  });
});
