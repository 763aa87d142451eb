import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Concurrent keep-alive connections of the warm-up client. */
const CONNECTIONS = 16;

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
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const body = Buffer.from(payload);
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/api/v1/decide', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.once('end', resolve);
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  try {
    const perConnection = Math.ceil(requests / CONNECTIONS);
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        for (let i = 0; i < perConnection; i++) await one();
      }),
    );
  } finally {
    agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
