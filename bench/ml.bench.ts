/**
 * ML tier benchmark: prediction latency in-process (ModelManager.infer under the MODEL read
 * lock, against a bare onnxruntime run) and over HTTP (the built engine as a child process,
 * keep-alive closed-loop clients timed with the high-resolution clock), then promotion time
 * while clients predict flat out. Traffic goes to 127.0.0.1 only, bounded in time. Not a test:
 * nothing here asserts; it counts failed predictions and prints them.
 */
import { Logger } from '@nestjs/common';
import { runAsScript, startEngine, stopProcess } from './support';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLockManager, LockName } from '../src/common/concurrency';
import type { AppConfig } from '../src/config/app-config';
import { DEFAULT_MODEL_FILE, FEATURE_COUNT } from '../src/modules/ml';
import { writeTestModel } from '../src/modules/ml/ml.test-kit';
import { ModelManager } from '../src/modules/ml';
import { MemoryModelRegistry } from '../src/modules/ml';
import { OnnxModel } from '../src/modules/ml';

const ROOT = path.resolve(__dirname, '..', '..');
const FEATURES = Array.from({ length: FEATURE_COUNT }, (_, i) => (i % 7) / 7);
const PROMOTIONS = 10;

interface Summary {
  n: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1), p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}

const us = (ms: number) => Math.round(ms * 1000 * 10) / 10;
const ms3 = (ms: number) => Math.round(ms * 1000) / 1000;

function prepareModelDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-mlbench-'));
  fs.copyFileSync(path.join(ROOT, 'models', DEFAULT_MODEL_FILE), path.join(dir, DEFAULT_MODEL_FILE));
  for (let i = 0; i < PROMOTIONS; i++) writeTestModel(dir, `candidates/c${i}.onnx`, 'valid', 900 + i);
  return dir;
}

async function inProcess(): Promise<void> {
  const modelDir = prepareModelDir();
  const manager = new ModelManager({ modelDir, mlPromoteTimeoutMs: 30_000 } as AppConfig, createLockManager().resolve(LockName.MODEL), new MemoryModelRegistry());
  try {
    await manager.init();
    const row = Float32Array.from(FEATURES);
    const raw = await OnnxModel.load(fs.readFileSync(path.join(modelDir, DEFAULT_MODEL_FILE)), { path: DEFAULT_MODEL_FILE, origin: 'bench' });
    const time = async (fn: () => Promise<unknown>, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await fn();
        out.push(performance.now() - t);
      }
      return out;
    };
    await time(() => raw.run(row, 1), 2_000);
    await time(() => manager.infer(row), 2_000);
    const rows: Record<string, string | number>[] = [];
    const add = (name: string, s: Summary, extra: Record<string, string | number> = {}) =>
      rows.push({ path: name, n: s.n, 'mean µs': us(s.mean), 'p50 µs': us(s.p50), 'p99 µs': us(s.p99), 'max µs': us(s.max), ...extra });
    add('onnxruntime session.run (no lock)', summarize(await time(() => raw.run(row, 1), 20_000)));
    add('ModelManager.infer (MODEL read lock)', summarize(await time(() => manager.infer(row), 20_000)));

    // 8 callers at once: the read lock lets them overlap.
    const concurrent: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 2_500; i++) {
          const t = performance.now();
          await manager.infer(row);
          concurrent.push(performance.now() - t);
        }
      }),
    );
    const elapsed = performance.now() - started;
    add('ModelManager.infer, 8 concurrent callers', summarize(concurrent), { 'inferences/s': Math.round(concurrent.length / (elapsed / 1000)) });
    await raw.release();

    // Promotions while 8 callers infer flat out.
    let stop = false;
    let failed = 0;
    const during: number[] = [];
    const callers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const t = performance.now();
        try {
          await manager.infer(row);
        } catch {
          failed += 1;
        }
        during.push(performance.now() - t);
      }
    });
    const promote: number[] = [];
    const lockWait: number[] = [];
    const stage: number[] = [];
    for (let i = 0; i < PROMOTIONS; i++) {
      const t0 = performance.now();
      const s = await manager.stage(`candidates/c${i}.onnx`);
      stage.push(performance.now() - t0);
      const r = await manager.promote({ stagingId: s.staging_id });
      promote.push(r.duration_ms);
      lockWait.push(r.lock_wait_ms);
    }
    stop = true;
    await Promise.all(callers);
    add('ModelManager.infer during 10 promotions (8 callers)', summarize(during), { failed });
    console.log('\n### prediction, in-process (default model, one row)');
    console.table(rows);
    printPromotions('in-process', stage, promote, lockWait, failed, manager.version);
  } finally {
    await manager.onApplicationShutdown();
    fs.rmSync(modelDir, { recursive: true, force: true });
  }
}

function printPromotions(where: string, stage: number[], promote: number[], lockWait: number[], failed: number, version: number | null, clientPromote?: number[]): void {
  const rows = [
    { step: 'stage (read file, load, validate; no lock)', ...fmtMs(summarize(stage)) },
    { step: 'promote, server side (registry + lock wait + swap)', ...fmtMs(summarize(promote)) },
    { step: 'promote, MODEL write lock wait', ...fmtMs(summarize(lockWait)) },
  ];
  if (clientPromote) rows.push({ step: 'promote, client round trip', ...fmtMs(summarize(clientPromote)) });
  console.log(`\n### promotion under load, ${where}: ${promote.length} promotions, final version ${version}, failed predictions ${failed}`);
  console.table(rows);
}

function fmtMs(s: Summary): Record<string, number> {
  return { n: s.n, 'mean ms': ms3(s.mean), 'p50 ms': ms3(s.p50), 'p99 ms': ms3(s.p99), 'max ms': ms3(s.max) };
}

interface Reply {
  status: number;
  json: { data?: Record<string, number> } | null;
}

function post(agent: http.Agent, port: number, route: string, body: unknown): Promise<Reply> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: route, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Reply['json'] });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: null });
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `clients` keep-alive closed loops predicting until `until()` says stop; latencies in ms. */
async function predictLoops(port: number, clients: number, until: () => boolean): Promise<{ latencies: number[]; failed: number; elapsed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!until()) {
        const t = performance.now();
        const res = await post(agent, port, '/api/v1/ml/predict', { features: FEATURES }).catch(() => ({ status: 0, json: null }));
        latencies.push(performance.now() - t);
        if (res.status !== 200) failed += 1;
      }
    }),
  );
  agent.destroy();
  return { latencies, failed, elapsed: performance.now() - started };
}

async function overHttp(): Promise<void> {
  const modelDir = prepareModelDir();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'okai-mlbench-data-'));
  const { proc: engine, port } = await startEngine({ COMPAT_PORT: '0', RATE_LIMIT_RPS: '0', LOG_LEVEL: 'info', DATA_DIR: dataDir, MODEL_DIR: modelDir, NODE_ENV: 'production' });
  try {
    const forMs = (ms: number) => {
      const end = performance.now() + ms;
      return () => performance.now() >= end;
    };
    await predictLoops(port, 4, forMs(1_500)); // warm-up
    const rows: Record<string, string | number>[] = [];
    for (const clients of [1, 4]) {
      const r = await predictLoops(port, clients, forMs(4_000));
      const s = summarize(r.latencies);
      rows.push({ clients, n: s.n, 'req/s': Math.round(s.n / (r.elapsed / 1000)), 'p50 ms': ms3(s.p50), 'p99 ms': ms3(s.p99), 'max ms': ms3(s.max), failed: r.failed });
    }
    console.log('\n### prediction over HTTP (POST /api/v1/ml/predict, keep-alive, closed loop, engine in its own process)');
    console.table(rows);

    // Promotions while 4 clients predict flat out.
    let stop = false;
    const load = predictLoops(port, 4, () => stop);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const stage: number[] = [];
    const promote: number[] = [];
    const lockWait: number[] = [];
    const clientPromote: number[] = [];
    let version: number | null = null;
    for (let i = 0; i < PROMOTIONS; i++) {
      const t0 = performance.now();
      const s = await post(agent, port, '/api/v1/ml/model/stage', { model_path: `candidates/c${i}.onnx` });
      stage.push(performance.now() - t0);
      const t1 = performance.now();
      const p = await post(agent, port, '/api/v1/ml/model/promote', { staging_id: s.json?.data?.staging_id });
      clientPromote.push(performance.now() - t1);
      if (p.status !== 200 || !p.json?.data) throw new Error(`promotion failed with ${p.status}`);
      promote.push(p.json.data.duration_ms);
      lockWait.push(p.json.data.lock_wait_ms);
      version = p.json.data.version;
      // Let the clients run on each version for a moment.
      const until = performance.now() + 100;
      while (performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    }
    stop = true;
    const during = await load;
    agent.destroy();
    const s = summarize(during.latencies);
    console.log(`\npredictions over HTTP during the promotions: n ${s.n}, p50 ${ms3(s.p50)} ms, p99 ${ms3(s.p99)} ms, max ${ms3(s.max)} ms, failed ${during.failed}`);
    printPromotions('over HTTP (4 clients predicting)', stage, promote, lockWait, during.failed, version, clientPromote);
  } finally {
    await stopProcess(engine);
    fs.rmSync(modelDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runMlBench(): Promise<void> {
  // The in-process manager logs through Nest's default logger: keep the tables readable.
  Logger.overrideLogger(['error', 'warn']);
  try {
    await inProcess();
  } finally {
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  }
  await overHttp();
}

runAsScript(module, runMlBench);
