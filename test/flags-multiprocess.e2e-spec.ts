import { Logger } from '@nestjs/common';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Pool } from 'pg';
import type { QueryRunner } from 'typeorm';
import { applyMigrations, openStandaloneDatabase } from '../src/common/database/database.test-kit';
import { CreateProcessFlags1764288000001 } from '../src/common/database/migrations/1764288000001-create-process-flags';
import { describePostgres, startPostgres, type PgTestServer } from '../src/common/database/pg.test-kit';
import { MAIN_JS, ROOT, tempDir } from './support/engine';

/**
 * Small node processes, each with its own connection, write path and FlagService from the BUILT
 * engine (dist/), race for one flag: on SQLite a connection with the engine's pragmas and its
 * DatabaseService (DB_FILE); on PostgreSQL a pool and the PostgresWriter (DATABASE_URL). Commands
 * arrive as JSON lines on stdin, answers leave as JSON lines on stdout, so the test can fire all
 * attempts at once.
 */
const RACER = `
const path = require('node:path');
const readline = require('node:readline');
const { Logger } = require('@nestjs/common');
Logger.overrideLogger(false);
const dist = path.join(process.cwd(), 'dist', 'src');
const { FlagService } = require(path.join(dist, 'modules/flags/index.js'));
let db;
if (process.env.DATABASE_URL) {
  const { Pool } = require('pg');
  const { PostgresWriter } = require(path.join(dist, 'common/database/postgres-writer.js'));
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  const writer = new PostgresWriter(pool);
  db = { service: { write: (body, options) => writer.write(body, options) }, close: () => pool.end() };
} else {
  const { openStandaloneDatabase } = require(path.join(dist, 'common/database/database.test-kit.js'));
  db = openStandaloneDatabase(process.env.DB_FILE);
}
const flags = new FlagService(db.service);
let lease = null;
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line);
  try {
    if (cmd.cmd === 'acquire') {
      const got = await flags.tryAcquire(cmd.flag, cmd.ttl, { heartbeat: cmd.heartbeat });
      if (got) lease = got;
      send({ won: !!got, token: got ? got.token : null, owner: flags.ownerId });
    } else if (cmd.cmd === 'exit') {
      await flags.close();
      await db.close();
      send({ bye: true });
      process.exit(0);
    }
  } catch (err) {
    send({ error: String(err && err.stack || err) });
  }
});
send({ ready: true, owner: flags.ownerId, pid: process.pid });
`;

interface Racer {
  proc: ChildProcess;
  owner: string;
  ask(cmd: Record<string, unknown>): Promise<Record<string, any>>;
  exited: Promise<void>;
}

async function startRacer(where: { DB_FILE: string } | { DATABASE_URL: string }): Promise<Racer> {
  const proc = spawn(process.execPath, ['-e', RACER], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...where }, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting: Array<(m: Record<string, any>) => void> = [];
  const stderr: string[] = [];
  proc.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  // 'close', not 'exit': 'exit' may come before the last of the racer's stdout and stderr is read
  // (Node's docs), failing an answer given just before a clean exit, or hiding why it died.
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => waiting.shift()?.(JSON.parse(line) as Record<string, any>));
  const next = () =>
    new Promise<Record<string, any>>((resolve, reject) => {
      waiting.push(resolve);
      void exited.then(() => reject(new Error(`racer exited: ${stderr.join('')}`)));
    });
  const ready = await next();
  return {
    proc,
    owner: ready.owner as string,
    exited,
    ask(cmd) {
      const answer = next();
      proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
      return answer;
    },
  };
}

/** The flag's row as committed, read beside the racers. */
interface FlagView {
  held: boolean;
  owner: string | null;
  token: number;
  acquired_at: number | null;
  expires_at: number | null;
}

interface Observer {
  /** Where the racers connect. */
  where: { DB_FILE: string } | { DATABASE_URL: string };
  flag(name: string): Promise<FlagView | null>;
  close(): Promise<void>;
}

type FlagRow = { owner: string | null; token: number | string; acquired_at: number | string | null; expires_at: number | string | null };

function view(row: FlagRow | undefined): FlagView | null {
  if (!row) return null;
  const n = (v: number | string | null) => (v === null ? null : Number(v));
  const expires = n(row.expires_at);
  return { held: row.owner !== null && expires !== null && expires > Date.now(), owner: row.owner, token: Number(row.token), acquired_at: n(row.acquired_at), expires_at: expires };
}

const SELECT_FLAG = 'SELECT owner, token, acquired_at, expires_at FROM process_flags WHERE name = ';

async function sqliteObserver(): Promise<Observer> {
  const dir = tempDir('okai-flags-');
  const file = path.join(dir, 'openkore-ai.db');
  const db = openStandaloneDatabase(file);
  await applyMigrations(db.connection, [CreateProcessFlags1764288000001]);
  return {
    where: { DB_FILE: file },
    flag: async (name) => view(db.connection.prepare(`${SELECT_FLAG}?`).get(name) as FlagRow | undefined),
    async close() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresObserver(server: PgTestServer): Promise<Observer> {
  const url = await server.createDatabase('flags_mp');
  const pool = new Pool({ connectionString: url, max: 1 });
  // The engine's own migration, on PostgreSQL.
  const runner = { query: (sql: string) => pool.query(sql), connection: { driver: { options: { type: 'postgres' } } } } as unknown as QueryRunner;
  await new CreateProcessFlags1764288000001().up(runner);
  return {
    where: { DATABASE_URL: url },
    flag: async (name) => view((await pool.query<FlagRow>(`${SELECT_FLAG}$1`, [name])).rows[0]),
    close: () => pool.end(),
  };
}

describe.each(['sqlite', 'postgres'] as const)('process flags across processes [%s]', (dialect) => {
  // PostgreSQL: describePostgres (skipped, with the reason, where no server can run).
  (dialect === 'postgres' ? describePostgres : describe)('racers', () => flagRace(dialect));
});

function flagRace(dialect: 'sqlite' | 'postgres'): void {
  const RACERS = 8;
  // Heartbeat every TTL/3: a holder stalled for 2/3 of the TTL would lose the lease, so leave room for a loaded machine.
  const TTL = 2400;
  let server: PgTestServer | undefined;
  let observer: Observer;
  const racers: Racer[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(MAIN_JS)) throw new Error('run "npm run build" first: the racers load dist/');
    Logger.overrideLogger(false);
    if (dialect === 'postgres') server = await startPostgres();
    observer = dialect === 'postgres' ? await postgresObserver(server!) : await sqliteObserver();
    // Pushed as they come up, so afterAll stops them even if one fails to start.
    await Promise.all(
      Array.from({ length: RACERS }, async () => {
        racers.push(await startRacer(observer.where));
      }),
    );
  }, 60_000);

  afterAll(async () => {
    try {
      await Promise.all(
        racers.map(async (r) => {
          if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
          await r.exited;
        }),
      );
      await observer?.close();
    } finally {
      await server?.stop();
    }
  }, 30_000);

  const race = (live: Racer[], flag: string, ttl: number, heartbeat: boolean) =>
    Promise.all(live.map((r) => r.ask({ cmd: 'acquire', flag, ttl, heartbeat })));

  it('exactly one of many processes wins a race; a live lease with heartbeat outlasts its TTL and is not stolen; once its holder dies, another owner takes it after expiry', async () => {
    expect(new Set(racers.map((r) => r.owner)).size).toBe(RACERS);

    // 1. All at once: one winner.
    const first = await race(racers, 'pdca_running', TTL, true);
    expect(first.filter((a) => a.error)).toEqual([]);
    const winners = first.filter((a) => a.won);
    expect(winners).toHaveLength(1);
    const holder = racers.find((r) => r.owner === winners[0].owner)!;
    const held = (await observer.flag('pdca_running'))!;
    expect(held).toMatchObject({ held: true, owner: holder.owner, token: winners[0].token });

    // 2. The holder's heartbeat carries the lease past its original expiry; nobody can take it.
    const acquiredAt = held.acquired_at!;
    await waitFor(async () => ((await observer.flag('pdca_running'))?.expires_at ?? 0) >= acquiredAt + 2 * TTL, 10_000);
    expect(Date.now()).toBeGreaterThan(acquiredAt + TTL);
    const others = racers.filter((r) => r !== holder);
    const second = await race(others, 'pdca_running', TTL, true);
    expect(second.filter((a) => a.won)).toEqual([]);
    expect(await observer.flag('pdca_running')).toMatchObject({ held: true, owner: holder.owner, token: winners[0].token });

    // 3. The holder dies without releasing: the flag stays held until the lease expires, then exactly one other owner gets it.
    holder.proc.kill('SIGKILL');
    await holder.exited;
    const deadLease = (await observer.flag('pdca_running'))!;
    expect(deadLease.held).toBe(true);
    let takeover: Array<Record<string, any>> = [];
    await waitFor(async () => {
      takeover = await race(others, 'pdca_running', TTL, true);
      return takeover.some((a) => a.won);
    }, 10_000);
    expect(takeover.filter((a) => a.won)).toHaveLength(1);
    const now = (await observer.flag('pdca_running'))!;
    expect(now.owner).not.toBe(holder.owner);
    expect(now.token).toBeGreaterThan(deadLease.token);
    expect(now.acquired_at!).toBeGreaterThanOrEqual(deadLease.expires_at!);

    // Clean exit releases: the flag is free afterwards.
    await Promise.all(others.map((r) => r.ask({ cmd: 'exit' })));
    expect((await observer.flag('pdca_running'))?.held ?? false).toBe(false);
  }, 60_000);
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
