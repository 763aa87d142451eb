import fc from 'fast-check';
import { flushMicrotasks } from '../concurrency/concurrency.test-kit';
import { SerialTask } from './serial-task';

/** A job whose runs the test finishes by hand; records what each run saw. */
function manualJob() {
  const runs: Array<{ saw: number; finish: (ok?: boolean) => void }> = [];
  let state = 0;
  let active = 0;
  let maxActive = 0;
  const task = new SerialTask(
    () =>
      new Promise<void>((resolve, reject) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        runs.push({
          saw: state,
          finish: (ok = true) => {
            active -= 1;
            if (ok) resolve();
            else reject(new Error('run failed'));
          },
        });
      }),
  );
  return { task, runs, change: () => (state += 1), get state() { return state; }, get maxActive() { return maxActive; } };
}

describe('SerialTask', () => {
  it('runs one at a time; a call during a run gets the next run, shared by every such call', async () => {
    const j = manualJob();
    const first = j.task.run();
    j.change();
    const a = j.task.run();
    const b = j.task.run();
    expect(a).toBe(b);
    expect(j.runs).toHaveLength(1);
    j.runs[0].finish();
    await first;
    await flushMicrotasks();
    expect(j.runs).toHaveLength(2);
    expect(j.runs[1].saw).toBe(1);
    j.runs[1].finish();
    await a;
    expect(j.task.current).toBeUndefined();
  });

  it('a failed run fails its callers and does not stop the queued one', async () => {
    const j = manualJob();
    const first = j.task.run();
    const next = j.task.run();
    j.runs[0].finish(false);
    await expect(first).rejects.toThrow('run failed');
    await flushMicrotasks();
    j.runs[1].finish();
    await expect(next).resolves.toBeUndefined();
  });

  it('property: never two runs at once, and every caller is covered by a run that began after its call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('call', 'finish', 'change'), { maxLength: 40 }), async (steps) => {
        const j = manualJob();
        const calls: Array<{ stateAtCall: number; done: boolean }> = [];
        const finished: number[] = []; // what each finished run saw
        for (const step of steps) {
          if (step === 'change') j.change();
          else if (step === 'call') {
            const call = { stateAtCall: j.state, done: false };
            calls.push(call);
            void j.task.run().then(() => (call.done = true));
          } else {
            const open = j.runs.length - finished.length;
            if (open > 0) {
              const run = j.runs[finished.length];
              finished.push(run.saw);
              run.finish();
            }
          }
          await flushMicrotasks();
          for (const c of calls) if (c.done) expect(finished.some((saw) => saw >= c.stateAtCall)).toBe(true);
        }
        expect(j.maxActive).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
