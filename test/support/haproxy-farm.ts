import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { until } from '../../src/common/testing/wait.test-kit';
import { freePort, ROOT, spawnEngine, type SpawnedEngine } from './engine';
import type { EngineDatabase } from './engine-database';
import { pluginGameState } from './game-state';

const LEASE_TTL_MS = 2_000;
const BOTS = 50;
const TICKS_PER_SECOND = 5;
const PERIOD_MS = 1000 / TICKS_PER_SECOND;
/** Every this many ticks a bot also records a reputation change (acknowledged = 200). */
const ADJUST_EVERY = 4;
/** The farm scenario's bound, for the suites' `it`. */
export const HAPROXY_TEST_TIMEOUT_MS = 240_000;

function haproxyBinary(): string {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) if (fs.existsSync(candidate)) return candidate;
  throw new Error('haproxy is not installed: apt-get install -y haproxy (.ci/run installs it when missing)');
}

/** deploy/haproxy.cfg, listening on `port`, with the given engines as its servers. */
function generateConfig(port: number, engines: ReadonlyArray<{ name: string; port: number }>): string {
  const source = fs.readFileSync(path.join(ROOT, 'deploy', 'haproxy.cfg'), 'utf8');
  const lines = source.split('\n');
  const out: string[] = [];
  let bound = false;
  let served = false;
  for (const line of lines) {
    if (/^\s+bind\s/.test(line)) {
      if (!bound) out.push(`    bind 127.0.0.1:${port}`);
      bound = true;
    } else if (/^\s+server\s/.test(line)) {
      if (!served) for (const e of engines) out.push(`    server ${e.name} 127.0.0.1:${e.port} check`);
      served = true;
    } else {
      out.push(line);
    }
  }
  if (!bound || !served) throw new Error('deploy/haproxy.cfg: no bind or server line to replace');
  return out.join('\n');
}

interface Answer {
  bot: number;
  kind: 'decide' | 'adjust';
  sentAt: number;
  /** When the answer came back (a request sent before the expiry may reach the survivor after it, through HAProxy's retries). */
  answeredAt?: number;
  status: number;
  instance: string | null;
  version?: number;
  requestId?: string;
}

function post(agent: http.Agent, port: number, pathName: string, body: unknown): Promise<{ status: number; instance: string | null; body: any }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: pathName, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => {
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            /* HAProxy's own error pages are HTML */
          }
          const instance = res.headers['x-openkore-instance'];
          resolve({ status: res.statusCode ?? 0, instance: typeof instance === 'string' ? instance : null, body: parsed });
        });
        res.once('error', () => resolve({ status: 0, instance: null, body: null }));
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('no answer')));
    req.once('error', () => resolve({ status: 0, instance: null, body: null }));
    req.end(payload);
  });
}

/**
 * Two engine processes on one database (`db`: a SQLite file, or a PostgreSQL database) behind a
 * real HAProxy running deploy/haproxy.cfg; 50 field-plugin bots ticking through it. Each bot is
 * served by one instance; kill -9 of one → its bots are served by the other once their leases
 * expired, their state resuming from the last persisted snapshot, and every acknowledged
 * reputation write is in the database. Every process it starts is stopped before it returns.
 */
export async function farmFailoverBehindHaproxy(db: EngineDatabase): Promise<void> {
  const haproxy = haproxyBinary();
  const dataDir = db.dataDir;
  const engines: SpawnedEngine[] = [];
  let lb: ChildProcess | undefined;
  let lbExited: Promise<void> = Promise.resolve();
  const lbLogs: string[] = [];
  let stopped = false;
  try {
    const env = { ...db.env, SESSION_LEASES: '1', SESSION_LEASE_TTL_MS: String(LEASE_TTL_MS) };
    engines.push(await spawnEngine({ ...env, INSTANCE_ID: 'engine1' }));
    engines.push(await spawnEngine({ ...env, INSTANCE_ID: 'engine2' }));
    const lbPort = await freePort();
    const cfg = path.join(dataDir, 'haproxy.cfg');
    fs.writeFileSync(cfg, generateConfig(lbPort, [{ name: 'engine1', port: engines[0].port }, { name: 'engine2', port: engines[1].port }]));
    execFileSync(haproxy, ['-c', '-q', '-f', cfg]);
    lb = spawn(haproxy, ['-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    lb.stdout!.on('data', (c: Buffer) => lbLogs.push(c.toString()));
    lb.stderr!.on('data', (c: Buffer) => lbLogs.push(c.toString()));
    lbExited = new Promise<void>((resolve) => lb!.once('exit', () => resolve()));
    const probeAgent = new http.Agent({ keepAlive: false });
    let lbUp = false;
    for (const deadline = Date.now() + 20_000; !lbUp; ) {
      const res = await post(probeAgent, lbPort, '/api/v1/decide', { game_state: pluginGameState({ name: 'Probe' }) });
      lbUp = res.status === 200;
      if (!lbUp && (Date.now() > deadline || lb.exitCode !== null)) throw new Error(`HAProxy did not come up:\n${lbLogs.join('')}`);
      if (!lbUp) await new Promise((r) => setTimeout(r, 100));
    }

    // The farm: each bot on its own keep-alive connection, one request at a time, as the plugin does.
    const answers: Answer[] = [];
    const acked: string[] = [];
    const runs = Array.from({ length: BOTS }, async (_, bot) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const name = `Farmbot${String(bot).padStart(2, '0')}`;
      let tick = 0;
      let due = Date.now() + (PERIOD_MS * bot) / BOTS;
      while (!stopped) {
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
        due += PERIOD_MS;
        tick += 1;
        const sentAt = Date.now();
        const res = await post(agent, lbPort, '/api/v1/decide', { game_state: pluginGameState({ name, hp: 1 + (tick % 900) }), request_id: tick });
        answers.push({ bot, kind: 'decide', sentAt, answeredAt: Date.now(), status: res.status, instance: res.instance, version: res.body?.state_version });
        if (tick % ADJUST_EVERY === 0) {
          const requestId = `lb-${bot}-${tick}`;
          const adj = await post(agent, lbPort, '/api/v1/social/reputation/adjust', {
            player_id: 90_000 + bot,
            player_name: `Seen${bot}`,
            delta: 1,
            reason: 'farm',
            request_id: requestId,
          });
          answers.push({ bot, kind: 'adjust', sentAt, status: adj.status, instance: adj.instance, requestId });
          if (adj.status === 200) acked.push(requestId);
        }
      }
      agent.destroy();
    });

    const decides = (bot: number) => answers.filter((a) => a.bot === bot && a.kind === 'decide');
    // Phase 1: every bot served several times.
    await until(() => Array.from({ length: BOTS }, (_, b) => decides(b).filter((a) => a.status === 200).length >= 8).every(Boolean), 'every bot served 8 times', 60_000, 50);
    const ownerOf = new Map<number, string>();
    for (let bot = 0; bot < BOTS; bot++) {
      const served = decides(bot);
      // Every request of a bot answered by one instance: never refused, never elsewhere.
      expect(served.map((a) => a.status)).toEqual(served.map(() => 200));
      const instances = new Set(served.map((a) => a.instance));
      expect(instances.size).toBe(1);
      ownerOf.set(bot, [...instances][0]!);
    }
    const counts = [...ownerOf.values()].reduce((m, i) => m.set(i, (m.get(i) ?? 0) + 1), new Map<string, number>());
    expect([...counts.keys()].sort()).toEqual(['engine1', 'engine2']);

    // Phase 2: kill -9 the owner of bot 0.
    const victimId = ownerOf.get(0)!;
    const survivorId = victimId === 'engine1' ? 'engine2' : 'engine1';
    const victim = engines[victimId === 'engine1' ? 0 : 1];
    const victimBots = [...ownerOf].filter(([, i]) => i === victimId).map(([b]) => b);
    const otherBots = [...ownerOf].filter(([, i]) => i === survivorId).map(([b]) => b);
    // The take-over resumes from a persisted snapshot: every bot of the victim has one (they are
    // written in the background, every second) before the kill.
    const SNAPSHOT_OF = `SELECT COUNT(*) AS n FROM player_sessions p JOIN game_state_snapshots s ON s.session_id = p.session_id
       WHERE p.character_name = ? AND p.status = 'active'`;
    await until(
      async () => {
        for (const bot of victimBots) {
          const [row] = await db.query<{ n: number }>(SNAPSHOT_OF, [`Farmbot${String(bot).padStart(2, '0')}`]);
          if (Number(row.n) === 0) return false;
        }
        return true;
      },
      'a persisted snapshot of every bot of the victim',
      30_000,
      50,
    );
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    // What the dead instance left in the database: its bots' last persisted snapshots and their leases.
    const persisted = new Map<number, { version: number; expires_at: number }>();
    for (const bot of victimBots) {
      const [row] = await db.query<{ version: number; expires_at: number; instance_id: string }>(
        `SELECT s.version, l.expires_at, l.instance_id FROM player_sessions p JOIN game_state_snapshots s ON s.session_id = p.session_id
         JOIN session_leases l ON l.session_id = p.session_id WHERE p.character_name = ? AND p.status = 'active'`,
        [`Farmbot${String(bot).padStart(2, '0')}`],
      );
      expect(row.instance_id).toBe(victimId);
      persisted.set(bot, { version: Number(row.version), expires_at: Number(row.expires_at) });
    }

    // Every bot of the dead instance is served by the survivor again.
    await until(() => victimBots.every((b) => decides(b).some((a) => a.sentAt >= killedAt && a.status === 200)), 'the dead instance’s bots served by the survivor', 60_000, 50);
    // A few more ticks for everyone, then stop the farm.
    const settled = Date.now();
    await until(() => Array.from({ length: BOTS }, (_, b) => decides(b).some((a) => a.sentAt > settled + PERIOD_MS)).every(Boolean), 'two more ticks', 30_000, 50);
    stopped = true;
    await Promise.all(runs);

    for (const bot of victimBots) {
      const { version, expires_at } = persisted.get(bot)!;
      const after = decides(bot).filter((a) => a.sentAt >= killedAt);
      const served = after.filter((a) => a.status === 200);
      // Served by the survivor only, and only once the lease had expired.
      expect(new Set(served.map((a) => a.instance))).toEqual(new Set([survivorId]));
      // The survivor can serve a bot only once its lease has expired, so no answer comes back before that.
      expect(Math.min(...served.map((a) => a.answeredAt!))).toBeGreaterThanOrEqual(expires_at);
      // Refused (409 by the survivor while the lease lived) or lost with the dead instance — never after the lease expired:
      // the first tick sent after the expiry is served, so the move takes at most the lease TTL plus one tick.
      for (const a of after) {
        if (a.status === 200) continue;
        expect([0, 409, 502, 503]).toContain(a.status);
        expect(a.sentAt).toBeLessThan(expires_at);
      }
      // Its state resumes from the last persisted snapshot: the first version served is one more.
      expect(served[0].version).toBe(version + 1);
      expect(served.map((a) => a.version)).toEqual(served.map((_, i) => version + 1 + i));
    }
    // The survivor's own bots never noticed.
    for (const bot of otherBots) {
      const all = decides(bot);
      expect(all.every((a) => a.status === 200 && a.instance === survivorId)).toBe(true);
    }

    // No acknowledged reputation write lost: each is in the history exactly once.
    const ids = new Map<string, number>();
    for (const row of await db.query<{ request_id: string }>('SELECT request_id FROM interaction_history WHERE player_id >= 90000 AND player_id < 90100')) {
      ids.set(row.request_id, (ids.get(row.request_id) ?? 0) + 1);
    }
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.filter((id) => ids.get(id) !== 1)).toEqual([]);
  } finally {
    stopped = true;
    if (lb && lb.exitCode === null && lb.signalCode === null) {
      lb.kill('SIGKILL');
      await lbExited;
    }
    await Promise.all(engines.map((e) => e.kill('SIGKILL')));
  }
}
