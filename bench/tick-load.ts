/**
 * Open-loop load shaped like a bot farm: each session is one bot on its own keep-alive
 * connection, ticking every 1000/rate ms and waiting for each answer before its next tick
 * (the plugin is synchronous per bot). Bots start at evenly spread phases, as independent
 * bots do; autocannon starts every connection in phase, which measures one burst of N
 * requests per tick period instead.
 *
 * Latency runs from the moment the tick was due when the bot was still waiting for its
 * previous answer (coordinated omission counted, not hidden), else from the moment it was
 * sent (this process's own timer lateness is not the server's).
 */
import * as http from 'node:http';
import { percentile } from '../src/modules/metrics';

export interface TickLoadOptions {
  url: string;
  sessions: number;
  ticksPerSecond: number;
  seconds: number;
  body: (session: number) => string;
  /** Also report the ticks due before / from this many seconds apart (`head` / `tail`). */
  splitAtSeconds?: number;
  /** Called with every answer: when its tick was due (ms from the start), its latency, its status (0: no answer), the bot. */
  onSample?: (dueMs: number, latencyMs: number, status: number, session: number) => void;
}

export interface LatencySummary {
  total: number;
  p50: number;
  p99: number;
  max: number;
}

export interface TickLoadResult {
  rps: number;
  total: number;
  errors: number;
  non2xx: number;
  /** Connections opened (one per bot when the server keeps them alive). */
  connections: number;
  p50: number;
  p99: number;
  max: number;
  /** Ticks due before `splitAtSeconds`, and from it on. */
  head?: LatencySummary;
  tail?: LatencySummary;
}

/** A request unanswered this long counts as an error (its bot goes on ticking). */
const REQUEST_TIMEOUT_MS = 10_000;

export async function tickLoad(options: TickLoadOptions): Promise<TickLoadResult> {
  const target = new URL(options.url);
  const periodMs = 1000 / options.ticksPerSecond;
  const latencies: number[] = [];
  /** When each measured tick was due (or sent), ms from the start. */
  const dueAt: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let connections = 0;
  const started = performance.now();
  const endAt = started + options.seconds * 1000;

  const bot = (session: number) =>
    new Promise<void>((resolve) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const payload = Buffer.from(options.body(session));
      let due = started + (periodMs * session) / options.sessions;
      let previousDone = 0;

      const tick = (): void => {
        const now = performance.now();
        if (now >= endAt) {
          agent.destroy();
          resolve();
          return;
        }
        const from = previousDone > due ? due : now;
        const req = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': payload.length },
          },
          (res) => {
            if (!req.reusedSocket) connections++;
            if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) non2xx++;
            res.resume();
            res.once('end', () => {
              previousDone = performance.now();
              latencies.push(previousDone - from);
              dueAt.push(from - started);
              options.onSample?.(from - started, previousDone - from, res.statusCode ?? 0, session);
              schedule();
            });
          },
        );
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no answer')));
        req.once('error', () => {
          errors++;
          previousDone = performance.now();
          options.onSample?.(from - started, previousDone - from, 0, session);
          schedule();
        });
        req.end(payload);
      };

      const schedule = (): void => {
        due += periodMs;
        const wait = due - performance.now();
        // Behind schedule, the next tick still waits for this turn's callbacks: sent from inside
        // the 'end' of the previous answer, it would find the bot's socket not yet back in the
        // agent, and the agent would open a new connection for it. A late generator then churns
        // connections (a connect per tick) and charges their cost to the server it measures.
        if (wait <= 0) setImmediate(tick);
        else setTimeout(tick, wait);
      };

      setTimeout(tick, Math.max(0, due - performance.now()));
    });

  await Promise.all(Array.from({ length: options.sessions }, (_, i) => bot(i)));
  const elapsed = (performance.now() - started) / 1000;
  const result: TickLoadResult = { rps: latencies.length / elapsed, errors, non2xx, connections, ...summarize(latencies) };
  if (options.splitAtSeconds !== undefined) {
    const split = options.splitAtSeconds * 1000;
    result.head = summarize(latencies.filter((_, i) => dueAt[i] < split));
    result.tail = summarize(latencies.filter((_, i) => dueAt[i] >= split));
  }
  return result;
}

function summarize(latencies: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    total: sorted.length,
    p50: round(percentile(sorted, 50) ?? 0),
    p99: round(percentile(sorted, 99) ?? 0),
    max: round(sorted.length ? sorted[sorted.length - 1] : 0),
  };
}
