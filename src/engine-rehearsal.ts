import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createEngine, type Engine } from './app.factory';
import { driveLoopback, type LoopbackRequest } from './common/http/loopback.warmup';
import type { AppConfig } from './config/app-config';
import { pluginShapedDecideBody } from './modules/decision';
import { DEFAULT_MODEL_FILE } from './modules/ml';

/** Keep-alive connections of the rehearsal: a farm's herd opens one per bot, and accepting them is code too. */
const CONNECTIONS = 64;
/** Characters the rehearsal plays: each is seen for the first time once, then ticks on. */
const CHARACTERS = 128;
/** One request in this many is the plugin's action_feedback (docs/field-plugin.md §4.4). */
const FEEDBACK_EVERY = 8;
/** A rehearsal's temporary folder: this prefix, the process id, a random tail. */
const PREFIX = 'openkore-ai-rehearsal-';
const ORPHAN = new RegExp(`^${PREFIX}(\\d+)-`);
/** Bound on one rehearsal request: a rehearsal never holds the boot up for long. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface RehearsalReport {
  /** Requests answered (any status) and how many of them were not 200 (both 0 when the drive failed). */
  readonly requests: number;
  readonly failed: number;
  readonly duration_ms: number;
  /** Why the rehearsal stopped early; the engine starts anyway. */
  readonly error?: string;
}

/**
 * What a rehearsal engine is: the operator's engine with everything that reaches beyond it cut
 * off — its own SQLite file in a temporary folder (never the operator's database, SQLite or
 * PostgreSQL), its own model folder, a private loopback port, no second listener, no lease, no LLM,
 * no scheduled PDCA, no rate limits, no disk thresholds, no warm-up of its own — and the same
 * code, rules, data tables and macros.
 */
export function rehearsalConfig(config: AppConfig, dir: string): AppConfig {
  return {
    ...config,
    host: '127.0.0.1',
    port: 0,
    compatPort: 0,
    dataDir: dir,
    databasePath: path.join(dir, 'openkore-ai.db'),
    databaseUrl: undefined,
    modelDir: path.join(dir, 'models'),
    instanceId: `${config.instanceId}-rehearsal`,
    advertisedUrl: undefined,
    sessionLeases: false,
    rateLimitPerSecond: 0,
    sessionRateLimitPerSecond: 0,
    pdcaIntervalMs: 0,
    pdcaLlmUrl: undefined,
    pdcaLlmApiKey: undefined,
    storageLowDiskBytes: 0,
    storageCriticalDiskBytes: 0,
    warmupRounds: 0,
  };
}

/**
 * Cold start, the part below the services: each module's warm-up runs its own code on throwaway
 * instances, but the layer a request crosses to reach it — Nest's route, its guards and pipes,
 * the session turn, the reply, the accepted connections — runs for the first time when the farm
 * reconnects after a deploy, and a herd of 100 bots then waits 0.3–0.5 s (bench/README.md, "Cold
 * start"). Warming it from inside would count, log and store the warm-up's requests in the
 * operator's engine. So before the operator's engine is created, a whole second engine of the
 * same code is started on throwaway data (`rehearsalConfig`) and driven by `requests`
 * field-plugin-shaped requests over real keep-alive connections, then shut down and deleted.
 * V8 keeps what it learned per function, not per instance: the operator's engine starts with
 * that code already optimized, and nothing of the rehearsal in its data, counters or logs.
 * Never fails the boot: warming is an optimisation; a failure is reported and the engine starts.
 */
export async function rehearseEngine(config: AppConfig, requests: number, tmpRoot = os.tmpdir()): Promise<RehearsalReport> {
  const started = performance.now();
  let drive = { answered: 0, notOk: 0 };
  let dir: string | undefined;
  let engine: Engine | undefined;
  let error: string | undefined;
  try {
    removeOrphans(tmpRoot);
    dir = fs.mkdtempSync(path.join(tmpRoot, `${PREFIX}${process.pid}-`));
    seedDefaultModel(config.modelDir, path.join(dir, 'models'));
    engine = await createEngine(rehearsalConfig(config, dir), { logDestination: discard() });
    const { port } = await engine.listen();
    // A failed exchange ends the drive; the report then carries the error, not the counts.
    drive = await driveLoopback(port, { connections: CONNECTIONS, requests, request: (i) => rehearsalRequest(config.token, i), timeoutMs: REQUEST_TIMEOUT_MS });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  } finally {
    await engine?.shutdown('rehearsal over').catch((err: unknown) => (error ??= `shutdown: ${String(err)}`));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
  return { requests: drive.answered, failed: drive.notOk, duration_ms: Math.round(performance.now() - started), ...(error ? { error } : {}) };
}

/**
 * Folders of rehearsals whose process is gone (killed during its boot): removed by the next boot.
 * The process id in the name tells; a folder of a live process is left alone.
 */
function removeOrphans(tmpRoot: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(tmpRoot);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = ORPHAN.exec(entry)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    fs.rmSync(path.join(tmpRoot, entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The operator's default model, when there is one, so the rehearsal does not generate its own (~0.3 s). */
function seedDefaultModel(from: string, to: string): void {
  const source = path.join(from, DEFAULT_MODEL_FILE);
  if (!fs.existsSync(source)) return;
  fs.mkdirSync(to, { recursive: true });
  fs.copyFileSync(source, path.join(to, DEFAULT_MODEL_FILE));
}

/** The i-th request: the plugin's decide for one of the characters, or now and then its action_feedback. */
function rehearsalRequest(token: string | undefined, i: number): LoopbackRequest {
  const feedback = i % FEEDBACK_EVERY === FEEDBACK_EVERY - 1;
  return {
    path: feedback ? '/api/v1/action_feedback' : '/api/v1/decide',
    body: Buffer.from(
      feedback
        ? JSON.stringify({ action: 'attack_monster', status: i % 2 ? 'success' : 'failed', reason: 'rehearsal', message: '' })
        : pluginShapedDecideBody(`rehearsal-${i % CHARACTERS}`, i),
    ),
    headers: token ? { authorization: `Bearer ${token}` } : undefined,
  };
}

/** The rehearsal's logs go nowhere: none of it is the operator's engine. */
function discard(): { write(line: string): void } {
  return { write: () => undefined };
}
