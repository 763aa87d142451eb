import * as os from 'node:os';
import { Logger } from '@nestjs/common';
import { PeriodicJobs } from '../scheduling';
import { BACKGROUND_THREADS_JOB, BackgroundThreads, linuxThreadTable, type ThreadTable } from './background-threads';

/** A process's threads as a map of id → nice, the calling thread being `self`. */
function fakeTable(nice: Record<number, number>, self: number, options: { gone?: number[]; refused?: number[]; unlisted?: boolean } = {}): ThreadTable & { nice: Record<number, number>; sets: number } {
  const table = {
    nice,
    sets: 0,
    threadIds: () => (options.unlisted ? undefined : Object.keys(nice).map(Number)),
    selfId: () => self,
    niceOf(id: number) {
      if (options.gone?.includes(id)) throw Object.assign(new Error('no such process'), { code: 'ERR_SYSTEM_ERROR', info: { code: 'ESRCH' } });
      return nice[id];
    },
    setNice(id: number, value: number) {
      if (options.refused?.includes(id)) throw Object.assign(new Error('operation not permitted'), { code: 'ERR_SYSTEM_ERROR', info: { code: 'EPERM' } });
      table.sets += 1;
      nice[id] = value;
    },
  };
  return table;
}

describe('BackgroundThreads.lowerOthers', () => {
  it('lowers every thread but the calling one to its nice plus the offset', () => {
    const table = fakeTable({ 100: 0, 101: 0, 102: 0, 103: 0 }, 100);
    expect(new BackgroundThreads(10, table).lowerOthers()).toEqual({ lowered: 3, failed: 0 });
    expect(table.nice).toEqual({ 100: 0, 101: 10, 102: 10, 103: 10 });
  });

  it('counts from the calling thread’s own nice and stops at 19', () => {
    const table = fakeTable({ 7: 5, 8: 0, 9: 12 }, 7);
    new BackgroundThreads(10, table).lowerOthers();
    expect(table.nice).toEqual({ 7: 5, 8: 15, 9: 15 });
    const capped = fakeTable({ 7: 15, 8: 0 }, 7);
    new BackgroundThreads(10, capped).lowerOthers();
    expect(capped.nice).toEqual({ 7: 15, 8: 19 });
  });

  it('only ever lowers: a thread already at the target or below it is left alone', () => {
    const table = fakeTable({ 1: 0, 2: 10, 3: 19 }, 1);
    expect(new BackgroundThreads(10, table).lowerOthers()).toEqual({ lowered: 0, failed: 0 });
    expect(table.sets).toBe(0);
    expect(table.nice).toEqual({ 1: 0, 2: 10, 3: 19 });
  });

  it('repeated, touches only the threads started since', () => {
    const table = fakeTable({ 1: 0, 2: 0 }, 1);
    const lowering = new BackgroundThreads(4, table);
    expect(lowering.lowerOthers().lowered).toBe(1);
    table.nice[3] = 0;
    expect(lowering.lowerOthers().lowered).toBe(1);
    expect(table.sets).toBe(2);
    expect(table.nice).toEqual({ 1: 0, 2: 4, 3: 4 });
  });

  it('goes on past a thread that ended between the listing and the call, and counts one refused', () => {
    const table = fakeTable({ 1: 0, 2: 0, 3: 0, 4: 0 }, 1, { gone: [2], refused: [4] });
    expect(new BackgroundThreads(10, table).lowerOthers()).toEqual({ lowered: 1, failed: 1 });
    expect(table.nice[3]).toBe(10);
    expect(table.nice[4]).toBe(0);
  });

  it('does nothing with offset 0, or where threads cannot be listed', () => {
    const off = fakeTable({ 1: 0, 2: 0 }, 1);
    expect(new BackgroundThreads(0, off).lowerOthers()).toEqual({ lowered: 0, failed: 0 });
    const unlisted = fakeTable({ 1: 0, 2: 0 }, 1, { unlisted: true });
    expect(new BackgroundThreads(10, unlisted).lowerOthers()).toEqual({ lowered: 0, failed: 0 });
    expect(off.sets + unlisted.sets).toBe(0);
  });
});

describe('BackgroundThreads.start and stop (the periodic job)', () => {
  it('lowers at once, then each run of its job lowers the threads started since; stop ends the job', async () => {
    const jobs = PeriodicJobs.standalone();
    const table = fakeTable({ 1: 0, 2: 0 }, 1);
    const threads = new BackgroundThreads(10, table);
    threads.start(jobs);
    expect(table.nice).toEqual({ 1: 0, 2: 10 });
    const job = jobs.get(BACKGROUND_THREADS_JOB)!;
    expect(job.enabled).toBe(true);
    table.nice[3] = 0; // a worker started after the boot
    job.tick();
    expect(table.nice[3]).toBe(10);
    await threads.stop();
    expect(job.enabled).toBe(false);
    jobs.onApplicationShutdown();
  });

  it('with 0 registers no job and changes nothing', () => {
    const jobs = PeriodicJobs.standalone();
    const table = fakeTable({ 1: 0, 2: 0 }, 1);
    new BackgroundThreads(0, table).start(jobs);
    expect(jobs.get(BACKGROUND_THREADS_JOB)).toBeUndefined();
    expect(table.sets).toBe(0);
  });

  it('refused for every thread, says so once and does not retry each second', () => {
    const jobs = PeriodicJobs.standalone();
    const table = fakeTable({ 1: 0, 2: 0, 3: 0 }, 1, { refused: [2, 3] });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      new BackgroundThreads(10, table).start(jobs);
      expect(jobs.get(BACKGROUND_THREADS_JOB)).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

const onLinux = process.platform === 'linux' ? describe : describe.skip;

onLinux('linuxThreadTable', () => {
  it('lists this process’s threads and names the calling one', () => {
    const ids = linuxThreadTable.threadIds()!;
    // The main thread's id is the process id; V8's own threads are there as well.
    expect(linuxThreadTable.selfId()).toBe(process.pid);
    expect(ids).toContain(process.pid);
    expect(ids.length).toBeGreaterThan(1);
    expect(linuxThreadTable.niceOf(process.pid)).toBe(os.getPriority(0));
  });
});
