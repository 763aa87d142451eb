/**
 * Lock benchmarks (not a test: prints numbers, asserts nothing).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/locks.bench.js
 *
 * Uncontended acquire+release cost of every primitive and of the withLock /
 * @WithLock paths, next to bare async-mutex `runExclusive`; then contended
 * throughput (many tasks hammering one lock).
 */
import { Mutex as AsyncMutex } from 'async-mutex';
import {
  type CatalogLock,
  createLockManager,
  LockName,
  LockOrder,
  SessionSerializer,
  withLock,
  WithLock,
  type LockLogger,
} from '../src/common/concurrency';

const ITERATIONS = 100_000;
const ROUNDS = 7;
const CONTENDED_TASKS = 100;
const CONTENDED_OPS_PER_TASK = 2_000;

const silent: LockLogger = { warn: () => undefined, error: () => undefined };
const noop = (): void => undefined;

interface Case {
  name: string;
  op: () => Promise<unknown>;
}

interface Row {
  case: string;
  'ns/op': number;
  'ops/s': number;
  'time vs async-mutex': string;
}

/** ns/op of `iterations` sequential awaited operations. */
async function timeOnce(op: () => Promise<unknown>, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await op();
  return Number(process.hrtime.bigint() - start) / iterations;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Rounds interleave all cases (baseline first), and each ratio is taken
 * within its round: drift from a busy machine hits both sides of a ratio alike.
 */
async function measureAll(cases: Case[]): Promise<Row[]> {
  for (const c of cases) await timeOnce(c.op, ITERATIONS / 10); // warm-up (JIT)
  const ns = cases.map(() => [] as number[]);
  const ratios = cases.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    const thisRound: number[] = [];
    for (const c of cases) thisRound.push(await timeOnce(c.op, ITERATIONS));
    thisRound.forEach((v, i) => {
      ns[i].push(v);
      ratios[i].push(v / thisRound[0]);
    });
  }
  return cases.map((c, i) => ({
    case: c.name,
    'ns/op': Math.round(median(ns[i])),
    'ops/s': Math.round(1e9 / median(ns[i])),
    'time vs async-mutex': `${median(ratios[i]).toFixed(2)}x`,
  }));
}

/** Total ops/s of `tasks` flows each doing `perTask` lock rounds with one await inside. */
async function contended(run: (body: () => Promise<void>) => Promise<unknown>): Promise<number> {
  const body = async (): Promise<void> => {
    await Promise.resolve();
  };
  const flow = async (): Promise<void> => {
    for (let i = 0; i < CONTENDED_OPS_PER_TASK; i++) await run(body);
  };
  await Promise.all(Array.from({ length: 10 }, flow)); // warm-up
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONTENDED_TASKS }, flow));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (CONTENDED_TASKS * CONTENDED_OPS_PER_TASK) / seconds;
}

export async function runLockBench(): Promise<void> {
  const bare = new AsyncMutex();
  // Measured before anything of ours runs: on Node 20 the first
  // AsyncLocalStorage.run() installs promise hooks that tax every promise in
  // the process from then on (async-mutex makes more promises per op than we do).
  await timeOnce(() => bare.runExclusive(noop), ITERATIONS / 10);
  const bareNoAlsSamples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) bareNoAlsSamples.push(await timeOnce(() => bare.runExclusive(noop), ITERATIONS));
  const bareNoAls = median(bareNoAlsSamples);

  const manager = createLockManager({ logger: silent, orderMode: 'throw', debug: false });
  const mutex = manager.mutex('bench-mutex', LockOrder.CONFIG);
  const rw = manager.rwLock('bench-rw', LockOrder.STATE);
  const semaphore = manager.semaphore('bench-semaphore', LockOrder.NETWORK, 4);
  const keyed = manager.keyedMutex('bench-keyed', LockOrder.DECISION);
  const sessions = new SessionSerializer(manager);

  class Decorated {
    constructor(readonly configLock: CatalogLock<typeof LockName.CONFIG>) {}

    @WithLock(LockName.CONFIG)
    async run(): Promise<void> {}
  }
  const decorated = new Decorated(manager.resolve(LockName.CONFIG));

  const rows = await measureAll([
    { name: 'async-mutex runExclusive (baseline)', op: () => bare.runExclusive(noop) },
    { name: 'withLock(mutex)', op: () => withLock(mutex, noop) },
    { name: 'mutex.acquire() + release', op: async () => (await mutex.acquire())() },
    { name: 'withLock(rw, read)', op: () => withLock(rw, noop, { mode: 'read' }) },
    { name: 'withLock(rw, write)', op: () => withLock(rw, noop, { mode: 'write' }) },
    { name: 'withLock(semaphore(4))', op: () => withLock(semaphore, noop) },
    { name: 'withLock(keyed mutex), entry made+reclaimed', op: () => withLock(keyed, noop, { key: 'bot-1' }) },
    { name: '@WithLock method', op: () => decorated.run() },
    { name: 'session turn (acquireTurn + end)', op: async () => (await sessions.acquireTurn('bot-1'))() },
  ]);
  console.log(`\nUncontended (median of ${ROUNDS} interleaved rounds × ${ITERATIONS} ops, Node ${process.version})`);
  console.table(rows);
  const ours = rows.find((r) => r.case === 'withLock(mutex)')!['ns/op'];
  console.log(
    `async-mutex runExclusive before any AsyncLocalStorage use: ${Math.round(bareNoAls)} ns/op ` +
      `(withLock(mutex) with ALS on: ${(ours / bareNoAls).toFixed(2)}x that)`,
  );

  const bareContended = await contended((body) => bare.runExclusive(body));
  const oursContended = await contended((body) => withLock(mutex, body));
  console.log(`\nContended: ${CONTENDED_TASKS} tasks × ${CONTENDED_OPS_PER_TASK} ops on one mutex (await inside)`);
  console.table([
    { case: 'async-mutex runExclusive', 'ops/s': Math.round(bareContended), 'time vs async-mutex': '1.00x' },
    {
      case: 'withLock(mutex)',
      'ops/s': Math.round(oursContended),
      'time vs async-mutex': `${(bareContended / oursContended).toFixed(2)}x`,
    },
  ]);
  const [stats] = manager.contention().filter((r) => r.lock === 'bench-mutex');
  console.log(
    `bench-mutex profiler: ${stats.acquisitions} acquisitions, ${stats.contentions} contended, ` +
      `wait p99 ${stats.waitMs.p99Ms} ms, hold p99 ${stats.holdMs.p99Ms} ms`,
  );
}

if (require.main === module) {
  runLockBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
