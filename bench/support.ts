/** Child processes for the benches: the built engine (or any script) on a free loopback port. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root (benches run from dist/bench). */
export const ROOT = path.resolve(__dirname, '..', '..');
export const ENGINE_MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
/**
 * The Node flags `npm start` runs the engine with (package.json), so the bench measures the same
 * process; `BENCH_ENGINE_FLAGS` adds some (e.g. `--cpu-prof --trace-gc` to look inside a run).
 */
export const ENGINE_NODE_FLAGS = ['--max-semi-space-size=64', '--min-semi-space-size=16', '--no-memory-reducer', ...(process.env.BENCH_ENGINE_FLAGS ?? '').split(' ').filter(Boolean)];

/**
 * Where the servers and the load generator run. On a machine with 2+ cores and `taskset`,
 * the server under test gets core 0 alone and this process (the load generator) the
 * others, so a server is not measured while fighting its own client for a core; each
 * server gets the same single core, so the engine/bare comparison stays fair.
 */
export interface Placement {
  /** CPU list for servers (`taskset -c`), or undefined when not pinned. */
  serverCpus?: string;
  clientCpus?: string;
  describe: string;
}

let placement: Placement | undefined;

export function pinForLoad(): Placement {
  if (placement) return placement;
  const cores = os.cpus().length;
  placement = { describe: `not pinned: servers and load generator share ${cores} core(s)` };
  if (cores < 2 || process.env.BENCH_NO_PIN === '1') return placement;
  const clientCpus = cores === 2 ? '1' : `1-${cores - 1}`;
  try {
    // -a: every thread of this process (libuv pool, V8 workers), not only the main one.
    execFileSync('taskset', ['-a', '-p', '-c', clientCpus, String(process.pid)], { stdio: 'ignore' });
    placement = { serverCpus: '0', clientCpus, describe: `server under test pinned to core 0, load generator to core(s) ${clientCpus}` };
  } catch {
    placement = { describe: 'not pinned (taskset unavailable): servers and load generator share the cores' };
  }
  return placement;
}

/** A server process and where it listens. */
export interface Server {
  proc: ChildProcess;
  port: number;
  url: string;
}

/** The port a server announced: the engine's JSON "listening" line, or "listening http://host:port". */
const LISTENING_PORT = /"listening"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"listening"|listening http:\/\/[^\s:]+:(\d+)/;

/**
 * Starts a server script with PORT=0 and reads the port the OS gave it from its "listening"
 * line, so no other process can take a port picked in advance before it binds.
 */
export async function startServer(script: string, env: Record<string, string>, cpus?: string, nodeFlags: string[] = []): Promise<Server> {
  const node = [process.execPath, ...nodeFlags, script];
  const [command, args] = cpus === undefined ? [node[0], node.slice(1)] : ['taskset', ['-c', cpus, ...node]];
  const proc = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Generous: on a loaded machine module loading and the warm-up take many times their quiet-machine 3 s.
  const timeoutMs = Number(process.env.BENCH_START_TIMEOUT_MS ?? 120_000);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${script} did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = LISTENING_PORT.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1] ?? m[2] ?? m[3]));
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${out}`));
    });
  });
  // Drained from here on: a full pipe would block the server.
  proc.stdout!.removeAllListeners('data').resume();
  proc.stderr!.removeAllListeners('data').resume();
  proc.removeAllListeners('exit');
  return { proc, port, url: `http://127.0.0.1:${port}` };
}

/**
 * Engine settings of a whole bench run, `BENCH_ENGINE_ENV="ML_CONFIDENCE_PCT=100 SESSION_LEASES=1"`
 * (space-separated NAME=value): to compare one setting's cost with the same bench.
 */
export const ENGINE_ENV: Record<string, string> = Object.fromEntries(
  (process.env.BENCH_ENGINE_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_ENGINE_ENV: "${pair}" is not NAME=value`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
);

/** The built engine with bench defaults (no rate limit, no second listener, info logs to see it listen). */
export function startEngine(env: Record<string, string>, cpus?: string, main = ENGINE_MAIN): Promise<Server> {
  return startServer(main, { LOG_LEVEL: 'info', RATE_LIMIT_RPS: '0', SESSION_RATE_LIMIT_RPS: '0', COMPAT_PORT: '0', ...ENGINE_ENV, ...env }, cpus, ENGINE_NODE_FLAGS);
}

let clockTicks: number | undefined;

/** CPU time (user + system, all threads) a process has used so far, in seconds; undefined off Linux. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** SIGTERM (graceful), SIGKILL if it has not exited after 10 s. */
export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
    // One paused by `drivenAlone` would hold the SIGTERM until it runs again.
    proc.kill('SIGCONT');
    setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
  });
}

/** BENCH_FREEZE_IDLE=0: the servers not being driven keep running (the arrangement before 2026-12-03 19:40 UTC). */
export const FREEZE_IDLE = process.env.BENCH_FREEZE_IDLE !== '0';

/**
 * Runs `work` (driving `active`) with every other server paused (SIGSTOP), so the one driven has
 * the pinned core to itself. An idle engine is not idle: its 2 ms event-loop sampler, its periodic
 * flushes and scans, a collection of its heap all run between the driven server's requests and
 * land in that server's tail and event-loop delay, whichever server it is. `active` was itself
 * paused a moment ago: its timers fire late once, so the work starts only after that is over and
 * the second it happened in (the engine's event-loop slots are one second wide) is past.
 */
export async function drivenAlone<T>(active: Server, servers: readonly Server[], work: () => Promise<T>): Promise<T> {
  if (!FREEZE_IDLE) return work();
  const others = servers.filter((s) => s !== active);
  for (const s of others) s.proc.kill('SIGSTOP');
  active.proc.kill('SIGCONT');
  try {
    await new Promise((r) => setTimeout(r, 250));
    await new Promise((r) => setTimeout(r, 1_050 - (Date.now() % 1_000)));
    return await work();
  } finally {
    for (const s of others) s.proc.kill('SIGCONT');
  }
}

/** A bench file run by itself (`node dist/bench/x.bench.js`): runs its suite, then exits (1 on an error). */
export function runAsScript(mod: NodeModule, run: () => Promise<void>): void {
  if (require.main !== mod) return;
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
