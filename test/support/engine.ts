import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEngine, type Engine, type EngineOptions } from '../../src/app.factory';
import type { PgTestServer } from '../../src/common/database/pg.test-kit';
import { loadConfig } from '../../src/config/app-config';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MAIN_JS = path.join(ROOT, 'dist', 'src', 'main.js');

export function tempDir(prefix = 'okai-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A port nothing listens on, for a test that must name one (COMPAT_PORT, a balancer). Taken
 * below the kernel's ephemeral range: a port from that range, once released, can be handed
 * straight back to the engine's own `PORT=0` listener, which then fails with EADDRINUSE on the
 * port named for it.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  const lowest = 10_000;
  for (let attempt = 0; attempt < 50 && low > lowest; attempt++) {
    const port = lowest + Math.floor(Math.random() * (low - lowest));
    if (await canListen(port)) return port;
  }
  return listenOn(0); // no room below the range: the kernel's choice
}

/** The lowest port of the kernel's ephemeral range (Linux's setting, else IANA's 49152). */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low)) return low;
  } catch {
    // not Linux
  }
  return 49_152;
}

function canListen(port: number): Promise<boolean> {
  return listenOn(port).then(
    () => true,
    () => false,
  );
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

export interface RunningEngine {
  engine: Engine;
  url: string;
  compatUrl: string | null;
  dataDir: string;
  /** The PostgreSQL database the engine runs on; undefined on SQLite. */
  databaseUrl: string | undefined;
  stop(): Promise<void>;
}

export interface StartOptions extends EngineOptions {
  /**
   * Run the engine on PostgreSQL: a fresh database of this server (pg.test-kit's
   * `createDatabase()`), the same one again for an engine restarted with the same DATA_DIR.
   */
  postgres?: PgTestServer;
}

/** The PostgreSQL database of each DATA_DIR, so an engine restarted on a DATA_DIR finds its data. */
const databaseOfDataDir = new Map<string, string>();

/**
 * The database an engine of `dataDir` runs on: `env.DATABASE_URL` as given; a database of
 * `postgres`; or, when this test process has DATABASE_URL (a server where the user may CREATE
 * DATABASE; e.g. `DATABASE_URL=postgres://… npx jest test/memory.e2e-spec.ts`), a fresh
 * database on that server — every suite then runs its engines on PostgreSQL. Else SQLite.
 */
export async function engineDatabase(dataDir: string, env: Record<string, string>, postgres?: PgTestServer): Promise<string | undefined> {
  if (env.DATABASE_URL !== undefined) return env.DATABASE_URL || undefined;
  const known = databaseOfDataDir.get(dataDir);
  if (known) return known;
  let url: string | undefined;
  if (postgres) url = await postgres.createDatabase('e2e');
  else if (process.env.DATABASE_URL) url = await createDatabaseOn(process.env.DATABASE_URL);
  if (url) databaseOfDataDir.set(dataDir, url);
  return url;
}

async function createDatabaseOn(adminUrl: string): Promise<string> {
  const { Client } = await import('pg');
  const name = `e2e_${process.pid}_${Date.now().toString(36)}_${databaseOfDataDir.size}`;
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** An engine in this process on ephemeral ports with its own database, over real HTTP. */
export async function startEngine(env: Record<string, string> = {}, options: StartOptions = {}): Promise<RunningEngine> {
  const dataDir = env.DATA_DIR ?? tempDir();
  const compat = env.COMPAT_PORT ?? '0';
  const databaseUrl = await engineDatabase(dataDir, env, options.postgres);
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    RATE_LIMIT_RPS: '0',
    SESSION_RATE_LIMIT_RPS: '0',
    // A short warm-up: suites start many engines (the warm-up's own suite sets its rounds).
    WARMUP_ROUNDS: '20',
    ...env,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    DATA_DIR: dataDir,
    PORT: env.PORT ?? '0',
    COMPAT_PORT: compat === 'auto' ? String(await freePort()) : compat,
  });
  const engine = await createEngine(config, options);
  const { port, compatPort } = await engine.listen();
  return {
    engine,
    url: `http://127.0.0.1:${port}`,
    compatUrl: compatPort ? `http://127.0.0.1:${compatPort}` : null,
    dataDir,
    databaseUrl,
    stop: () => engine.shutdown('test'),
  };
}

const liveChildren = new Set<ChildProcess>();
// A failed or timed-out test must not leave engines running behind the suite.
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export interface SpawnedEngine {
  proc: ChildProcess;
  url: string;
  port: number;
  compatPort: number | null;
  logs: string[];
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The built engine (`dist/`) as a real child process; resolves once it logs that it listens. */
export async function spawnEngine(env: Record<string, string>, timeoutMs = 45_000, options: { wrap?: string[]; postgres?: PgTestServer } = {}): Promise<SpawnedEngine> {
  if (!fs.existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} missing: run "npm run build" first`);
  // Processes sharing a DATA_DIR share its database (on PostgreSQL: the DATA_DIR's database).
  if (env.DATA_DIR !== undefined && (options.postgres || process.env.DATABASE_URL)) {
    const databaseUrl = await engineDatabase(env.DATA_DIR, env, options.postgres);
    if (databaseUrl) env = { ...env, DATABASE_URL: databaseUrl };
  }
  // `wrap`: a command prefix that execs the engine (e.g. inside another mount namespace); same pid.
  const [command, ...args] = [...(options.wrap ?? []), process.execPath, MAIN_JS];
  // Port 0 unless the test names one: the engine reports the port it got in its "listening" line.
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', RATE_LIMIT_RPS: '0', SESSION_RATE_LIMIT_RPS: '0', COMPAT_PORT: '0', PORT: '0', WARMUP_ROUNDS: '20', WARMUP_HTTP_REQUESTS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(proc);
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      liveChildren.delete(proc);
      resolve(code);
    }),
  );
  let compatPort: number | null = null;
  let port = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`engine did not start in ${timeoutMs} ms:\n${logs.join('')}`));
    }, timeoutMs);
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      logs.push(text);
      // Whole lines only: a line can arrive in two chunks.
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.includes('"listening"')) continue;
        let listening: { port?: unknown; compat_port?: unknown };
        try {
          listening = JSON.parse(line) as typeof listening;
        } catch {
          continue; // not the engine's JSON line
        }
        if (typeof listening.port !== 'number') continue;
        port = listening.port;
        compatPort = typeof listening.compat_port === 'number' ? listening.compat_port : null;
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited with ${code} before listening:\n${logs.join('')}`));
    });
  });
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    port,
    compatPort,
    logs,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * What became of a spawned engine, for a failure report: running or how it exited, and the last
 * `maxLines` lines it wrote (stdout and stderr as they came).
 */
export function engineReport(engine: Pick<SpawnedEngine, 'proc' | 'url' | 'logs'>, maxLines = 200): string {
  const { proc } = engine;
  const state =
    proc.exitCode !== null ? `exited with code ${proc.exitCode}` : proc.signalCode !== null ? `killed by ${proc.signalCode}` : 'still running';
  const lines = engine.logs.join('').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const shown = lines.slice(-maxLines);
  const cut = lines.length > shown.length ? ` (last ${shown.length} of ${lines.length} lines)` : '';
  return `engine ${engine.url} (pid ${proc.pid}): ${state}; its output${cut}:\n${shown.join('\n')}\n`;
}

/** Runs the built engine to completion (for start-up failures); resolves with code and output. */
export function runEngineToExit(env: Record<string, string>, timeoutMs = 45_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [MAIN_JS], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`engine still running after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = any>(
  url: string,
  init: { method?: string; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, signal: init.signal });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
