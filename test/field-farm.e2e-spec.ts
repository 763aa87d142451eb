import * as http from 'node:http';
import { freePort, spawnEngine, type SpawnedEngine, tempDir } from './support/engine';
import { fieldDecideBody } from './support/field-plugin';

/**
 * A farm on one machine at the engine's default limits: every bot is 127.0.0.1, each one is a
 * character with its own session. The per-address limit is off on loopback and the per-session
 * one is far above a bot's tick rate, so nothing is refused; a runaway bot is. Statuses are
 * counted; nothing here measures time.
 */
function post(agent: http.Agent, port: number, body: unknown): Promise<{ status: number; text: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/api/v1/decide', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a farm at the default limits', () => {
  let engine: SpawnedEngine;
  let port: number;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  beforeAll(async () => {
    // The empty values undo the test helper's "limits off": this is the engine as shipped.
    engine = await spawnEngine({ DATA_DIR: tempDir('okai-farm-'), COMPAT_PORT: String(await freePort()), RATE_LIMIT_RPS: '', SESSION_RATE_LIMIT_RPS: '' });
    port = engine.compatPort!;
  });
  afterAll(async () => {
    agent.destroy();
    await engine?.kill();
  });

  it('40 bots × 20 decides/s for 8 s from 127.0.0.1: nothing refused', async () => {
    const BOTS = 40;
    const TICKS = 160; // 8 s at 20 ticks/s
    const statuses = new Map<number, number>();
    const refused: string[] = [];
    const start = Date.now();
    await Promise.all(
      Array.from({ length: BOTS }, async (_, bot) => {
        for (let tick = 0; tick < TICKS; tick++) {
          // Each tick is due every 50 ms from the start; a bot that fell behind sends at once.
          const due = start + tick * 50 + bot;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
          const res = await post(agent, port, fieldDecideBody({ name: `FarmBot${bot}`, monsters: tick % 3 }));
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status !== 200 && refused.length < 5) refused.push(`${res.status} ${res.text}`);
        }
      }),
    );
    expect(refused).toEqual([]);
    expect(Object.fromEntries(statuses)).toEqual({ 200: BOTS * TICKS });
  });

  it('a runaway bot is refused with 429 RATE_LIMIT while the bot beside it is not', async () => {
    let limited = 0;
    let other = 0;
    let code = '';
    // 400 requests of one character at once, each on its own connection: they all reach the
    // engine long before its 100/s budget (with a burst of 100) could refill for them.
    const flood = new http.Agent({ keepAlive: false, maxSockets: 400 });
    const runaway = Promise.all(Array.from({ length: 400 }, () => post(flood, port, fieldDecideBody({ name: 'Runaway' })))).then((results) => {
      for (const r of results) {
        if (r.status === 429) {
          limited++;
          code = (JSON.parse(r.text) as { error: { code: string } }).error.code;
        }
      }
    });
    const neighbour = (async () => {
      for (let i = 0; i < 40; i++) {
        const r = await post(agent, port, fieldDecideBody({ name: 'Neighbour' }));
        if (r.status !== 200) other++;
        await sleep(50);
      }
    })();
    await Promise.all([runaway, neighbour]).finally(() => flood.destroy());
    expect(limited).toBeGreaterThan(0);
    expect(code).toBe('RATE_LIMIT');
    expect(other).toBe(0);
  });
});
