/**
 * Hot-path CPU per request, engine against engine: the built engine as it ships, without its
 * front door (HTTP_FRONT_DOOR=0), with Nest's route executor (HTTP_FAST_ROUTES=0) and, with BENCH_BASELINE=<another build's dist/src/main.js>,
 * that build — many short rounds taken in turn, so that a busy machine's drift hits all of them
 * alike; the median and the minimum of the rounds are printed. Not a test: nothing asserts.
 */
import autocannon from 'autocannon';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuSeconds, pinForLoad, runAsScript, type Server, startEngine, stopProcess } from './support';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const SECONDS = 3;
/** Requests per second of the paced runs (a farm of 100 bots at 20 ticks/s); 0 = flat out. */
const RATES = [2000, 0];

function body(i: number): string {
  return JSON.stringify({
    game_state: {
      character: { name: `CpuBot${i}`, level: 60, hp: 4000, max_hp: 5000, sp: 300, max_sp: 400, position: { map: 'prt_fild08', x: 100, y: 120 }, weight: 500, max_weight: 3000, zeny: 1, job_class: 'Knight', is_sitting: false },
      skills: [],
      monsters: [{ id: 2001, name: 'Poring', level: 1, hp: 50, max_hp: 50, distance: 4, is_aggressive: false, is_attacking_me: false }],
      inventory: [],
      nearby_players: [],
      party_members: [],
    },
  });
}

async function cpuPerRequest(server: Server, rate: number): Promise<number> {
  let next = 0;
  const before = cpuSeconds(server.proc.pid);
  const result = await autocannon({
    url: `${server.url}/api/v1/decide`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: 20,
    duration: SECONDS,
    ...(rate > 0 ? { overallRate: rate } : {}),
    setupClient: (client: { setBody(b: string): void }) => client.setBody(body(next++ % 10)),
  });
  const after = cpuSeconds(server.proc.pid);
  return before === undefined || after === undefined || result.requests.total === 0 ? Number.NaN : ((after - before) * 1e6) / result.requests.total;
}

export async function runHttpCpuBench(): Promise<void> {
  const place = pinForLoad();
  const baseline = process.env.BENCH_BASELINE;
  const variants: Array<{ label: string; env: Record<string, string>; main?: string }> = [
    ...(baseline ? [{ label: 'baseline engine', env: {}, main: path.resolve(baseline) }] : []),
    { label: 'engine', env: {} },
    { label: 'engine, no front door', env: { HTTP_FRONT_DOOR: '0' } },
    // The same build with Nest's route executor on every route: what the composed one saves.
    { label: "engine, Nest's executor", env: { HTTP_FAST_ROUTES: '0' } },
  ];
  const dirs: string[] = [];
  const servers: Array<{ label: string; server: Server }> = [];
  const samples = new Map<string, number[]>();
  try {
    for (const v of variants) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-bench-cpu-'));
      dirs.push(dir);
      servers.push({ label: v.label, server: await startEngine({ DATA_DIR: dir, NODE_ENV: 'production', ...v.env }, place.serverCpus, v.main) });
    }
    // Round -1 warms every server up and is not counted.
    for (let round = -1; round < ROUNDS; round++) {
      for (const rate of RATES) {
        for (const { label, server } of servers) {
          const us = await cpuPerRequest(server, rate);
          if (round < 0) continue;
          const key = `${rate > 0 ? `${rate} req/s` : 'flat out'}|${label}`;
          samples.set(key, [...(samples.get(key) ?? []), us]);
        }
      }
    }
  } finally {
    await Promise.all(servers.map(({ server }) => stopProcess(server.proc)));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
  const rows = [...samples].map(([key, values]) => {
    const [load, server] = key.split('|');
    const sorted = [...values].sort((a, b) => a - b);
    return { load, server, 'CPU µs/req median': Math.round(sorted[Math.floor(sorted.length / 2)] * 10) / 10, 'min': Math.round(sorted[0] * 10) / 10, rounds: values.length };
  });
  console.table(rows);
  console.log(place.describe);
  console.log(`POST /api/v1/decide, 20 connections; ${ROUNDS} rounds of ${SECONDS} s per server and load, taken in turn; the server's CPU time (all threads) / requests answered`);
}

runAsScript(module, runHttpCpuBench);
