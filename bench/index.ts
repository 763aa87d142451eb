/**
 * `npm run bench [-- name ...]`: runs the benchmark suites (all by default) and prints their
 * tables. Benchmarks are not tests: they measure and print, they never assert timings.
 */
type Suite = { name: string; load: () => Promise<() => Promise<void>>; explicit?: boolean };

const SUITES: Suite[] = [
  { name: 'locks', load: async () => (await import('./locks.bench')).runLockBench },
  { name: 'http', load: async () => (await import('./http.bench')).runHttpBench },
  // Also part of `http`; by itself: `npm run bench -- cold-start`.
  { name: 'cold-start', load: async () => (await import('./http.bench')).runColdStartBench },
  { name: 'http-cpu', load: async () => (await import('./http-cpu.bench')).runHttpCpuBench },
  { name: 'http-async', load: async () => (await import('./http-async.bench')).runHttpAsyncBench },
  { name: 'metrics', load: async () => (await import('./metrics.bench')).runMetricsBench },
  { name: 'reputation', load: async () => (await import('./reputation.bench')).runReputationBench },
  // The 100 × 20 farm on SQLite and on PostgreSQL (when the engine runs on DATABASE_URL).
  { name: 'farm', load: async () => (await import('./farm.bench')).runFarmBench },
  { name: 'ml', load: async () => (await import('./ml.bench')).runMlBench },
  { name: 'memory', load: async () => (await import('./memory.bench')).runMemoryBench },
  { name: 'console', load: async () => (await import('./console.bench')).runConsoleBench },
  { name: 'disk-use', load: async () => (await import('./storage.bench')).runDiskUseBench },
  // Long (SOAK_MINUTES, default 10): not part of a plain `npm run bench`; `npm run bench -- soak`.
  { name: 'soak', load: async () => (await import('./storage.bench')).runSoakBench, explicit: true },
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SUITES.some((s) => s.name === w));
  if (unknown.length) throw new Error(`unknown bench suite(s): ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(', ')}`);
  const os = await import('node:os');
  console.log(`# openkore-ai-engine bench — node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`);
  for (const suite of SUITES) {
    if (wanted.length ? !wanted.includes(suite.name) : suite.explicit) continue;
    console.log(`\n## ${suite.name}`);
    const run = await suite.load();
    await run();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
