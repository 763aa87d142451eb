import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Concurrent keep-alive connections of the warm-up client. */
const CONNECTIONS = 16;
/** Bound on one warm-up exchange: a stuck one fails the step (logged, skipped), never the boot. */
const EXCHANGE_TIMEOUT_MS = 10_000;

/** A body the size and shape of the plugin's decide request. */
export const DECIDE_SHAPED_BODY = JSON.stringify({
  game_state: {
    character: { name: 'warmup', level: 60, hp: 4000, max_hp: 5000, sp: 300, max_sp: 400, position: { map: 'prt_fild08', x: 100, y: 120 }, weight: 500, max_weight: 3000, zeny: 12345, job_class: 'Knight', is_sitting: false },
    skills: [{ id: 5, name: 'Bash', level: 10, sp_cost: 15 }],
    monsters: [{ id: 2001, name: 'Poring', level: 1, hp: 50, max_hp: 50, distance: 4, is_aggressive: false, is_attacking_me: false }],
    inventory: [{ id: 501, name: 'Red Potion', amount: 20, type: 'usable' }],
    nearby_players: [{ id: 150001, name: 'Someone', level: 70, distance: 8 }],
    party_members: [],
    timestamp_ms: 0,
  },
  request_id: 1,
});

/** A decide-shaped answer, the size of the plugin's. */
export function decideShapedAnswer(requestId: unknown): Record<string, unknown> {
  return { action: 'attack_monster', params: { target_id: 1 }, reason: 'warm-up', tier_used: 'rule', latency_ms: 0.05, request_id: requestId };
}

/** One request of a loopback drive: where, what, and any headers beyond the JSON ones. */
export interface LoopbackRequest {
  readonly path: string;
  readonly body: Buffer;
  readonly headers?: http.OutgoingHttpHeaders;
}

export interface LoopbackDrive {
  /** Keep-alive connections, each sending its next request once its last answer is read. */
  readonly connections: number;
  readonly requests: number;
  /** The i-th request (0-based). */
  readonly request: (i: number) => LoopbackRequest;
  /** Bound on each exchange (socket idle time); past it the drive fails. */
  readonly timeoutMs: number;
}

/**
 * Sends `requests` POSTs with JSON bodies to a server on 127.0.0.1:`port` over `connections`
 * keep-alive connections and reads every answer. Resolves with how many were answered and how
 * many of those were not 200; the first failed exchange stops every connection and rejects.
 */
export async function driveLoopback(port: number, drive: LoopbackDrive): Promise<{ answered: number; notOk: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: drive.connections });
  let next = 0;
  let answered = 0;
  let notOk = 0;
  let broken = false;
  const one = (i: number) =>
    new Promise<number>((resolve, reject) => {
      const { path, body, headers } = drive.request(i);
      const req = http.request(
        { host: '127.0.0.1', port, path, method: 'POST', agent, timeout: drive.timeoutMs, headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
          res.once('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(new Error(`a loopback exchange took over ${drive.timeoutMs} ms`)));
      req.once('error', reject);
      req.end(body);
    });
  try {
    await Promise.all(
      Array.from({ length: drive.connections }, async () => {
        while (next < drive.requests && !broken) {
          const status = await one(next++).catch((err: unknown) => {
            broken = true;
            throw err;
          });
          answered += 1;
          if (status !== 200) notOk += 1;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return { answered, notOk };
}

/**
 * Node's own HTTP machinery (request parsing, body streams, response headers, the socket
 * writes) is JavaScript too, and as cold as the engine's at boot. This runs decide-shaped JSON
 * exchanges (POST /api/v1/decide) through a throwaway server on a loopback port of its own —
 * not the engine's listeners, so nothing is counted or logged — until the same core functions
 * are optimized. `handler` serves them (the request pipeline's warm-up: a throwaway front door).
 */
export async function warmNodeHttp(requests: number, payload: string, handler: http.RequestListener): Promise<void> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const body = Buffer.from(payload);
  try {
    await driveLoopback(port, { connections: CONNECTIONS, requests, request: () => ({ path: '/api/v1/decide', body }), timeoutMs: EXCHANGE_TIMEOUT_MS });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
