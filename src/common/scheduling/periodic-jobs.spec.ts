import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJobs } from './periodic-jobs';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('PeriodicJobs', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('registers a named interval in the SchedulerRegistry and runs it every interval', () => {
    const scheduler = new SchedulerRegistry();
    const jobs = new PeriodicJobs(scheduler);
    let runs = 0;
    jobs.register('a.job', { intervalMs: 100, run: () => void runs++ });
    expect(scheduler.getIntervals()).toEqual(['a.job']);
    jest.advanceTimersByTime(350);
    expect(runs).toBe(3);
    const [status] = jobs.list();
    expect(status).toMatchObject({ name: 'a.job', interval_ms: 100, enabled: true, running: false, runs: 3, skipped_overlaps: 0, last_error: null });
    expect(status.last_run_at).not.toBeNull();
    expect(status.last_duration_ms).not.toBeNull();
  });

  it('skips and counts a tick while the previous run is still going (never two runs at once)', async () => {
    const jobs = PeriodicJobs.standalone();
    const gates: Array<ReturnType<typeof deferred>> = [];
    let concurrent = 0;
    let most = 0;
    jobs.register('slow', {
      intervalMs: 10,
      run: async () => {
        concurrent++;
        most = Math.max(most, concurrent);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        concurrent--;
      },
    });
    jest.advanceTimersByTime(10);
    expect(gates).toHaveLength(1);
    jest.advanceTimersByTime(30);
    expect(gates).toHaveLength(1);
    expect(jobs.list()[0]).toMatchObject({ running: true, runs: 1, skipped_overlaps: 3 });
    gates[0].resolve();
    await flush();
    expect(jobs.list()[0].running).toBe(false);
    jest.advanceTimersByTime(10);
    expect(gates).toHaveLength(2);
    gates[1].resolve();
    await flush();
    expect(most).toBe(1);
    expect(jobs.list()[0]).toMatchObject({ runs: 2, skipped_overlaps: 3 });
  });

  it('records the last error (thrown or rejected) with its time, and keeps running', async () => {
    const jobs = PeriodicJobs.standalone();
    const seen: unknown[] = [];
    let n = 0;
    jobs.register('flaky', {
      intervalMs: 5,
      run: () => {
        n++;
        if (n === 1) throw new Error('sync boom');
        if (n === 2) return Promise.reject(new Error('async boom'));
        return undefined;
      },
      onError: (err) => seen.push(err),
    });
    jest.advanceTimersByTime(5);
    expect(jobs.list()[0].last_error?.message).toBe('sync boom');
    jest.advanceTimersByTime(5);
    await flush();
    expect(jobs.list()[0].last_error?.message).toBe('async boom');
    jest.advanceTimersByTime(5);
    expect(jobs.list()[0]).toMatchObject({ runs: 3, failures: 2 });
    expect(seen).toHaveLength(2);
  });

  it('interval 0 is disabled: listed, no timer, never run', () => {
    const scheduler = new SchedulerRegistry();
    const jobs = new PeriodicJobs(scheduler);
    const run = jest.fn();
    jobs.register('off', { intervalMs: 0, run });
    jest.advanceTimersByTime(10_000);
    expect(run).not.toHaveBeenCalled();
    expect(scheduler.getIntervals()).toEqual([]);
    expect(jobs.list()).toEqual([expect.objectContaining({ name: 'off', enabled: false, runs: 0, interval_ms: 0 })]);
  });

  it('stop() clears the timer, leaves the registry, and resolves only once the run in flight settled', async () => {
    const scheduler = new SchedulerRegistry();
    const jobs = new PeriodicJobs(scheduler);
    const gate = deferred();
    const run = jest.fn(() => gate.promise);
    jobs.register('j', { intervalMs: 10, run });
    jest.advanceTimersByTime(10);
    let stopped = false;
    const stopping = jobs.stop('j').then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);
    expect(scheduler.getIntervals()).toEqual([]);
    gate.resolve();
    await stopping;
    jest.advanceTimersByTime(100);
    expect(run).toHaveBeenCalledTimes(1);
    expect(jobs.list()[0]).toMatchObject({ enabled: false, running: false, runs: 1 });
  });

  it('unrefs timers unless told not to', () => {
    const jobs = PeriodicJobs.standalone();
    expect(jobs.register('u', { intervalMs: 10, run: () => undefined }).enabled).toBe(true);
    const scheduler = new SchedulerRegistry();
    const jobs2 = new PeriodicJobs(scheduler);
    jobs2.register('u', { intervalMs: 10, run: () => undefined });
    jobs2.register('r', { intervalMs: 10, run: () => undefined, unref: false });
    expect((scheduler.getInterval('u') as NodeJS.Timeout).hasRef()).toBe(false);
    expect((scheduler.getInterval('r') as NodeJS.Timeout).hasRef()).toBe(true);
  });

  it('a second owner of an enabled name is refused; a stopped job starts again with its history', async () => {
    const jobs = PeriodicJobs.standalone();
    jobs.register('x', { intervalMs: 10, run: () => undefined });
    expect(() => jobs.register('x', { intervalMs: 10, run: () => undefined })).toThrow(/already registered/);
    jest.advanceTimersByTime(20);
    await jobs.stop('x');
    jobs.register('x', { intervalMs: 10, run: () => undefined });
    jest.advanceTimersByTime(10);
    expect(jobs.list()[0]).toMatchObject({ enabled: true, runs: 3 });
    await jobs.remove('x');
    expect(jobs.list()).toEqual([]);
  });
});
