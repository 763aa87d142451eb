/**
 * The bot farm on each database (not a test: prints numbers, asserts nothing).
 *
 *   npm run bench -- farm
 *
 * One built engine on a fresh database — the SQLite file in DATA_DIR, then a fresh PostgreSQL
 * database (bench/postgres.ts: BENCH_DATABASE_URL or a throwaway cluster) once the engine runs
 * on DATABASE_URL — and 100 bots × 20 ticks/s through the decide route (bench/tick-load.ts:
 * one keep-alive connection per bot, coordinated omission counted) for FARM_SECONDS after a
 * warm-up of the same load. Two rounds per database, taken in turn; p99 is the worse round.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { body } from './http.bench';
import { benchPostgres, engineIgnoresDatabaseUrl } from './postgres';
import { runAsScript, startEngine, stopProcess } from './support';
import { tickLoad } from './tick-load';

const BOTS = 100;
const RATE = 20;
const WARMUP_SECONDS = 3;
const FARM_SECONDS = Number(process.env.FARM_SECONDS ?? 10);
const ROUNDS = 2;

interface Row {
  database: string;
  round: number;
  'req/s': number;
  'p50 ms': number;
  'p99 ms': number;
  'max ms': number;
  errors: number;
}

async function farmOn(database: string, env: Record<string, string>, round: number): Promise<Row> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-farmbench-'));
  const engine = await startEngine({ DATA_DIR: dataDir, ...env });
  try {
    await tickLoad({ url: `${engine.url}/api/v1/decide`, sessions: BOTS, ticksPerSecond: RATE, seconds: WARMUP_SECONDS, body });
    const r = await tickLoad({ url: `${engine.url}/api/v1/decide`, sessions: BOTS, ticksPerSecond: RATE, seconds: FARM_SECONDS, body });
    return { database, round, 'req/s': Math.round(r.rps), 'p50 ms': r.p50, 'p99 ms': r.p99, 'max ms': r.max, errors: r.errors + r.non2xx };
  } finally {
    await stopProcess(engine.proc);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runFarmBench(): Promise<void> {
  const rows: Row[] = [];
  const notOnPg = engineIgnoresDatabaseUrl();
  const pg = notOnPg ? null : await benchPostgres();
  if (notOnPg) console.log(`PostgreSQL farm skipped: ${notOnPg}`);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      rows.push(await farmOn('SQLite (DATA_DIR)', {}, round));
      if (pg) rows.push(await farmOn('PostgreSQL (DATABASE_URL)', { DATABASE_URL: await pg.createDatabase('farmbench') }, round));
    }
  } finally {
    await pg?.stop();
  }
  console.table(rows);
  console.log(`${BOTS} bots × ${RATE} ticks/s, ${FARM_SECONDS} s measured after ${WARMUP_SECONDS} s of warm-up, one engine, a fresh database each round; ${os.cpus().length} CPU(s) shared by the engine, the database server and the load generator`);
}

runAsScript(module, runFarmBench);
