import * as fs from 'node:fs';
import * as path from 'node:path';
import { request, ROOT, type RunningEngine, startEngine, tempDir } from './support/engine';

/** The data tables: read at boot, replaced by POST /config/reload, refused whole when invalid. */
function copyTables(): string {
  const dir = tempDir('okai-tables-');
  for (const f of fs.readdirSync(path.join(ROOT, 'tables'))) fs.copyFileSync(path.join(ROOT, 'tables', f), path.join(dir, f));
  return dir;
}

describe('data tables over HTTP', () => {
  let e: RunningEngine;
  let dir: string;
  beforeAll(async () => {
    dir = copyTables();
    e = await startEngine({ TABLES_DIR: dir });
  });
  afterAll(() => e.stop());

  const statsFor = async (job: string) => (await request(`${e.url}/api/v1/progression/stats/on_level_up`, { body: { current_level: 60, job_class: job } })).body;

  it('serves the shipped tables with their sources, and a reload applies an edit', async () => {
    const shown = await request(`${e.url}/api/v1/config/tables`);
    expect(shown.status).toBe(200);
    expect(shown.body.data).toMatchObject({ type: 'tables', version: 1, source: dir, classes: expect.arrayContaining(['Knight', 'Acolyte']) });
    for (const src of Object.values(shown.body.data.sources as Record<string, string[]>)) expect(src.length).toBeGreaterThan(0);

    expect((await statsFor('Knight')).config.statsAddAuto_list).toMatch(/^agi 40, str 40/);
    const file = path.join(dir, 'stat-builds.json');
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.builds.Knight.steps = 'str 60, vit 40, agi 50';
    fs.writeFileSync(file, JSON.stringify(doc));
    const reload = await request(`${e.url}/api/v1/config/reload`, { body: { type: 'tables' } });
    expect(reload.status).toBe(200);
    expect(reload.body.data).toMatchObject({ type: 'tables', version: 2 });
    expect((await statsFor('Knight')).config.statsAddAuto_list).toBe('str 60, vit 40, agi 50');
  });

  it('refuses an invalid table with 422 naming the problem, and keeps serving the running ones', async () => {
    const file = path.join(dir, 'skill-plans.json');
    const good = fs.readFileSync(file, 'utf8');
    const doc = JSON.parse(good);
    doc.classes.Swordsman.plan = 'SM_MAGNUM 3, SM_BASH 5';
    fs.writeFileSync(file, JSON.stringify(doc));
    try {
      const refused = await request(`${e.url}/api/v1/config/reload`, { body: {} });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('UNPROCESSABLE');
      expect(JSON.stringify(refused.body.error.details)).toContain('SM_MAGNUM 3): needs SM_BASH 5 earlier in the plan');
      const plan = await request(`${e.url}/api/v1/progression/skills/on_job_level_up`, { body: { job: 'swordsman', current_skills: { NV_BASIC: 9 } } });
      expect(plan.body.config.skillsAddAuto_list).toMatch(/^NV_BASIC 9, SM_BASH 5/);
      const health = await request(`${e.url}/api/v1/health`);
      expect(JSON.stringify(health.body)).toContain('last reload refused');
    } finally {
      fs.writeFileSync(file, good);
    }
    const again = await request(`${e.url}/api/v1/config/reload`, { body: {} });
    expect(again.status).toBe(200);
    expect(again.body.data.tables.version).toBe(3);
  });

  it('bodies are read leniently, but a known field of the wrong type is a 400 envelope', async () => {
    const ok = await request(`${e.url}/api/v1/inventory/sell_junk`, { body: { inventory: [{ id: '914', amount: '6', type: 3, invIndex: 2, name: 'Fluff', slot_hint: 'x' }], min_zeny: 5 } });
    expect(ok.body).toMatchObject({ success: true, sell_commands: ['sell 2 6'], estimated_zeny: 24 });
    for (const [route, body] of [
      ['inventory/sell_junk', { inventory: 'all' }],
      ['inventory/sell_junk', { inventory: [{ id: 'Fluff' }] }],
      ['progression/stats/on_level_up', { current_stats: [1, 2] }],
      ['progression/skills/on_job_level_up', { current_skills: { SM_BASH: 'ten' } }],
    ] as const) {
      const res = await request(`${e.url}/api/v1/${route}`, { body });
      expect([route, res.status, res.body.error?.code]).toEqual([route, 400, 'INVALID_REQUEST']);
    }
  });
});

describe('an engine whose tables cannot be read', () => {
  it('starts anyway, says so in its health, and answers the plugin with nothing to do', async () => {
    const e = await startEngine({ TABLES_DIR: path.join(tempDir(), 'missing') });
    try {
      const health = await request(`${e.url}/api/v1/health`);
      expect(health.body.status).toBe('degraded');
      expect(JSON.stringify(health.body.issues)).toContain('tables');
      const sell = await request(`${e.url}/api/v1/inventory/sell_junk`, { body: { inventory: [{ id: 909, amount: 3, type: 3, invIndex: 0 }] } });
      expect(sell.body).toMatchObject({ success: true, sell_commands: [] });
      const stats = await request(`${e.url}/api/v1/progression/stats/on_level_up`, { body: { current_level: 5 } });
      expect(stats.body).toMatchObject({ success: false, config: { statsAddAuto_list: '' } });
    } finally {
      await e.stop();
    }
  });
});
