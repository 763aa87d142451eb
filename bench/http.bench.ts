/**
 * Hot-path benchmark: the built engine (as it ships, and without its front door) and a bare
 * Fastify server that parses the same body, driven in the same run, interleaved (bare, engine,
 * engine without front door, bare, …) so all see the same machine state. Prints throughput, p50/p99 latency and the engine/bare throughput ratio.
 * Traffic goes to 127.0.0.1 only, bounded in time. Not a test: nothing here asserts.
 */
import autocannon from 'autocannon';
import { tickLoad, type LatencySummary } from './tick-load';
import { cpuSeconds, drivenAlone, FREEZE_IDLE, pinForLoad, ROOT, runAsScript, type Server, startEngine, startServer, stopProcess } from './support';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';


interface Scenario {
  name: string;
  /** Also drive the calibration server (bare Fastify plus fixed busy work per request). */
  calibrate?: boolean;
  sessions: number;
  connectionsPerSession: number;
  /** Ticks per second per session (tick-load.ts, one connection each); undefined = flat out (autocannon). */
  rate?: number;
  seconds: number;
}

/** The calibration server's busy work per request, µs. */
const CALIBRATION_WORK_US = 25;

/**
 * The engine as it ships (the front door takes the per-tick routes off Node's server) and
 * without the front door (HTTP_FRONT_DOOR=0: every request through Fastify), in the same run.
 * `BENCH_ENGINES=front-door` or `=no-front-door` runs one of them.
 */
const ENGINE_VARIANTS = [
  { key: 'front-door', label: 'engine', env: {} },
  { key: 'no-front-door', label: 'engine, no front door', env: { HTTP_FRONT_DOOR: '0' } },
] as const;

function engineVariants(): Array<(typeof ENGINE_VARIANTS)[number]> {
  const wanted = (process.env.BENCH_ENGINES ?? ENGINE_VARIANTS.map((v) => v.key).join(',')).split(',').map((w) => w.trim());
  const unknown = wanted.filter((w) => !ENGINE_VARIANTS.some((v) => v.key === w));
  if (unknown.length) throw new Error(`BENCH_ENGINES: unknown ${unknown.join(', ')}; known: ${ENGINE_VARIANTS.map((v) => v.key).join(', ')}`);
  return ENGINE_VARIANTS.filter((v) => wanted.includes(v.key));
}

const SCENARIOS: Scenario[] = [
  { name: '10 sessions x 2 conns, flat out', sessions: 10, connectionsPerSession: 2, seconds: 6, calibrate: true },
  { name: '10 sessions x 20 ticks/s', sessions: 10, connectionsPerSession: 1, rate: 20, seconds: 8 },
  { name: '100 sessions x 20 ticks/s', sessions: 100, connectionsPerSession: 1, rate: 20, seconds: 8 },
  { name: '300 sessions x 20 ticks/s', sessions: 300, connectionsPerSession: 1, rate: 20, seconds: 8 },
];

/** The cold-start herd: a fresh process, then this many bots at once (plugin route, 20 ticks/s). */
const HERD = { sessions: 100, rate: 20, seconds: 20, firstSeconds: 10, rounds: 2 };

/** The decide route's body of bot `i` (the plugin's game state). */
export function body(i: number): string {
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
  max: number;
  errors: number;
  non2xx: number;
  total: number;
  /** Connections the load generator opened (tick scenarios; one per bot when kept alive). */
  connections?: number;
  /** Tick scenarios: the p99 of the ticks due from the second second on (bots connected, the ramp over). */
  p99Settled?: number;
  /** The engine only: its own p99 of the decide route (from its observation of the request to the answer's end), as a bucket bound, ms. */
  insideP99?: number;
  /** Tick scenarios: the load generator's own worst event-loop delay (ms). */
  generatorLoopMax?: number;
  /** The server's CPU time (all threads) per request answered, µs; NaN where /proc is missing. */
  cpuUs: number;
  /** The server's own event-loop delay over the run (ms): max and p99 (bare Fastify samples it the engine's way). */
  loopMax?: number | null;
  loopP99?: number | null;
}

interface LoopDelay {
  max_ms: number | null;
  p99_ms: number | null;
}

/** A server's event-loop delay from `since` (epoch ms), as it measured it (the engine, and bare Fastify with the engine's sampler). */
async function loopDelay(url: string, since: number): Promise<LoopDelay | undefined> {
  try {
    const res = await fetch(`${url}/api/v1/metrics/event-loop?since=${since}`);
    if (!res.ok) return undefined;
    return ((await res.json()) as { data: LoopDelay }).data;
  } catch {
    return undefined;
  }
}

/** Drives the server and charges it the CPU time it used meanwhile. */
async function drive(url: string, s: Scenario, pid?: number, engine = false): Promise<Run> {
  const inside = engine ? await decideDurations(url) : undefined;
  const since = Date.now();
  const before = cpuSeconds(pid);
  const run = await load(url, s);
  const after = cpuSeconds(pid);
  const cpuUs = before === undefined || after === undefined || run.total === 0 ? Number.NaN : ((after - before) * 1e6) / run.total;
  const loop = await loopDelay(url, since);
  const insideP99 = inside ? p99Bucket(inside, await decideDurations(url)) : undefined;
  return { ...run, cpuUs, loopMax: loop?.max_ms, loopP99: loop?.p99_ms, insideP99 };
}

/** The engine's own histogram of the decide route (Prometheus, cumulative): count by upper bound (s). */
async function decideDurations(url: string): Promise<Map<number, number> | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const counts = new Map<number, number>();
    for (const m of text.matchAll(/^openkore_http_request_duration_seconds_bucket\{([^}]*)\} (\d+)$/gm)) {
      if (!m[1].includes('route="/api/v1/decide"')) continue;
      const le = /le="([^"]+)"/.exec(m[1])![1];
      const bound = le === '+Inf' ? Infinity : Number(le);
      counts.set(bound, (counts.get(bound) ?? 0) + Number(m[2]));
    }
    return counts;
  } catch {
    return undefined;
  }
}

/** The smallest bucket bound (ms) holding 99% of the decide requests answered between two scrapes. */
function p99Bucket(before: Map<number, number>, after: Map<number, number> | undefined): number | undefined {
  if (!after) return undefined;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return undefined;
  const bound = bounds.find((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0) >= 0.99 * total);
  return bound === undefined ? undefined : bound * 1000;
}

async function load(url: string, s: Scenario): Promise<Omit<Run, 'cpuUs'>> {
  if (s.rate !== undefined) {
    // A running farm: its bots are connected already (the herd scenario measures connecting).
    const r = await tickLoad({ url: `${url}/api/v1/decide`, sessions: s.sessions, ticksPerSecond: s.rate, seconds: s.seconds, body, splitAtSeconds: 1, connectFirst: true });
    return { rps: r.rps, p50: r.p50, p99: r.p99, max: r.max, errors: r.errors, non2xx: r.non2xx, total: r.total, connections: r.connections, p99Settled: r.tail?.p99, generatorLoopMax: r.generatorLoopMax };
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
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

function mean(runs: Run[]): Run {
  const avg = (k: 'rps' | 'p50' | 'errors' | 'non2xx' | 'total' | 'cpuUs') => runs.reduce((s, r) => s + r[k], 0) / runs.length;
  return {
    rps: avg('rps'),
    p50: Math.round(avg('p50') * 100) / 100,
    p99: Math.max(...runs.map((r) => r.p99)),
    max: Math.max(...runs.map((r) => r.max)),
    errors: avg('errors'),
    non2xx: avg('non2xx'),
    total: avg('total'),
    cpuUs: avg('cpuUs'),
    p99Settled: worst(runs.map((r) => r.p99Settled)),
    connections: runs.some((r) => r.connections !== undefined) ? Math.max(...runs.map((r) => r.connections ?? 0)) : undefined,
    loopMax: worst(runs.map((r) => r.loopMax)),
    loopP99: worst(runs.map((r) => r.loopP99)),
    generatorLoopMax: worst(runs.map((r) => r.generatorLoopMax)),
    insideP99: worst(runs.map((r) => r.insideP99)),
  };
}

function worst(values: ReadonlyArray<number | null | undefined>): number | undefined {
  const known = values.filter((v): v is number => typeof v === 'number');
  return known.length ? Math.max(...known) : undefined;
}

const fmt = (n: number) => (Number.isNaN(n) ? '' : Math.round(n * 10) / 10);
const ms = (n: number | null | undefined) => (typeof n === 'number' ? Math.round(n * 100) / 100 : '');

/**
 * `BENCH_BASELINE=<another build's dist/src/main.js>` (e.g. the previous commit, built in a copy
 * of the repository) adds that engine to the same run: before and after, on one machine state.
 */
export function runHttpBench(): Promise<void> {
  const baseline = process.env.BENCH_BASELINE;
  if (baseline !== undefined && !fs.existsSync(baseline)) throw new Error(`BENCH_BASELINE: ${baseline} does not exist`);
  return runHttpBenchWith(baseline ? [{ label: 'baseline engine', script: path.resolve(baseline), env: {} }] : []);
}

async function runHttpBenchWith(extra: Array<{ label: string; script: string; env: Record<string, string> }>): Promise<void> {
  const place = pinForLoad();
  const bareServer = path.join(ROOT, 'dist', 'bench', 'bare-server.js');
  const variants = engineVariants();
  const dataDirs: string[] = [];
  const engines: Array<{ label: string; server: Server }> = [];
  const others: Server[] = [];
  const rows: Record<string, string | number>[] = [];
  const row = (s: Scenario, server: string, m: Run, bm?: Run) => ({
    scenario: s.name,
    server,
    'req/s': fmt(m.rps),
    'p50 ms': m.p50,
    'p99 ms': m.p99,
    'p99 from 1 s': ms(m.p99Settled),
    'inside p99 ≤ ms': ms(m.insideP99),
    'max ms': m.max,
    'errors+non2xx': m.errors + m.non2xx,
    conns: m.connections ?? '',
    'CPU µs/req': fmt(m.cpuUs),
    'vs bare': bm ? `${Math.round((m.rps / bm.rps) * 100)}%` : '',
    'loop max ms': ms(m.loopMax),
    'loop p99 ms': ms(m.loopP99),
    'gen loop max ms': ms(m.generatorLoopMax),
  });
  try {
    for (const v of [...extra, ...variants]) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-bench-'));
      dataDirs.push(dataDir);
      const env = { DATA_DIR: dataDir, NODE_ENV: 'production', ...v.env };
      const server = 'script' in v ? await startEngine(env, place.serverCpus, v.script) : await startEngine(env, place.serverCpus);
      engines.push({ label: v.label, server });
    }
    const bare = await startServer(bareServer, {}, place.serverCpus);
    others.push(bare);
    const calibration = await startServer(bareServer, { BARE_WORK_US: String(CALIBRATION_WORK_US) }, place.serverCpus);
    others.push(calibration);
    // Warm every server (JIT, first-session creation) before measuring.
    for (const { server } of engines) await drive(server.url, { name: 'warm', sessions: 300, connectionsPerSession: 1, seconds: 2 });
    await drive(bare.url, { name: 'warm', sessions: 10, connectionsPerSession: 1, seconds: 1 });
    await drive(calibration.url, { name: 'warm', sessions: 10, connectionsPerSession: 1, seconds: 1 });
    for (const s of SCENARIOS) {
      const e: Run[][] = engines.map(() => []);
      const b: Run[] = [];
      const c: Run[] = [];
      const servers = [...engines.map((x) => x.server), ...others];
      for (let round = 0; round < 2; round++) {
        b.push(await drivenAlone(bare, servers, () => drive(bare.url, s, bare.proc.pid)));
        for (const [i, { server }] of engines.entries()) e[i].push(await drivenAlone(server, servers, () => drive(server.url, s, server.proc.pid, true)));
        if (s.calibrate) c.push(await drivenAlone(calibration, servers, () => drive(calibration.url, s, calibration.proc.pid)));
      }
      const bm = mean(b);
      rows.push(row(s, 'bare fastify', bm));
      for (const [i, { label }] of engines.entries()) rows.push(row(s, label, mean(e[i]), bm));
      if (c.length > 0) rows.push(row(s, `bare + ${CALIBRATION_WORK_US} µs work`, mean(c), bm));
    }
  } finally {
    await Promise.all([...engines.map((x) => x.server), ...others].map((server) => stopProcess(server.proc)));
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
  console.log(place.describe);
  console.log(FREEZE_IDLE ? 'the servers not being driven are paused (SIGSTOP) meanwhile: the driven one has the core to itself' : 'the servers not being driven kept running on the same core (BENCH_FREEZE_IDLE=0)');
  console.log('flat out: autocannon (1 ms resolution); tick rates: tick-load.ts, one connection per bot, bots at spread phases, latency counts coordinated omission; p99 and max are the worse of the two rounds');
  console.log('engine: as it ships (the front door serves the per-tick routes); "no front door": HTTP_FRONT_DOOR=0, every request through Fastify (BENCH_ENGINES picks one)');
  console.log(`CPU µs/req: the server process's CPU time (all threads) over the run / requests answered; "bare + ${CALIBRATION_WORK_US} µs work": bare Fastify busy-waiting that long per request (what a fixed cost alone does to the flat-out ratio)`);
  console.log('tick scenarios: every bot connected before the round\'s clock starts (a running farm); the cold-start herd connects inside it');
  console.log('p99 from 1 s: tick scenarios, the ticks due from the second second of a round on; conns: connections the bots opened');
  console.log('loop max / p99: the server\'s own event-loop delay during the run (GET /api/v1/metrics/event-loop?since=; bare Fastify runs the engine\'s sampler at the engine\'s 2 ms), the worse of the two rounds');
  console.log('inside p99 ≤: the engine\'s own histogram of the decide route over the run (GET /metrics; from its observation of the request to the end of the answer), the bucket bound holding 99%');
  console.log('gen loop max: the load generator\'s own worst event-loop delay in the tick scenarios (a stall there is charged to the server as latency)');
  await runColdStartBench();
}

/**
 * The cold-start herd: what a farm sees after every deploy. A fresh process on a fresh data
 * directory; as soon as it announces it listens, every bot sends its first tick (evenly spread
 * over one tick period) through the plugin's decide route, then ticks on. The first seconds are
 * reported apart from the rest; each round is a new process.
 */
export async function runColdStartBench(): Promise<void> {
  const place = pinForLoad();
  const bareServer = path.join(ROOT, 'dist', 'bench', 'bare-server.js');
  const rows: Record<string, string | number>[] = [];
  const scenario = `cold start: ${HERD.sessions} bots x ${HERD.rate} ticks/s`;
  for (let round = 0; round < HERD.rounds; round++) {
    for (const server of ['bare fastify', 'engine'] as const) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-bench-cold-'));
      const spawned = performance.now();
      const s = server === 'engine' ? await startEngine({ DATA_DIR: dataDir, NODE_ENV: 'production' }, place.serverCpus) : await startServer(bareServer, {}, place.serverCpus);
      const listeningMs = performance.now() - spawned;
      try {
        const herdStart = Date.now();
        const split = herdStart + HERD.firstSeconds * 1000;
        // Read the first seconds' loop delay when they are over (the load goes on meanwhile).
        const firstLoop = new Promise<LoopDelay | undefined>((resolve) => setTimeout(() => resolve(loopDelay(s.url, herdStart)), split - Date.now()));
        const r = await tickLoad({
          url: `${s.url}/api/v1/decide`,
          sessions: HERD.sessions,
          ticksPerSecond: HERD.rate,
          seconds: HERD.seconds,
          body,
          splitAtSeconds: HERD.firstSeconds,
        });
        const restLoop = await loopDelay(s.url, split);
        const first = await firstLoop;
        const part = (label: string, p: LatencySummary, loop: LoopDelay | undefined) => ({
          scenario,
          round: round + 1,
          server,
          part: label,
          'listening after ms': Math.round(listeningMs),
          ticks: p.total,
          'p50 ms': p.p50,
          'p99 ms': p.p99,
          'max ms': p.max,
          'errors+non2xx': r.errors + r.non2xx,
          'loop max ms': ms(loop?.max_ms),
          'loop p99 ms': ms(loop?.p99_ms),
          'gen loop max ms': ms(r.generatorLoopMax),
        });
        rows.push(part(`first ${HERD.firstSeconds} s`, r.head!, first));
        rows.push(part(`next ${HERD.seconds - HERD.firstSeconds} s`, r.tail!, restLoop));
      } finally {
        await stopProcess(s.proc);
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  console.table(rows);
  console.log(place.describe);
  console.log('each round starts a fresh process on a fresh data directory; the herd starts when it logs that it listens; tick-load.ts as above (coordinated omission counted); "listening after": spawn to the listening line');
}

runAsScript(module, runHttpBench);
