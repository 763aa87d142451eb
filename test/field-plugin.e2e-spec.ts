import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort, ROOT, spawnEngine, type SpawnedEngine, tempDir } from './support/engine';

/**
 * The OpenKore plugin in the field, replayed for real: `test/field-plugin/replay.pl` makes every
 * call of docs/field-plugin.md with the plugin's own client stack (Perl HTTP::Tiny + JSON::PP) and
 * bodies built the way it builds them, against the built engine in a child process at its
 * default limits, on both listeners, and reads each answer the way the plugin reads it.
 */
const REPLAY = path.join(ROOT, 'test', 'field-plugin', 'replay.pl');

function runPerl(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('perl', [REPLAY], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    // Bounded: the plugin's own timeout is 10 s per call; a stuck run must not outlive the test.
    const timer = setTimeout(() => proc.kill('SIGKILL'), 50_000);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the field plugin’s calls, replayed in Perl', () => {
  let engine: SpawnedEngine;
  let api: string;
  let compat: string;

  beforeAll(async () => {
    // Default limits (the empty values undo the test helper's "off"): what an operator runs.
    engine = await spawnEngine({ DATA_DIR: tempDir('okai-field-'), COMPAT_PORT: String(await freePort()), RATE_LIMIT_RPS: '', SESSION_RATE_LIMIT_RPS: '' });
    api = engine.url;
    compat = `http://127.0.0.1:${engine.compatPort}`;
  });
  afterAll(async () => {
    await engine?.kill();
  });

  const cases: Array<[string, () => Record<string, string>]> = [
    ['service on the compat port, plan on the API port (the plugin’s 9902 / 9901)', () => ({ FIELD_SERVICE_URL: compat, FIELD_ENGINE_URL: api, FIELD_TAG: 'a' })],
    ['everything on the API port, plan on the compat port', () => ({ FIELD_SERVICE_URL: api, FIELD_ENGINE_URL: compat, FIELD_TAG: 'b' })],
    ['raw OpenKore values sent as decimal strings', () => ({ FIELD_SERVICE_URL: compat, FIELD_ENGINE_URL: api, FIELD_TAG: 'c', FIELD_RAW_AS_TEXT: '1' })],
  ];

  it.each(cases)('%s', async (_name, env) => {
    const { code, output } = await runPerl(env());
    if (code !== 0 || /^not ok/m.test(output)) throw new Error(`replay.pl failed (exit ${code}):\n${output}`);
    expect(output).toMatch(/^1\.\.\d+$/m);
  });
});
