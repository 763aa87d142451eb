import * as http from 'node:http';

export interface FarmSample {
  /** Date.now() when the answer arrived. */
  at: number;
  /** From the tick's due time (if the bot was late) or its send, to the answer. */
  ms: number;
  /** HTTP status; 0 for a transport error. */
  status: number;
}

export interface Farm {
  readonly samples: FarmSample[];
  /** Stops every bot after its request in flight; resolves once all have stopped. */
  stop(): Promise<void>;
}

/**
 * Bots on their own keep-alive connections, each POSTing `body(bot)` to `url` every
 * 1000/ticksPerSecond ms and waiting for the answer before its next tick (as the plugin does),
 * at evenly spread phases. Every answer is recorded, until `stop()`.
 */
export function startFarm(url: string, bots: number, ticksPerSecond: number, body: (bot: number) => string): Farm {
  const target = new URL(url);
  const period = 1000 / ticksPerSecond;
  const samples: FarmSample[] = [];
  let stopped = false;
  const started = performance.now();
  const runs = Array.from({ length: bots }, (_, bot) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const payload = Buffer.from(body(bot));
    let due = started + (period * bot) / bots;
    return new Promise<void>((resolve) => {
      const tick = () => {
        if (stopped) {
          agent.destroy();
          resolve();
          return;
        }
        const now = performance.now();
        const from = Math.min(now, due);
        const req = http.request(
          { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
          (res) => {
            res.resume();
            res.once('end', () => {
              samples.push({ at: Date.now(), ms: performance.now() - from, status: res.statusCode ?? 0 });
              next();
            });
          },
        );
        req.setTimeout(10_000, () => req.destroy(new Error('no answer')));
        req.once('error', () => {
          samples.push({ at: Date.now(), ms: performance.now() - from, status: 0 });
          next();
        });
        req.end(payload);
      };
      const next = () => {
        due += period;
        setTimeout(tick, Math.max(0, due - performance.now()));
      };
      setTimeout(tick, Math.max(0, due - performance.now()));
    });
  });
  return {
    samples,
    stop: async () => {
      stopped = true;
      await Promise.all(runs);
    },
  };
}

/** The p-th percentile (nearest rank) of the latencies, ms. */
export function percentileMs(samples: readonly FarmSample[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
