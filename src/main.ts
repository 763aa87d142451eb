import 'reflect-metadata';
import { createEngine } from './app.factory';
import { BackgroundThreads } from './common/runtime/background-threads';
import { collectGarbageNow, promoteSurvivorsNow } from './common/runtime/collect-now';
import { PeriodicJobs } from './common/scheduling';
import { ConfigError, loadConfig } from './config/app-config';
import { rehearseEngine } from './engine-rehearsal';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Before the operator's engine exists: its request path is then warm from the first bot on.
  const rehearsal = config.warmupHttpRequests > 0 ? await rehearseEngine(config, config.warmupHttpRequests) : undefined;
  // The rehearsal's garbage is collected now, not under the first bots.
  if (rehearsal) collectGarbageNow();
  const engine = await createEngine(config, {
    priorWarmup: rehearsal && { name: `http rehearsal (${rehearsal.requests} requests, ${rehearsal.failed} not 200)`, duration_ms: rehearsal.duration_ms, ...(rehearsal.error ? { error: rehearsal.error } : {}) },
  });
  // The process is the engine's: its other threads go below the event loop (an engine made inside
  // another program, like the rehearsal above, leaves that program's threads alone).
  const threads = new BackgroundThreads(config.backgroundThreadNice);
  threads.start(engine.app.get(PeriodicJobs));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    // A second signal means "now": skip the drain.
    if (signals > 1) process.exit(130);
    void threads.stop();
    engine.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // What the boot built is promoted now, not copied by the first scavenges under the first bots.
  promoteSurvivorsNow();
  await engine.listen();
}

main().catch((err: unknown) => {
  process.stderr.write(`engine failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
