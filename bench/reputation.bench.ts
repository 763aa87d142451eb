/**
 * Reputation write throughput (not a test: prints numbers, asserts nothing).
 *
 *   npm run build && node dist/bench/reputation.bench.js
 *
 * Every adjustment is the full unit of work (score + totals + history row in one BEGIN
 * IMMEDIATE transaction, WAL, synchronous=NORMAL) on one player, so all writers contend.
 *  - in-process: ReputationService over a standalone DatabaseService, 1 and 32 callers;
 *  - two processes on one file: two child processes run the same loop at the same time;
 *  - over HTTP: one built engine, then two built engines on one file, driven by bounded
 *    request loops on 127.0.0.1.
 * The same on PostgreSQL beside it (bench/postgres.ts: BENCH_DATABASE_URL or a throwaway
 * cluster): the unit of work at read committed, the player's row locked (FOR UPDATE), through
 * the PostgresWriter; the HTTP rows only once the engine runs on DATABASE_URL.
 */
import Database from 'better-sqlite3';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Pool } from 'pg';
import type { PgTestServer } from '../src/common/database/pg.test-kit';
import { benchPostgres, engineIgnoresDatabaseUrl } from './postgres';
import { runAsScript, startEngine, stopProcess } from './support';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const SECONDS = 3;
const HTTP_LOOPS_PER_ENGINE = 16;

const WORKER = `
const path = require('node:path');
const readline = require('node:readline');
const { Logger } = require('@nestjs/common');
Logger.overrideLogger(false);
const dist = process.env.DIST;
const { openStandaloneDatabase } = require(path.join(dist, 'src/common/database/database.test-kit.js'));
const { ReputationService, ReputationRepository } = require(path.join(dist, 'src/modules/reputation/index.js'));
let db;
if (process.env.DATABASE_URL) {
  const { Pool } = require('pg');
  const { PostgresWriter } = require(path.join(dist, 'src/common/database/postgres-writer.js'));
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.CALLERS) + 1 });
  const writer = new PostgresWriter(pool);
  db = { service: { write: (b, o) => writer.write(b, o), get counters() { return { busy_retries: writer.counters.busy_retries + writer.counters.serialization_retries }; } }, close: () => pool.end() };
} else {
  db = openStandaloneDatabase(process.env.DB_FILE);
}
const rep = new ReputationService(db.service, null, new ReputationRepository(db.service));
const seconds = Number(process.env.SECONDS);
const callers = Number(process.env.CALLERS);
process.stdout.write('ready\\n');
readline.createInterface({ input: process.stdin }).once('line', async () => {
  const deadline = Date.now() + seconds * 1000;
  let n = 0;
  let errors = 0;
  let i = 0;
  const loop = async () => {
    while (Date.now() < deadline) {
      try {
        await rep.adjust({ player_id: 1, player_name: 'Bench', delta: (i++ % 2) ? 1 : -1, reason: 'bench' });
        n++;
      } catch {
        errors++;
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: callers }, loop));
  process.stdout.write(JSON.stringify({ n, errors, ms: Date.now() - started, counters: db.service.counters }) + '\\n');
  await db.close();
  process.exit(0);
});
`;

interface Row {
  scenario: string;
  processes: number;
  'adjustments/s': number;
  'per process': string;
  'busy retries': number;
  errors: number;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'okai-repbench-'));
}

/** Creates the schema once, the way an engine would (its migrations), then closes. */
async function prepareFile(file: string): Promise<void> {
  const { applyMigrations } = await import('../src/common/database/database.test-kit');
  const { MIGRATIONS } = await import('../src/common/database/migrations');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  try {
    await applyMigrations(db, MIGRATIONS);
  } finally {
    db.close();
  }
}

async function inProcess(callers: number): Promise<Row> {
  const { Logger } = await import('@nestjs/common');
  Logger.overrideLogger(false);
  const { openStandaloneDatabase } = await import('../src/common/database/database.test-kit');
  const { ReputationService, ReputationRepository } = await import('../src/modules/reputation');
  const dir = tempDir();
  const file = path.join(dir, 'bench.db');
  await prepareFile(file);
  const db = openStandaloneDatabase(file);
  const rep = new ReputationService(db.service, null as never, new ReputationRepository(db.service));
  let n = 0;
  let i = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (Date.now() < deadline) {
        await rep.adjust({ player_id: 1, player_name: 'Bench', delta: i++ % 2 ? 1 : -1, reason: 'bench' });
        n++;
      }
    }),
  );
  const ms = Date.now() - started;
  const counters = db.service.counters;
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const rate = Math.round((n / ms) * 1000);
  return { scenario: `in-process, ${callers} caller(s)`, processes: 1, 'adjustments/s': rate, 'per process': String(rate), 'busy retries': counters.busy_retries, errors: 0 };
}

async function childProcesses(count: number, callers: number, databaseUrl?: string): Promise<Row> {
  const dir = tempDir();
  const file = path.join(dir, 'bench.db');
  if (!databaseUrl) await prepareFile(file);
  const children = await Promise.all(
    Array.from({ length: count }, async () => {
      const proc = spawn(process.execPath, ['-e', WORKER], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', DIST, DB_FILE: file, SECONDS: String(SECONDS), CALLERS: String(callers), ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const lines = readline.createInterface({ input: proc.stdout! });
      const it = lines[Symbol.asyncIterator]();
      const ready = await it.next();
      if (ready.value !== 'ready') throw new Error(`worker did not start: ${String(ready.value)}`);
      return { proc, it };
    }),
  );
  // Both start on the same signal.
  for (const c of children) c.proc.stdin!.write('go\n');
  const results = await Promise.all(
    children.map(async (c) => JSON.parse(String((await c.it.next()).value)) as { n: number; errors: number; ms: number; counters: { busy_retries: number } }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  const rates = results.map((r) => Math.round((r.n / r.ms) * 1000));
  return {
    scenario: `${count} processes on one file, ${callers} caller(s) each`,
    processes: count,
    'adjustments/s': rates.reduce((a, b) => a + b, 0),
    'per process': rates.join(' + '),
    'busy retries': results.reduce((s, r) => s + r.counters.busy_retries, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
  };
}

async function overHttp(engineCount: number, databaseUrl?: string): Promise<Row> {
  const dataDir = tempDir();
  const engines: Array<{ proc: ChildProcess; url: string }> = [];
  try {
    // One after the other: the first migrates the fresh database.
    for (let i = 0; i < engineCount; i++) engines.push(await startEngine({ DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }));
    const counts = engines.map(() => ({ ok: 0, errors: 0 }));
    // Warm-up: creates the player and warms the JIT of both sides.
    for (const e of engines) {
      for (let i = 0; i < 50; i++) await adjustOverHttp(e.url, i);
    }
    const deadline = Date.now() + SECONDS * 1000;
    const started = Date.now();
    await Promise.all(
      engines.flatMap((e, idx) =>
        Array.from({ length: HTTP_LOOPS_PER_ENGINE }, async (_, loop) => {
          let i = loop;
          while (Date.now() < deadline) {
            if (await adjustOverHttp(e.url, i++)) counts[idx].ok++;
            else counts[idx].errors++;
          }
        }),
      ),
    );
    const ms = Date.now() - started;
    const stats = await Promise.all(
      engines.map(async (e) => ((await (await fetch(`${e.url}/api/v1/admin/locks`)).json()) as { data: { database?: { busy_retries?: number } } }).data.database ?? {}),
    );
    const rates = counts.map((c) => Math.round((c.ok / ms) * 1000));
    return {
      scenario: `${databaseUrl ? 'PostgreSQL, ' : ''}HTTP, ${engineCount} engine(s) on one ${databaseUrl ? 'database' : 'file'}, ${HTTP_LOOPS_PER_ENGINE} loops each`,
      processes: engineCount,
      'adjustments/s': rates.reduce((a, b) => a + b, 0),
      'per process': rates.join(' + '),
      'busy retries': stats.reduce((s, d) => s + (d.busy_retries ?? 0), 0),
      errors: counts.reduce((s, c) => s + c.errors, 0),
    };
  } finally {
    await Promise.all(engines.map((e) => stopProcess(e.proc)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A fresh PostgreSQL database, migrated as an engine migrates it; its URL. */
async function preparePgDatabase(pg: PgTestServer): Promise<string> {
  const { semanticsDatabase } = await import('../src/common/database/pg-schema.test-kit');
  return semanticsDatabase(pg, 'repbench');
}

async function inProcessPg(pg: PgTestServer, callers: number): Promise<Row> {
  const { Logger } = await import('@nestjs/common');
  Logger.overrideLogger(false);
  const { PostgresWriter } = await import('../src/common/database/postgres-writer');
  const { ReputationService, ReputationRepository } = await import('../src/modules/reputation');
  const url = await preparePgDatabase(pg);
  const pool = new Pool({ connectionString: url, max: Math.min(callers, 10) + 1 });
  const writer = new PostgresWriter(pool);
  const db = { write: (b: never, o: never) => writer.write(b, o) } as never;
  const rep = new ReputationService(db, null as never, new ReputationRepository(db));
  let n = 0;
  let errors = 0;
  let i = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (Date.now() < deadline) {
          try {
            await rep.adjust({ player_id: 1, player_name: 'Bench', delta: i++ % 2 ? 1 : -1, reason: 'bench' });
            n++;
          } catch {
            errors++;
          }
        }
      }),
    );
  } finally {
    await pool.end();
  }
  const ms = Date.now() - started;
  const rate = Math.round((n / ms) * 1000);
  const retries = writer.counters.busy_retries + writer.counters.serialization_retries;
  return { scenario: `PostgreSQL in-process, ${callers} caller(s)`, processes: 1, 'adjustments/s': rate, 'per process': String(rate), 'busy retries': retries, errors };
}

async function childProcessesPg(pg: PgTestServer, count: number, callers: number): Promise<Row> {
  const url = await preparePgDatabase(pg);
  const row = await childProcesses(count, callers, url);
  return { ...row, scenario: `PostgreSQL, ${count} processes on one database, ${callers} caller(s) each` };
}

async function adjustOverHttp(url: string, i: number): Promise<boolean> {
  const res = await fetch(`${url}/api/v1/social/reputation/adjust`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ player_id: 1, player_name: 'Bench', delta: i % 2 ? 1 : -1, reason: 'bench' }),
  });
  await res.arrayBuffer();
  return res.status === 200;
}

export async function runReputationBench(): Promise<void> {
  if (!fs.existsSync(path.join(DIST, 'src', 'main.js'))) throw new Error('run "npm run build" first');
  const rows: Row[] = [];
  rows.push(await inProcess(1));
  rows.push(await inProcess(32));
  rows.push(await childProcesses(1, 1));
  rows.push(await childProcesses(2, 1));
  rows.push(await overHttp(1));
  rows.push(await overHttp(2));
  const pg = await benchPostgres();
  if (pg) {
    try {
      rows.push(await inProcessPg(pg, 1));
      rows.push(await inProcessPg(pg, 32));
      rows.push(await childProcessesPg(pg, 1, 1));
      rows.push(await childProcessesPg(pg, 2, 1));
      rows.push(await childProcessesPg(pg, 2, 8));
      const notOnPg = engineIgnoresDatabaseUrl();
      if (notOnPg) console.log(`PostgreSQL HTTP rows skipped: ${notOnPg}`);
      else {
        rows.push(await overHttp(1, await pg.createDatabase('repbench_http')));
        rows.push(await overHttp(2, await pg.createDatabase('repbench_http')));
      }
    } finally {
      await pg.stop();
    }
  }
  console.table(rows);
  console.log(
    `each adjustment = one transaction (score, totals, history row) on ONE player (SQLite: BEGIN IMMEDIATE; PostgreSQL: read committed, the row FOR UPDATE); ${SECONDS} s per scenario; ` +
      `${os.cpus().length} CPU(s) shared by the engines and the load generator`,
  );
}

runAsScript(module, runReputationBench);
