/**
 * The baseline: bare Fastify parsing the same decide body and answering a fixed flat action.
 * Whatever the engine costs beyond this is the price of its correctness machinery.
 */
import Fastify from 'fastify';
import { DEFAULT_LOOP_DELAY_RESOLUTION_MS, EventLoopDelayMonitor } from '../src/common/runtime/event-loop-delay';

/**
 * Busy work per request in µs (BARE_WORK_US, default 0): calibrates the harness — what a fixed
 * per-request cost, and nothing else, does to throughput against the plain baseline.
 */
const workUs = Number(process.env.BARE_WORK_US ?? 0);

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/api/v1/decide', (request) => {
  if (workUs > 0) {
    const until = performance.now() + workUs / 1000;
    while (performance.now() < until);
  }
  const body = request.body as { game_state?: { character?: { name?: string } }; request_id?: unknown };
  return {
    action: 'attack_monster',
    params: { target_id: 1 },
    reason: 'baseline',
    tier_used: 'rule',
    latency_ms: 0,
    request_id: body?.request_id,
    name: body?.game_state?.character?.name,
  };
});
// The engine's own sampler at the engine's resolution, behind the same route: the bench reads the
// baseline's event-loop delay the way it reads the engine's, so a stall of the machine itself
// shows in both.
const loop = new EventLoopDelayMonitor({ resolutionMs: DEFAULT_LOOP_DELAY_RESOLUTION_MS, windowSeconds: 600 });
loop.start();
app.get('/api/v1/metrics/event-loop', (request) => {
  const since = Number((request.query as { since?: string }).since);
  return { data: loop.stats(Number.isFinite(since) ? since : undefined) };
});
const port = Number(process.env.PORT ?? 0);
app.listen({ port, host: '127.0.0.1' }).then(
  (address) => {
    // As the engine does once it listens: the boot's own stalls delay no request.
    loop.restart();
    process.stdout.write(`listening ${address}\n`);
  },
  (err: unknown) => {
    process.stderr.write(String(err));
    process.exit(1);
  },
);
process.on('SIGTERM', () => {
  loop.stop();
  void app.close().then(() => process.exit(0));
});
