/**
 * Hot-path benchmark: the built engine and a bare Fastify server that parses the same body,
 * driven in the same run, interleaved (bare, engine, bare, engine) so both see the same
 * machine state. Prints throughput, p50/p99 latency and the engine/bare throughput ratio.
 * Traffic goes to 127.0.0.1 only, bounded in time. Not a test: nothing here asserts.
 */
import autocannon from 'autocannon';
import { tickLoad } from './tick-load';
import { freePort, pinForLoad, ROOT, startEngine, startProcess, stopProcess } from './support';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';


interface Scenario {
  name: string;
  sessions: number;
  connectionsPerSession: number;
  /** Ticks per second per session (tick-load.ts, one connection each); undefined = flat out (autocannon). */
  rate?: number;
  seconds: number;
}

const SCENARIOS: Scenario[] = [
  { name: '10 sessions x 2 conns, flat out', sessions: 10, connectionsPerSession: 2, seconds: 6 },
  { name: '10 sessions x 20 ticks/s', sessions: 10, connectionsPerSession: 1, rate: 20, seconds: 8 },
  { name: '100 sessions x 20 ticks/s', sessions: 100, connectionsPerSession: 1, rate: 20, seconds: 8 },
];

function body(i: number): string {
  return JSON.stringify({
    game_state: {
      character: {
        name: `BenchBot${i}`,
        level: 60,
        hp: 4000,
        max_hp: 5000,
        sp: 300,
        max_sp: 400,
        position: { map: 'prt_fild08', x: 100 + i, y: 120 },
        weight: 500,
        max_weight: 3000,
        zeny: 12345,
        job_class: 'Knight',
        is_sitting: false,
      },
      skills: [{ id: 5, name: 'Bash', level: 10, sp_cost: 15 }],
      monsters: [
        { id: 2001, name: 'Poring', level: 1, hp: 50, max_hp: 50, distance: 4, is_aggressive: false, is_attacking_me: false },
        { id: 2002, name: 'Lunatic', level: 3, hp: 60, max_hp: 60, distance: 7, is_aggressive: false, is_attacking_me: false },
      ],
      inventory: [{ id: 501, name: 'Red Potion', amount: 20, type: 'usable' }],
      nearby_players: [{ id: 150001, name: 'Someone', level: 70, distance: 8 }],
      party_members: [],
      timestamp_ms: Date.now(),
    },
    request_id: i,
    timestamp_ms: Date.now(),
  });
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

async function drive(url: string, s: Scenario): Promise<Run> {
  if (s.rate !== undefined) {
    const r = await tickLoad({ url: `${url}/api/v1/decide`, sessions: s.sessions, ticksPerSecond: s.rate, seconds: s.seconds, body });
    return { rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors, non2xx: r.non2xx, total: r.total };
  }
  const connections = s.sessions * s.connectionsPerSession;
  let next = 0;
  const result = await autocannon({
    url: `${url}/api/v1/decide`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections,
    duration: s.seconds,
    // Connection i speaks for session i % sessions, so a session's connections share a turn.
    setupClient: (client: { setBody(b: string): void }) => client.setBody(body(next++ % s.sessions)),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

function mean(runs: Run[]): Run {
  const avg = (k: keyof Run) => runs.reduce((s, r) => s + r[k], 0) / runs.length;
  return { rps: avg('rps'), p50: Math.round(avg('p50') * 100) / 100, p99: Math.max(...runs.map((r) => r.p99)), errors: avg('errors'), non2xx: avg('non2xx'), total: avg('total') };
}

export async function runHttpBench(): Promise<void> {
  const enginePort = await freePort();
  const barePort = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-bench-'));
  const place = pinForLoad();
  const engine = await startEngine({ PORT: String(enginePort), DATA_DIR: dataDir, NODE_ENV: 'production' }, place.serverCpus);
  const bare = await startProcess(path.join(ROOT, 'dist', 'bench', 'bare-server.js'), { PORT: String(barePort) }, /listening/, undefined, place.serverCpus);
  const engineUrl = `http://127.0.0.1:${enginePort}`;
  const bareUrl = `http://127.0.0.1:${barePort}`;
  const rows: Record<string, string | number>[] = [];
  try {
    // Warm both (JIT, first-session creation) before measuring.
    await drive(engineUrl, { name: 'warm', sessions: 100, connectionsPerSession: 1, seconds: 2 });
    await drive(bareUrl, { name: 'warm', sessions: 10, connectionsPerSession: 1, seconds: 1 });
    for (const s of SCENARIOS) {
      const e: Run[] = [];
      const b: Run[] = [];
      for (let round = 0; round < 2; round++) {
        b.push(await drive(bareUrl, s));
        e.push(await drive(engineUrl, s));
      }
      const em = mean(e);
      const bm = mean(b);
      const fmt = (n: number) => Math.round(n * 10) / 10;
      rows.push({ scenario: s.name, server: 'bare fastify', 'req/s': fmt(bm.rps), 'p50 ms': bm.p50, 'p99 ms': bm.p99, 'errors+non2xx': bm.errors + bm.non2xx, 'engine/bare': '' });
      rows.push({
        scenario: s.name,
        server: 'engine',
        'req/s': fmt(em.rps),
        'p50 ms': em.p50,
        'p99 ms': em.p99,
        'errors+non2xx': em.errors + em.non2xx,
        'engine/bare': `${Math.round((em.rps / bm.rps) * 100)}%`,
      });
    }
  } finally {
    await Promise.all([stopProcess(engine), stopProcess(bare)]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.table(rows);
  console.log(place.describe);
  console.log('flat out: autocannon (1 ms resolution); tick rates: tick-load.ts, one connection per bot, bots at spread phases, latency counts coordinated omission; p99 is the worse of the two rounds');
}

if (require.main === module) {
  runHttpBench().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
