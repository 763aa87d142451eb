import * as fs from 'node:fs';
import * as os from 'node:os';
import { until } from '../src/common/testing/wait.test-kit';
import { BACKGROUND_THREADS_JOB } from '../src/common/runtime/background-threads';
import { request, type SpawnedEngine, spawnEngine, tempDir } from './support/engine';

/** Every thread of a process with its nice value (the main thread's id is the process id). */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const entry of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      nices.set(Number(entry), os.getPriority(Number(entry)));
    } catch {
      // ended between the listing and the call
    }
  }
  return nices;
}

const onLinux = process.platform === 'linux' ? describe : describe.skip;

onLinux('the event loop ahead of the engine’s other threads (BACKGROUND_THREAD_NICE)', () => {
  const engines: SpawnedEngine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.kill()));
  });

  it('runs every thread but the event loop’s the given nice levels lower, and looks again every second', async () => {
    const e = await spawnEngine({ DATA_DIR: tempDir(), BACKGROUND_THREAD_NICE: '7' });
    engines.push(e);
    const pid = e.proc.pid!;
    const own = os.getPriority(pid);
    // The threads there once the engine is built; those started later are the job's (unit spec).
    await until(() => [...threadNices(pid)].every(([tid, nice]) => tid === pid || nice === Math.min(19, own + 7)), 'every other thread lowered');
    const nices = threadNices(pid);
    expect(nices.get(pid)).toBe(own);
    // V8's threads, libuv's, the checkpointer's worker: a Node process has several.
    expect(nices.size).toBeGreaterThan(4);
    await until(async () => {
      const jobs = (await request(`${e.url}/api/v1/admin/jobs`)).body.data.jobs as Array<{ name: string; enabled: boolean; runs: number }>;
      const job = jobs.find((j) => j.name === BACKGROUND_THREADS_JOB);
      return job?.enabled === true && job.runs > 0;
    }, 'the rescan job enabled and run');
  });

  it('0 leaves every thread at the event loop’s priority', async () => {
    const e = await spawnEngine({ DATA_DIR: tempDir(), BACKGROUND_THREAD_NICE: '0' });
    engines.push(e);
    const pid = e.proc.pid!;
    const jobs = (await request(`${e.url}/api/v1/admin/jobs`)).body.data.jobs as Array<{ name: string }>;
    expect(jobs.map((j) => j.name)).not.toContain(BACKGROUND_THREADS_JOB);
    const own = os.getPriority(pid);
    expect([...threadNices(pid).values()].every((nice) => nice === own)).toBe(true);
  });
});
