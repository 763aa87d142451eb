import Database from 'better-sqlite3';
import * as path from 'node:path';
import { FlagService, ProcessFlag, VersionCounter } from '../src/modules/flags';
import { request, startEngine, type RunningEngine } from './support/engine';

describe('FlagService inside the engine', () => {
  let e: RunningEngine | undefined;

  afterAll(async () => {
    await e?.stop();
  }, 30_000);

  it('reports flags and counters over HTTP, and releases held leases (stopping their heartbeats) at shutdown', async () => {
    e = await startEngine();
    const flags = e.engine.app.get(FlagService);
    const lease = await flags.tryAcquire(ProcessFlag.PDCA_RUNNING, 60_000);
    expect(lease).not.toBeNull();
    // Other modules bump the counter too (a promoted model): count from what is there.
    const before = await flags.getVersion(VersionCounter.MODEL_VERSION);
    await flags.incrementVersion(VersionCounter.MODEL_VERSION);
    expect(await flags.incrementVersion(VersionCounter.MODEL_VERSION)).toBe(before + 2);

    const res = await request(`${e.url}/api/v1/flags`);
    expect(res.status).toBe(200);
    expect(res.body.data.owner_id).toBe(flags.ownerId);
    expect(res.body.data.owner_id).toContain(`:${process.pid}:`);
    expect(res.body.data.flags).toContainEqual(expect.objectContaining({ name: 'pdca_running', held: true, owner: flags.ownerId, token: lease!.token }));
    expect(res.body.data.counters).toContainEqual(expect.objectContaining({ name: 'model_version', value: before + 2 }));

    const dataDir = e.dataDir;
    await e.stop();
    e = undefined;
    expect(lease!.released).toBe(true);
    expect(flags.heldLeases()).toEqual([]);
    const db = new Database(path.join(dataDir, 'openkore-ai.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT owner, expires_at FROM process_flags WHERE name = 'pdca_running'").get()).toEqual({ owner: null, expires_at: null });
    } finally {
      db.close();
    }
  }, 30_000);
});
