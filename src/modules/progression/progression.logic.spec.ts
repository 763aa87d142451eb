import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chooseSkillPlan, chooseStatBuild, nextStatStep, planSale, resolveJob, type SellRow } from './progression.logic';
import { TABLE_FILES, type TableName, validateTables } from './tables';

const DIR = path.resolve(__dirname, '..', '..', '..', 'tables');
const docs = {} as Record<TableName, unknown>;
for (const [name, file] of Object.entries(TABLE_FILES) as [TableName, string][]) docs[name] = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
const tables = validateTables(docs, { version: 1, dir: DIR });
const none = { ids: new Set<number>(), names: new Set<string>() };

describe('planSale', () => {
  it('sells table junk at its NPC price, keeps potions, wings, keep-listed, equipped and unknown items', () => {
    const rows: SellRow[] = [
      { index: 0, id: 914, name: 'Fluff', amount: 40, type: 3, invIndex: 6 },
      { index: 1, id: 501, name: 'Red Potion', amount: 12, type: 0, invIndex: 0 },
      { index: 2, id: 601, name: 'Fly Wing', amount: 3, type: 2, invIndex: 1 },
      { index: 3, id: 938, name: 'Sticky Mucus', amount: 7, type: 3, invIndex: 9 },
      { index: 4, id: 985, name: 'Elunium', amount: 1, type: 3, invIndex: 4 },
      { index: 5, id: 12345, name: 'Mystery Box', amount: 1, type: 3, invIndex: 5 },
      { index: 6, id: 1201, name: 'Knife', amount: 1, type: 5, invIndex: 2 },
      { index: 7, id: 949, name: 'Feather', amount: 2, type: 3, invIndex: 8, equipped: true },
      { index: 8, id: 909, name: 'Jellopy', type: 3, invIndex: 3 },
    ];
    const sale = planSale(tables, rows, { ids: new Set([938]), names: new Set() });
    expect(sale.commands).toEqual(['sell 3 1', 'sell 6 40']);
    expect(sale.estimatedZeny).toBe(1 * 3 + 40 * 4);
    expect(Object.fromEntries(sale.kept.map((k) => [k.name, k.reason]))).toEqual({
      'Red Potion': 'healing item',
      'Fly Wing': 'on the keep list',
      'Sticky Mucus': 'on the keep list',
      Elunium: 'on the keep list',
      'Mystery Box': 'not in the junk table',
      Knife: 'not in the junk table',
      Feather: 'equipped',
    });
  });

  it('keeps an item whose type is not the table’s, both rows of an index listed twice, one without an index, and answers empty for nothing', () => {
    const sale = planSale(
      tables,
      [
        { index: 0, id: 909, type: 0, invIndex: 1 },
        { index: 1, id: 909, type: 5, invIndex: 2 },
        { index: 2, id: 909, invIndex: 3 },
        { index: 3, id: 909, invIndex: 3 },
        { index: 4, id: 909 },
        { index: 5, id: 909, invIndex: 7, amount: 0 },
      ],
      none,
    );
    expect(sale.commands).toEqual([]);
    expect(sale.kept.map((k) => k.reason)).toEqual([
      'healing item',
      "type 5 is not the table's 3 for item 909",
      'inventory index 3 listed twice',
      'inventory index 3 listed twice',
      'no inventory index',
      'none held',
    ]);
    expect(planSale(tables, [], none)).toEqual({ commands: [], estimatedZeny: 0, sold: [], kept: [] });
  });

  it('property: never sells a healing item, a kept item or an equipped one; every command names a listed index once', () => {
    const ids = [...tables.junk.keys(), ...tables.healing.keys(), ...tables.keep, 1201, 2301, 4001];
    const row = fc.record({
      id: fc.option(fc.constantFrom(...ids), { nil: undefined }),
      amount: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
      type: fc.option(fc.oneof(fc.constantFrom(0, 2, 3, 4, 5, 6), fc.constant('misc')), { nil: undefined }),
      invIndex: fc.option(fc.nat(60), { nil: undefined }),
      equipped: fc.option(fc.boolean(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 50 }), fc.array(fc.constantFrom(...ids), { maxLength: 3 }), (raw, keepIds) => {
        const rows: SellRow[] = raw.map((r, index) => ({ index, ...r }));
        const sale = planSale(tables, rows, { ids: new Set(keepIds), names: new Set() });
        const indexes = new Set<number>();
        for (const s of sale.sold) {
          const from = rows.find((r) => r.invIndex === s.invIndex && r.id === s.id)!;
          expect(from).toBeDefined();
          expect(tables.healing.has(s.id) || tables.keep.has(s.id) || keepIds.includes(s.id) || from.equipped === true || from.type === 0).toBe(false);
          expect(tables.junk.has(s.id)).toBe(true);
          expect(indexes.has(s.invIndex)).toBe(false);
          indexes.add(s.invIndex);
          expect(s.amount).toBeGreaterThan(0);
        }
        expect(sale.commands).toEqual(sale.sold.map((s) => `sell ${s.invIndex} ${s.amount}`));
        expect(sale.sold.length + sale.kept.length).toBe(rows.length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('stat builds', () => {
  it('follows the named job, else the stats’ leaning, else the default', () => {
    expect(chooseStatBuild(tables, resolveJob(tables, 'Wizard'), undefined)).toMatchObject({ matchedBy: 'job', build: { class: 'Wizard' } });
    expect(chooseStatBuild(tables, resolveJob(tables, 9), { int: 60 })).toMatchObject({ matchedBy: 'job', build: { class: 'Wizard' } });
    // A caster's stats lean towards a caster build, a fighter's to a fighter's.
    const caster = chooseStatBuild(tables, undefined, { str: 1, agi: 1, vit: 12, int: 55, dex: 40, luk: 1 });
    expect(['Mage', 'Wizard', 'Acolyte', 'Priest']).toContain(caster.build!.class);
    expect(caster.matchedBy).toBe('stats');
    const archer = chooseStatBuild(tables, undefined, { str: 1, agi: 30, vit: 1, int: 1, dex: 70, luk: 1 });
    expect(['Archer', 'Hunter']).toContain(archer.build!.class);
    expect(chooseStatBuild(tables, undefined, { str: 1, agi: 1, vit: 1, int: 1, dex: 1, luk: 1 })).toMatchObject({ matchedBy: 'default', build: { class: 'Novice' } });
    expect(chooseStatBuild(tables, resolveJob(tables, 'Crusader'), undefined)).toMatchObject({ matchedBy: 'default' });
  });

  it('names the first step not reached', () => {
    const build = tables.statBuilds.get('Swordsman')!;
    expect(nextStatStep(build, { agi: 30, str: 12 })).toBe('str 30');
    expect(nextStatStep(build, { str: 99, agi: 99, dex: 99, vit: 99 })).toBeNull();
  });
});

describe('skill plans', () => {
  it('reads the job by name (any case) or raw id', () => {
    expect(resolveJob(tables, 'swordsman')?.id).toBe(1);
    expect(resolveJob(tables, 'Swordman')?.id).toBe(1);
    expect(resolveJob(tables, 4008)?.class).toBe('Knight');
    expect(resolveJob(tables, '12')?.name).toBe('Assassin');
    expect(resolveJob(tables, 'Gardener')).toBeUndefined();
  });

  it('follows the job, unless the learned skills show a class further down its line', () => {
    expect(chooseSkillPlan(tables, resolveJob(tables, 'swordsman'), { NV_BASIC: 9 })).toMatchObject({ matchedBy: 'job', plan: { class: 'Swordsman' } });
    // The plugin's hook may say "novice" for any job: a Bash says Swordsman.
    expect(chooseSkillPlan(tables, resolveJob(tables, 'novice'), { NV_BASIC: 9, SM_BASH: 4 })).toMatchObject({ matchedBy: 'skills', plan: { class: 'Swordsman' } });
    expect(chooseSkillPlan(tables, resolveJob(tables, 'Swordsman'), { SM_BASH: 10, KN_TWOHANDQUICKEN: 1 })).toMatchObject({ plan: { class: 'Knight' } });
    // A Mage's bolts do not make it a Wizard; Increase SP Recovery (Mage and Priest) does not make it a Priest.
    expect(chooseSkillPlan(tables, undefined, { NV_BASIC: 9, MG_COLDBOLT: 5, MG_SRECOVERY: 1 })).toMatchObject({ matchedBy: 'skills', plan: { class: 'Mage' } });
    expect(chooseSkillPlan(tables, resolveJob(tables, 'Monk'), {})).toEqual({ plan: undefined, matchedBy: 'none' });
  });
});
