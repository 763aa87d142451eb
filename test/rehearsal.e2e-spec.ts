import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../src/config/app-config';
import { rehearsalConfig, rehearseEngine } from '../src/engine-rehearsal';
import { tempDir } from './support/engine';

describe('boot rehearsal: a throwaway engine of the same code, driven over HTTP before the operator\'s engine exists', () => {
  it('reaches nothing of the operator\'s: its own SQLite file, models and loopback port; no PostgreSQL, lease, LLM, schedule, limit or disk threshold', () => {
    const config = loadConfig({
      DATA_DIR: '/srv/farm/data',
      DATABASE_URL: 'postgres://farm:secret@db.example:5432/farm',
      MODEL_DIR: '/srv/farm/models',
      HOST: '0.0.0.0',
      PORT: '9901',
      COMPAT_PORT: '9902',
      OPENKORE_AI_TOKEN: 'farm-token-0123456789',
      SESSION_LEASES: '1',
      ADVERTISED_URL: 'http://farm-1.example:9901',
      PDCA_LLM_URL: 'https://llm.example/v1',
      PDCA_LLM_API_KEY: 'key',
      PDCA_INTERVAL_MS: '60000',
      RATE_LIMIT_RPS: '50',
      SESSION_RATE_LIMIT_RPS: '5',
      MACRO_DIR: '/srv/farm/macros',
    });
    const r = rehearsalConfig(config, '/tmp/openkore-ai-rehearsal-x');
    expect(r).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      compatPort: 0,
      dataDir: '/tmp/openkore-ai-rehearsal-x',
      databasePath: '/tmp/openkore-ai-rehearsal-x/openkore-ai.db',
      databaseUrl: undefined,
      modelDir: '/tmp/openkore-ai-rehearsal-x/models',
      advertisedUrl: undefined,
      sessionLeases: false,
      pdcaLlmUrl: undefined,
      pdcaLlmApiKey: undefined,
      pdcaIntervalMs: 0,
      rateLimitPerSecond: 0,
      sessionRateLimitPerSecond: 0,
      storageLowDiskBytes: 0,
      storageCriticalDiskBytes: 0,
      warmupRounds: 0,
    });
    expect(r.instanceId).not.toBe(config.instanceId);
    // The same code paths as the operator's: the token (the guard's branch), the macros, rules and tables.
    expect(r).toMatchObject({ token: 'farm-token-0123456789', macroDir: config.macroDir, rulesFile: config.rulesFile, tablesDir: config.tablesDir, frontDoor: config.frontDoor });
  });

  it('answers every rehearsal request with 200 (token sent, decide and action_feedback), then removes its folder; the operator\'s data folder is never created', async () => {
    const tmp = tempDir();
    const operatorDir = path.join(tempDir(), 'data');
    const config = loadConfig({ DATA_DIR: operatorDir, OPENKORE_AI_TOKEN: 'farm-token-0123456789', LOG_LEVEL: 'silent', MODEL_DIR: path.join(tmp, 'no-models-yet') });
    const report = await rehearseEngine(config, 120, tmp);
    expect(report).toEqual({ requests: 120, failed: 0, duration_ms: expect.any(Number) });
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(fs.existsSync(operatorDir)).toBe(false);
  }, 60_000);

  it('removes the folder a killed boot left (its process is gone) and leaves a live process\'s alone', async () => {
    const tmp = tempDir();
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = child.pid!;
    await new Promise((resolve) => child.once('exit', resolve));
    const orphan = path.join(tmp, `openkore-ai-rehearsal-${deadPid}-Ab12Cd`);
    const live = path.join(tmp, `openkore-ai-rehearsal-${process.ppid}-Ef34Gh`);
    const unrelated = path.join(tmp, 'openkore-ai-rehearsal-notes');
    for (const dir of [orphan, live, unrelated]) {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'openkore-ai.db'), 'x');
    }
    const config = loadConfig({ DATA_DIR: tempDir(), LOG_LEVEL: 'silent' });
    expect(await rehearseEngine(config, 10, tmp)).toMatchObject({ requests: 10, failed: 0 });
    expect(fs.readdirSync(tmp).sort()).toEqual([path.basename(live), path.basename(unrelated)].sort());
  }, 60_000);

  it('never fails the boot: with no temporary folder to write to it reports why and returns', async () => {
    const notADir = path.join(tempDir(), 'a-file');
    fs.writeFileSync(notADir, '');
    const config = loadConfig({ DATA_DIR: tempDir(), LOG_LEVEL: 'silent' });
    const report = await rehearseEngine(config, 50, notADir);
    expect(report.requests).toBe(0);
    expect(report.error).toMatch(/ENOTDIR/);
  });
});
