import * as v8 from 'node:v8';
import { collectGarbageNow, promoteSurvivorsNow } from './collect-now';

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

describe('promoteSurvivorsNow', () => {
  const youngBytes = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

  it('leaves the young generation empty: what was alive in it is promoted, and kept', () => {
    const kept = Array.from({ length: 20_000 }, (_, i) => ({ i, name: `bot-${i}` }));
    expect(youngBytes()).toBeGreaterThan(500_000);
    expect(promoteSurvivorsNow()).toBe(true);
    expect(youngBytes()).toBeLessThan(64_000);
    expect(kept[19_999]).toEqual({ i: 19_999, name: 'bot-19999' });
  });
});
