/**
 * Async resources (promises, ticks, timers) the engine creates per POST /decide, counted with an
 * async_hooks `init` hook: unlike CPU time it does not depend on how busy the machine is, and
 * every promise costs AsyncLocalStorage's hooks on top of its own allocation. The engine runs
 * in this process, driven over a raw keep-alive socket (callbacks, no promise of the client's
 * own counted), warmed by 300 requests, then counted over BENCH_ASYNC_REQUESTS (2,000). Each
 * way in (front door, Fastify) with the composed route executor and with Nest's
 * (HTTP_FAST_ROUTES=0). Not a test: nothing asserts.
 */
import { createHook } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEngine } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';

const REQUESTS = Number(process.env.BENCH_ASYNC_REQUESTS ?? 2_000);

function body(i: number): string {
  return JSON.stringify({
    game_state: {
      character: { name: `AsyncBot${i % 10}`, level: 60, hp: 4000, max_hp: 5000, sp: 300, max_sp: 400, position: { map: 'prt_fild08', x: 100, y: 120 }, weight: 500, max_weight: 3000, zeny: 1, job_class: 'Knight', is_sitting: false },
      skills: [],
      monsters: [{ id: 2001, name: 'Poring', level: 1, hp: 50, max_hp: 50, distance: 4, is_aggressive: false, is_attacking_me: false }],
      inventory: [],
      nearby_players: [],
      party_members: [],
    },
  });
}

const counts = new Map<string, number>();
let counting = false;
const hook = createHook({
  init(_id, type) {
    if (counting) counts.set(type, (counts.get(type) ?? 0) + 1);
  },
});

async function countPerRequest(env: Record<string, string>, url: string): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-bench-async-'));
  const engine = await createEngine(
    loadConfig({ LOG_LEVEL: 'silent', RATE_LIMIT_RPS: '0', SESSION_RATE_LIMIT_RPS: '0', COMPAT_PORT: '0', WARMUP_ROUNDS: '20', ...env, DATA_DIR: dir, PORT: '0' }),
  );
  const socket = net.connect((await engine.listen()).port, '127.0.0.1');
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let buffered = '';
    let answered: (() => void) | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(buffered);
      if (end === -1 || !length || buffered.length < end + 4 + Number(length[1])) return;
      buffered = buffered.slice(end + 4 + Number(length[1]));
      const done = answered;
      answered = undefined;
      done?.();
    });
    const send = (i: number) =>
      new Promise<void>((resolve) => {
        answered = resolve;
        const b = body(i);
        socket.write(`POST ${url} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
      });
    for (let i = 0; i < 300; i++) await send(i);
    counts.clear();
    counting = true;
    // The client's own promise per request (`send`) is taken off below.
    for (let i = 0; i < REQUESTS; i++) await send(i);
    counting = false;
    counts.set('PROMISE', (counts.get('PROMISE') ?? 0) - REQUESTS);
    return Object.fromEntries([...counts].filter(([, n]) => n >= REQUESTS / 100).map(([type, n]) => [type, Math.round((n / REQUESTS) * 100) / 100]));
  } finally {
    counting = false;
    socket.destroy();
    await engine.shutdown('bench');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function runHttpAsyncBench(): Promise<void> {
  hook.enable();
  const rows: Array<Record<string, unknown>> = [];
  try {
    for (const [way, url] of [
      ['front door', '/api/v1/decide'],
      ['Fastify', '/api/v1/decide?via=fastify'],
    ]) {
      for (const [executor, env] of [
        ['composed', {}],
        ["Nest's", { HTTP_FAST_ROUTES: '0' }],
      ] as const) {
        rows.push({ way, executor, ...(await countPerRequest(env, url)) });
      }
    }
  } finally {
    hook.disable();
  }
  console.table(rows);
  console.log(`POST /api/v1/decide, one keep-alive connection, ${REQUESTS} requests after 300; async resources created per request, by type (the client's own promise taken off)`);
}
