/**
 * Disk use and the data lifecycle, measured on the built engine (not tests: nothing asserts).
 *
 * - `disk-use`: real rows through the API (decisions on the plugin's route, reputation changes,
 *   memories, training samples), then bytes per row of each table with its indexes, read with
 *   SQLite's `dbstat` from the file; what a farm needs per day at the retention defaults.
 * - `soak`: a farm for SOAK_MINUTES (default 10: 100 bots × 20 ticks/s, plus reputation changes
 *   and training samples) with every retention period shortened to SOAK_RETENTION (2m) and the
 *   prune job every SOAK_PRUNE_INTERVAL (30s). Every minute: the database file and WAL size, the
 *   minute's decide p99, the prune runs. At the end: p99 of the ticks due while a prune ran, and
 *   whether any row younger than its retention is missing (decisions counted in a window,
 *   reputation changes by request id, the newest training samples).
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { percentile } from '../src/modules/metrics';
import { type DatabaseSizes, readDatabaseSizes } from '../src/modules/storage';
import { pinForLoad, type Server, startEngine, stopProcess } from './support';
import { tickLoad } from './tick-load';

const FEATURE_COUNT = 28;
const DAY_S = 86_400;
const MB = 1024 * 1024;

function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'okai-storage-bench-'));
}

/** The plugin's decide body, as in the http bench: one character per bot. */
function decideBody(bot: number): string {
  return JSON.stringify({
    game_state: {
      character: {
        name: `SoakBot${bot}`,
        level: 60,
        hp: 4000,
        max_hp: 5000,
        sp: 300,
        max_sp: 400,
        position: { map: 'prt_fild08', x: 100 + (bot % 50), y: 120 },
        weight: 500,
        max_weight: 3000,
        zeny: 12345,
        job_class: 'Knight',
        is_sitting: false,
      },
      skills: [{ id: 5, name: 'Bash', level: 10, sp_cost: 15 }],
      monsters: [
        { id: 2001, name: 'Poring', level: 1, hp: 50, max_hp: 50, distance: 4, is_aggressive: false, is_attacking_me: false },
        { id: 2002, name: 'Lunatic', level: 3, hp: 60, max_hp: 60, distance: 7, is_aggressive: false, is_attacking_me: false },
      ],
      inventory: [{ id: 501, name: 'Red Potion', amount: 20, type: 'usable' }],
      nearby_players: [{ id: 150001, name: 'Someone', level: 70, distance: 8 }],
      party_members: [],
      timestamp_ms: Date.now(),
    },
  });
}

/** A memory like the engine's own plugin stores (a death, a level-up, a rare pickup, a whisper). */
function memoryEvent(n: number): Record<string, unknown> {
  const kinds = ['death', 'level_up', 'item_pickup', 'whisper'];
  return {
    type: kinds[n % kinds.length],
    location: { map: `prt_fild${String(n % 12).padStart(2, '0')}`, x: (n * 37) % 400, y: (n * 91) % 400 },
    actors: [['Poring', 'Lunatic', 'Fabre', 'Someone'][n % 4]],
    outcome: n % 3 === 0 ? 'victory' : 'fled',
    situation: `hp low near boss #${n}`,
    timestamp: 1_700_000_000_000 + n,
  };
}

function features(n: number): number[] {
  return Array.from({ length: FEATURE_COUNT }, (_, i) => Math.fround(((n * 31 + i * 7) % 97) / 97));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of several routes, read loosely
async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

/** Runs `count` calls of `fn`, `concurrency` at a time. */
async function pool(count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function fmtBytes(n: number): string {
  if (n >= 1024 * MB) return `${(n / 1024 / MB).toFixed(1)} GiB`;
  if (n >= MB) return `${(n / MB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

// ------------------------------------------------------------------ disk-use

export async function runDiskUseBench(): Promise<void> {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'openkore-ai.db');
  const decisions = Number(process.env.DISK_USE_DECISIONS ?? 20_000);
  const bots = 100;
  const server = await startEngine({ DATA_DIR: dataDir, RETENTION_PRUNE_INTERVAL: '0', ML_FLUSH_INTERVAL_MS: '500' });
  try {
    const api = (p: string) => `${server.url}/api/v1${p}`;
    const sessionOf = new Map<number, string>();
    await pool(decisions, 20, async (i) => {
      const r = await post(api('/decide'), JSON.parse(decideBody(i % bots)));
      if (typeof r.json?.session_id === 'string') sessionOf.set(i % bots, r.json.session_id);
    });
    // Reputation changes: 50 players, a request id each (the idempotency key is part of the row).
    await pool(5_000, 10, (i) => post(api('/social/reputation/adjust'), { player_id: 200_000 + (i % 50), player_name: `Player${i % 50}`, delta: i % 3 === 0 ? -2 : 1, reason: i % 2 ? 'helped in a fight' : 'stole a drop', request_id: `disk-use-${i}` }));
    // Memories: a few sessions, typical events.
    const sids = [...sessionOf.values()].slice(0, 10);
    await pool(2_000, 5, (i) => post(api('/memory/store'), { session_id: sids[i % sids.length], event: memoryEvent(i), importance: 0.3 + (i % 7) / 10 }));
    // Training samples: posted (api) and from action feedback (the decision path).
    await pool(100, 5, (i) => post(api('/ml/samples'), { samples: Array.from({ length: 50 }, (_, j) => ({ features: features(i * 50 + j), action: 'ATTACK', success: j % 4 !== 0, reward: 1 })) }));
    await pool(2_000, 10, (i) => post(api('/action_feedback'), { session_id: sessionOf.get(i % bots), action: 'attack_monster', status: i % 5 ? 'success' : 'failed', reason: '', message: '' }));
  } finally {
    await stopProcess(server.proc);
  }
  const sizes: DatabaseSizes = readDatabaseSizes(file);
  const row = (t: string) => sizes.tables.find((x) => x.table === t);
  console.log(`\n${decisions} decisions from ${bots} bots, 5,000 reputation changes (50 players), 2,000 memories, training samples (posted, and from action feedback); sizes from dbstat (table + indexes):\n`);
  console.log('| table | rows | bytes | bytes/row | of which indexes |');
  console.log('|---|---|---|---|---|');
  for (const t of sizes.tables) {
    if (t.rows === 0) continue;
    console.log(`| ${t.table} | ${t.rows} | ${fmtBytes(t.bytes)} | ${Math.round(t.bytes / t.rows)} | ${fmtBytes(t.index_bytes)} |`);
  }
  console.log(`\nfile ${fmtBytes(fileSize(file))}, ${sizes.page_count} pages of ${sizes.page_size} B, ${sizes.freelist_pages} free, auto_vacuum ${sizes.auto_vacuum}`);

  // What a farm keeps at the defaults: the decision log is the only table that grows with time
  // at a farm's rate; the others are bounded by count (training, per-player history, PDCA) or by
  // the number of sessions and players.
  const perDecision = (row('decision_log')?.bytes ?? 0) / Math.max(1, row('decision_log')?.rows ?? 1);
  const perSample = (row('training_data')?.bytes ?? 0) / Math.max(1, row('training_data')?.rows ?? 1);
  const perInteraction = (row('interaction_history')?.bytes ?? 0) / Math.max(1, row('interaction_history')?.rows ?? 1);
  const cap = 20_000_000;
  console.log('\nA farm at the defaults (decision_log 7 days and at most 20,000,000 rows; training_data 250,000 + 250,000 rows; history per player 100 rows or 30 days):\n');
  console.log('| bots × decisions/s | decision_log written per day | decision_log kept | covering | training_data kept (max) |');
  console.log('|---|---|---|---|---|');
  for (const [n, rate] of [
    [10, 0.5],
    [100, 0.5],
    [10, 10],
    [100, 10],
    [100, 20],
  ] as const) {
    const rowsPerDay = n * rate * DAY_S;
    const keptRows = Math.min(rowsPerDay * 7, cap);
    const covering = keptRows / rowsPerDay >= 1 ? `${(keptRows / rowsPerDay).toFixed(1)} days` : `${((keptRows / rowsPerDay) * 24).toFixed(1)} hours`;
    console.log(`| ${n} × ${rate} | ${fmtBytes(rowsPerDay * perDecision)} | ${fmtBytes(keptRows * perDecision)} | ${covering} | ${fmtBytes(500_000 * perSample)} |`);
  }
  console.log(`\nper reputation interaction: ${Math.round(perInteraction)} B (a player keeps at most 100 older than 30 days)`);
  fs.rmSync(dataDir, { recursive: true, force: true });
}

// ------------------------------------------------------------------ soak

interface Minute {
  decisions: number;
  latencies: number[];
  fileBytes: number;
  walBytes: number;
  /** The engine's own worst event-loop lag over its metrics window, read at the end of the period (ms). */
  loopLagMaxMs?: number | null;
}

interface PruneRun {
  endedAt: number;
  durationMs: number;
  deleted: number;
}

export async function runSoakBench(): Promise<void> {
  const bots = Number(process.env.SOAK_BOTS ?? 100);
  const ticks = Number(process.env.SOAK_TICKS ?? 20);
  const minutes = Number(process.env.SOAK_MINUTES ?? 10);
  const retention = process.env.SOAK_RETENTION ?? '2m';
  const pruneEvery = process.env.SOAK_PRUNE_INTERVAL ?? '30s';
  const reportMs = Number(process.env.SOAK_REPORT_SECONDS ?? 60) * 1000;
  const retentionMs = parseDuration(retention);
  const trainWindow = Number(process.env.SOAK_TRAINING_ROWS ?? 20_000);

  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'openkore-ai.db');
  const placement = pinForLoad();
  console.log(`${bots} bots × ${ticks} ticks/s for ${minutes} min; retention ${retention} (decision_log, interaction_history, snapshots), prune every ${pruneEvery}; ${placement.describe}`);
  const server: Server = await startEngine(
    {
      DATA_DIR: dataDir,
      RETENTION_DECISION_LOG: retention,
      RETENTION_INTERACTIONS: retention,
      RETENTION_INTERACTIONS_KEEP: '10',
      RETENTION_SNAPSHOTS: retention,
      RETENTION_PRUNE_INTERVAL: pruneEvery,
      ML_TRAIN_MAX_SAMPLES: String(trainWindow),
      RETENTION_TRAINING_ROWS: String(trainWindow),
      RETENTION_TRAINING_FEEDBACK_ROWS: String(trainWindow),
    },
    placement.serverCpus,
  );
  // The engine logs each prune run that deleted something: the bench lines up its ticks with them.
  const runs: PruneRun[] = [];
  let partial = '';
  server.proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.includes('"prune run"')) continue;
      try {
        const entry = JSON.parse(line) as { time: string; duration_ms: number; deleted: number };
        runs.push({ endedAt: Date.parse(entry.time), durationMs: entry.duration_ms, deleted: entry.deleted });
      } catch {
        /* not a JSON line */
      }
    }
  });

  const api = (p: string) => `${server.url}/api/v1${p}`;
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  const samples: Array<{ due: number; ms: number; status: number }> = [];
  /** Decisions answered per bot: each one advanced its session's state by one version. */
  const answeredByBot: number[] = [];
  const acked: Array<{ id: string; at: number }> = [];
  let sideErrors = 0;
  let trainingPosted = 0;
  let usablePosted = 0;

  // Side traffic, bounded by the same end: 20 reputation changes/s, 100 training samples/s.
  const side = (async () => {
    let i = 0;
    while (Date.now() < endAt) {
      const id = `soak-${i}`;
      const at = Date.now();
      const r = await post(api('/social/reputation/adjust'), { player_id: 300_000 + (i % 50), player_name: `Player${i % 50}`, delta: i % 3 ? 1 : -1, reason: 'soak', request_id: id }).catch(() => ({ status: 0, json: null }));
      if (r.status === 200) acked.push({ id, at });
      else sideErrors++;
      if (i % 5 === 0) {
        const samples = Array.from({ length: 25 }, (_, j) => ({ features: features(i + j), action: 'ATTACK', success: j % 4 !== 0 }));
        const t = await post(api('/ml/samples'), { samples }).catch(() => ({ status: 0, json: null }));
        if (t.status === 202 && t.json?.data?.accepted === samples.length) {
          trainingPosted += samples.length;
          usablePosted += samples.filter((x) => x.success).length;
        } else sideErrors++;
      }
      i++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  // Every reporting period: the file's size (read from outside: costs the engine nothing).
  const table: Minute[] = [];
  // and the engine's own event-loop lag, to tell a stall of the engine from one of this machine.
  const reporter = setInterval(() => {
    const m = Math.floor((Date.now() - started) / reportMs);
    const slot = (table[m - 1] ??= { decisions: 0, latencies: [], fileBytes: 0, walBytes: 0 });
    slot.fileBytes = fileSize(file);
    slot.walBytes = fileSize(`${file}-wal`);
    fetch(api('/metrics'))
      .then((r) => r.json() as Promise<{ data?: { resource_usage?: { event_loop_lag_max_ms?: number | null } } }>)
      .then((b) => (slot.loopLagMaxMs = b.data?.resource_usage?.event_loop_lag_max_ms ?? null))
      .catch(() => undefined);
  }, reportMs);

  const load = await tickLoad({
    url: `${server.url}/api/v1/decide`,
    sessions: bots,
    ticksPerSecond: ticks,
    seconds: minutes * 60,
    body: decideBody,
    onSample: (due, ms, status, bot) => {
      samples.push({ due: started + due, ms, status });
      if (status === 200) answeredByBot[bot] = (answeredByBot[bot] ?? 0) + 1;
      const m = Math.floor(due / reportMs);
      const slot = (table[m] ??= { decisions: 0, latencies: [], fileBytes: 0, walBytes: 0 });
      slot.decisions += 1;
      slot.latencies.push(ms);
    },
  });
  const loadEnded = Date.now();
  clearInterval(reporter);
  await side;
  await stopProcess(server.proc);

  console.log(`\n| ${reportMs === 60_000 ? 'minute' : `${reportMs / 1000} s period`} | decisions | p99 ms | max ms | engine loop lag max ms | db file | WAL | prune runs (deleted rows, ms) |`);
  console.log('|---|---|---|---|---|---|---|---|');
  table.forEach((slot, m) => {
    const sorted = Float64Array.from(slot.latencies).sort();
    const from = started + m * reportMs;
    const inMinute = runs.filter((r) => r.endedAt >= from && r.endedAt < from + reportMs);
    const pr = inMinute.map((r) => `${r.deleted} in ${r.durationMs}`).join('; ') || '—';
    console.log(
      `| ${m + 1} | ${slot.decisions} | ${(percentile(sorted, 99) ?? 0).toFixed(2)} | ${(sorted.at(-1) ?? 0).toFixed(2)} | ${slot.loopLagMaxMs == null ? '—' : slot.loopLagMaxMs.toFixed(1)} | ${slot.fileBytes ? fmtBytes(slot.fileBytes) : '—'} | ${slot.fileBytes ? fmtBytes(slot.walBytes) : '—'} | ${pr} |`,
    );
  });
  const whilePruning = samples.filter((s) => runs.some((r) => s.due >= r.endedAt - r.durationMs && s.due <= r.endedAt)).map((s) => s.ms);
  const sortedPruning = Float64Array.from(whilePruning).sort();
  console.log(
    `\noverall: ${load.total} decisions, p50 ${load.p50} ms, p99 ${load.p99} ms, max ${load.max} ms, ${load.errors} errors, ${load.non2xx} non-2xx; ` +
      `while a prune ran: ${whilePruning.length} decisions, p99 ${(percentile(sortedPruning, 99) ?? 0).toFixed(2)} ms, max ${(sortedPruning.at(-1) ?? 0).toFixed(2)} ms; ` +
      `${runs.length} prune runs deleted ${runs.reduce((s, r) => s + r.deleted, 0)} rows; side traffic: ${acked.length} reputation changes, ${trainingPosted} training samples, ${sideErrors} errors`,
  );

  // No row younger than its retention is missing. The engine stopped (its last flush done), so
  // the check is on the file, against what the bench was told was written.
  const db = new Database(file, { fileMustExist: true });
  try {
    const margin = 5_000;
    const windowFrom = loadEnded - retentionMs + margin;
    const windowTo = loadEnded - margin;
    const answered = samples.filter((s) => s.status === 200 && s.due >= windowFrom && s.due + s.ms <= windowTo).length;
    const logged = (db.prepare('SELECT COUNT(*) AS n FROM decision_log WHERE created_at >= ? AND created_at <= ?').get(windowFrom, windowTo) as { n: number }).n;
    const oldest = (db.prepare('SELECT MIN(created_at) AS t FROM decision_log').get() as { t: number | null }).t;
    const ids = new Set((db.prepare('SELECT request_id FROM interaction_history WHERE request_id LIKE ?').all('soak-%') as Array<{ request_id: string }>).map((r) => r.request_id));
    const young = acked.filter((a) => a.at >= loadEnded - retentionMs + margin);
    const missing = young.filter((a) => !ids.has(a.id)).length;
    const usable = (db.prepare('SELECT COUNT(*) AS n FROM training_data WHERE success = 1').get() as { n: number }).n;
    console.log('\nrows younger than their retention:');
    console.log(`- decision_log: ${answered} decisions answered between ${new Date(windowFrom).toISOString()} and ${new Date(windowTo).toISOString()}, ${logged} rows in that window (${answered <= logged ? 'none missing' : `${answered - logged} MISSING`}); oldest row ${oldest === null ? '—' : `${((loadEnded - oldest) / 1000).toFixed(0)} s before the end`} (retention ${retention} + prune period ${pruneEvery})`);
    // Exact, with no clock involved: each answered decide made one state version and one row
    // stamped with it, so per bot the kept rows must be every version from the oldest kept to
    // the last answered, and the oldest kept must be older than the retention window.
    const perSession = db
      .prepare(
        `SELECT p.character_name AS name, COUNT(*) AS n, MIN(d.state_version) AS lo, MAX(d.state_version) AS hi, MIN(d.created_at) AS oldest
           FROM decision_log d JOIN player_sessions p ON p.session_id = d.session_id GROUP BY d.session_id`,
      )
      .all() as Array<{ name: string; n: number; lo: number; hi: number; oldest: number }>;
    const gaps = perSession.filter((r) => r.n !== r.hi - r.lo + 1).length;
    const notLast = perSession.filter((r) => r.hi !== answeredByBot[Number(/^SoakBot(\d+)$/.exec(r.name)?.[1] ?? -1)]).length;
    const short = perSession.filter((r) => r.oldest > windowFrom).length;
    const absent = bots - perSession.length;
    const exact = gaps + notLast + short + absent === 0;
    console.log(
      `- decision_log by state version: ${perSession.length} bots; ${exact ? 'every version from the oldest kept row to the last answered decision is there, and each bot\'s oldest kept row is older than the window' : `${gaps} with a gap, ${notLast} whose last row is not the last answered version, ${short} whose rows do not reach back to the window, ${absent} with no rows: MISSING`}`,
    );
    console.log(`- interaction_history: ${young.length} acknowledged changes younger than ${retention}, ${missing === 0 ? 'none missing' : `${missing} MISSING`}`);
    console.log(`- training_data: ${usable} usable samples kept of ${usablePosted} posted (${trainingPosted} with the failed ones), window ${trainWindow} (${usable >= Math.min(trainWindow, usablePosted) ? 'the newest are all there' : 'FEWER than the window'})`);
  } finally {
    db.close();
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}

function parseDuration(v: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(v);
  if (!m) throw new Error(`not a duration: ${v}`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}
