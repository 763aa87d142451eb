import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ROOT, spawnEngine, tempDir, type SpawnedEngine } from './support/engine';

/**
 * The engine's own OpenKore plugin (clients/openkore), tested in Perl (`prove`) against the
 * built engine as a real child process. The Perl tests get the engine's URL and token, and a
 * control URL through which they stop and start the engine (same port; `fresh` for a new
 * database, i.e. an engine that has forgotten every session).
 */
const PLUGIN_DIR = path.join(ROOT, 'clients', 'openkore');
const TOKEN = 'plugin-suite-token-0123456789';

interface ProveResult {
  code: number | null;
  output: string;
}

const running = new Set<ChildProcess>();
/** Kills prove and whatever it started (the farm's bots): its whole process group. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
process.once('exit', () => {
  for (const child of running) killGroup(child);
});

/** Runs prove in the plugin's folder; its whole process group is killed if it outlives the bound. */
function prove(args: string[], env: Record<string, string>, timeoutMs: number): Promise<ProveResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('prove', args, { cwd: PLUGIN_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      output += `\n[prove killed after ${timeoutMs} ms]\n`;
      killGroup(child);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(new Error(`could not run prove (perl's test harness): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, output });
    });
  });
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

describe('the OpenKore plugin (Perl suite) against a real engine', () => {
  let engine: SpawnedEngine | undefined;
  let port = 0;
  const dirs: string[] = [];
  const newDir = (prefix: string) => {
    const dir = tempDir(prefix);
    dirs.push(dir);
    return dir;
  };
  let dataDir = newDir('okai-plugin-');
  const macroDir = newDir('okai-plugin-macros-');
  let control: http.Server;
  let controlUrl = '';

  const engineEnv = () => ({
    PORT: String(port),
    DATA_DIR: dataDir,
    MACRO_DIR: macroDir,
    MACRO_DEBOUNCE_MS: '50',
    OPENKORE_AI_TOKEN: TOKEN,
    // An idle bot must reach the strategic planner (202 and its task), whatever the model says.
    ML_CONFIDENCE_PCT: '100',
  });

  async function startEngine(fresh: boolean): Promise<void> {
    if (fresh) dataDir = newDir('okai-plugin-');
    engine = await spawnEngine(engineEnv());
    // The first start picks a free port; restarts take the same one, as an operator's would.
    port = engine.port;
  }

  async function stopEngine(): Promise<void> {
    const current = engine;
    engine = undefined;
    if (current) await current.kill('SIGTERM');
  }

  // Engine control for the Perl tests: one operation at a time.
  let chain: Promise<unknown> = Promise.resolve();
  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const op = async () => {
      const body = await readBody(req);
      const fresh = body ? Boolean((JSON.parse(body) as { fresh?: boolean }).fresh) : false;
      if (req.method === 'POST' && req.url === '/engine/stop') await stopEngine();
      else if (req.method === 'POST' && req.url === '/engine/start') {
        if (!engine) await startEngine(fresh);
      } else if (req.method === 'POST' && req.url === '/engine/restart') {
        await stopEngine();
        await startEngine(fresh);
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ running: !!engine, url: `http://127.0.0.1:${port}` }));
    };
    chain = chain.then(op).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
    });
  }

  const env = () => ({
    OKAI_ENGINE_URL: `http://127.0.0.1:${port}`,
    OKAI_ENGINE_TOKEN: TOKEN,
    OKAI_CONTROL_URL: controlUrl,
    // Missing URLs are a failure here, not a skip.
    OKAI_REQUIRE_ENGINE: '1',
  });

  beforeAll(async () => {
    await startEngine(false);
    control = http.createServer(handle);
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => control.close(() => resolve()));
    await chain;
    await stopEngine();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const passes = (r: ProveResult) => {
    if (r.code !== 0) throw new Error(`prove exited with ${r.code}:\n${r.output}`);
    expect(r.output).toMatch(/^Result: PASS$/m);
  };

  it('passes the plugin tests: protocol, actions, macros, memories, failures, engine restarts', async () => {
    passes(await prove(['t'], env(), 240_000));
    expect(engine).toBeDefined();
  }, 300_000);

  it('drives the engine as a farm: 20 bots, 30 s, no plugin error, every state version equal to its ticks', async () => {
    passes(await prove(['t/farm'], { ...env(), OKAI_FARM_BOTS: '20', OKAI_FARM_SECONDS: '30' }, 240_000));
  }, 300_000);
});
