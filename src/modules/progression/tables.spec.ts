import * as fs from 'node:fs';
import * as path from 'node:path';
import { TABLE_FILES, type TableName, TablesValidationError, validateTables } from './tables';

const DIR = path.resolve(__dirname, '..', '..', '..', 'tables');

function shipped(): Record<TableName, any> {
  const docs = {} as Record<TableName, unknown>;
  for (const [name, file] of Object.entries(TABLE_FILES) as [TableName, string][]) docs[name] = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
  return docs as Record<TableName, any>;
}

function problems(docs: Record<TableName, unknown>): string[] {
  try {
    validateTables(docs, { version: 1, dir: 'test' });
  } catch (err) {
    if (err instanceof TablesValidationError) return err.problems;
    throw err;
  }
  return [];
}

describe('data tables', () => {
  it('the shipped tables are valid, name their sources, and cover every class a job points to', () => {
    const t = validateTables(shipped(), { version: 1, dir: DIR });
    for (const name of Object.keys(TABLE_FILES) as TableName[]) expect(t.sources[name].length).toBeGreaterThan(0);
    for (const job of t.jobsById.values()) {
      if (job.class === null) continue;
      expect(t.statBuilds.has(job.class)).toBe(true);
      expect(t.skillPlans.has(job.class)).toBe(true);
    }
    expect(t.jobsById.get(0)?.name).toBe('Novice');
    expect(t.jobsById.get(7)?.class).toBe('Knight');
    expect(t.jobsById.get(4008)).toMatchObject({ name: 'Lord Knight', class: 'Knight' });
    expect(t.jobsByName.get('swordman')?.name).toBe('Swordsman');
    expect(t.skills.get('AL_TELEPORT')?.id).toBe(26);
    expect(t.healing.has(501) && !t.healing.has(505)).toBe(true); // Blue Potion restores SP only
    expect(t.junk.get(909)).toMatchObject({ name: 'Jellopy', type: 3, sellPrice: 3 });
  });

  it('a plan begins with its parents’ plans and lists each step once, prerequisites first', () => {
    const t = validateTables(shipped(), { version: 1, dir: DIR });
    const knight = t.skillPlans.get('Knight')!;
    expect(knight.list.startsWith(`${t.skillPlans.get('Swordsman')!.list}, `)).toBe(true);
    expect(t.skillPlans.get('Swordsman')!.list.startsWith('NV_BASIC 9, ')).toBe(true);
    expect(knight.list).toMatch(/^[A-Z][A-Z0-9_]* \d+(, [A-Z][A-Z0-9_]* \d+)*$/);
    expect(t.statBuilds.get('Knight')!.list).toMatch(/^(str|agi|vit|int|dex|luk) \d+(, (str|agi|vit|int|dex|luk) \d+)*$/);
  });

  it('refuses a plan out of prerequisite order, a class that cannot learn a skill, and names the file and place', () => {
    const docs = shipped();
    docs.skillPlans.classes.Swordsman.plan = 'SM_MAGNUM 3, SM_BASH 5';
    docs.skillPlans.classes.Mage.plan = 'MG_FIREBOLT 5, SM_BASH 1';
    const found = problems(docs);
    expect(found).toContain('skill-plans.json: classes.Swordsman.plan[0] (SM_MAGNUM 3): needs SM_BASH 5 earlier in the plan');
    expect(found.some((p) => p.startsWith('skill-plans.json: classes.Mage.plan[1] (SM_BASH 1): Mage cannot learn it'))).toBe(true);
  });

  it('refuses a stat over 99, a step that does not raise, an unknown class, a junk item that is also kept or healing, a missing source', () => {
    const docs = shipped();
    docs.statBuilds.builds.Mage.steps = 'int 50, int 40, dex 120';
    docs.jobs.jobs.push({ id: 99_999, name: 'Tester', class: 'Gardener' });
    docs.junkItems.items.push({ id: 601, name: 'Fly Wing', type: 2, sell_price: 30 }, { id: 501, name: 'Red Potion', type: 0, sell_price: 25 });
    delete docs.healingItems.source;
    const found = problems(docs).join('\n');
    expect(found).toContain('stat-builds.json: builds.Mage.steps[1]: int is already at 50 by then');
    expect(found).toContain('stat-builds.json: builds.Mage.steps[2]: dex 120: a value is 2-99');
    expect(found).toContain('jobs.json: jobs[');
    expect(found).toContain('class "Gardener" has no build');
    expect(found).toContain('Fly Wing (601) is also on the keep list');
    expect(found).toContain('Red Potion (501) is a healing item');
    expect(found).toContain('healing-items.json: source: must say where the facts come from');
  });

  it('refuses a file that is not an object', () => {
    const docs = shipped();
    (docs as Record<string, unknown>).junkItems = [1, 2];
    expect(problems(docs)).toContain('junk-items.json: (file): must be a JSON object');
  });
});
