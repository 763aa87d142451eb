import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEngine, type Engine, type EngineOptions } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MAIN_JS = path.join(ROOT, 'dist', 'src', 'main.js');

export function tempDir(prefix = 'okai-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningEngine {
  engine: Engine;
  url: string;
  compatUrl: string | null;
  dataDir: string;
  stop(): Promise<void>;
}

/** An engine in this process on ephemeral ports with its own database, over real HTTP. */
export async function startEngine(env: Record<string, string> = {}, options: EngineOptions = {}): Promise<RunningEngine> {
  const dataDir = env.DATA_DIR ?? tempDir();
  const compat = env.COMPAT_PORT ?? '0';
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    RATE_LIMIT_RPS: '0',
    SESSION_RATE_LIMIT_RPS: '0',
    ...env,
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
export async function spawnEngine(env: Record<string, string>, timeoutMs = 45_000, options: { wrap?: string[] } = {}): Promise<SpawnedEngine> {
  if (!fs.existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} missing: run "npm run build" first`);
  // `wrap`: a command prefix that execs the engine (e.g. inside another mount namespace); same pid.
  const [command, ...args] = [...(options.wrap ?? []), process.execPath, MAIN_JS];
  // Port 0 unless the test names one: the engine reports the port it got in its "listening" line.
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', RATE_LIMIT_RPS: '0', SESSION_RATE_LIMIT_RPS: '0', COMPAT_PORT: '0', PORT: '0', ...env },
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
