/** Child processes for the benches: the built engine (or any script) on a free loopback port. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

/** The repository root (benches run from dist/bench). */
export const ROOT = path.resolve(__dirname, '..', '..');
export const ENGINE_MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

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

/** Starts `script` and resolves once its output matches `ready`; its output is drained after. */
export async function startProcess(script: string, env: Record<string, string>, ready = /"listening"/, timeoutMs = 30_000): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${script} did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (c: Buffer) => {
      out += c.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${out}`));
    });
  });
  proc.stdout!.removeAllListeners('data').resume();
  proc.stderr!.removeAllListeners('data').resume();
  return proc;
}

/** The built engine with bench defaults (no rate limit, no second listener, info logs to see it listen). */
export function startEngine(env: Record<string, string>): Promise<ChildProcess> {
  return startProcess(ENGINE_MAIN, { LOG_LEVEL: 'info', RATE_LIMIT_RPS: '0', COMPAT_PORT: '0', ...env });
}

/** SIGTERM (graceful), SIGKILL if it has not exited after 10 s. */
export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
  });
}
