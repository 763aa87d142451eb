import fc from 'fast-check';
import { OFFENSIVE_PLUGIN_ACTIONS, PLUGIN_ACTIONS, PLUGIN_HP_EMERGENCY_ITEMS } from '../src/modules/decision';
import { request, type RunningEngine, startEngine } from './support/engine';
import { fieldDecideBody } from './support/field-plugin';

/**
 * Random decide bodies shaped the way the field plugin builds them (docs/field-plugin.md §4.3):
 * every documented field, raw OpenKore values as numbers or decimal strings, `type || 'misc'`,
 * `party_members` `{}`, equipment slots "unknown", optional parts missing. Over real HTTP, on
 * both listeners, none may be refused and every answer must be one the plugin executes.
 */
const asText = <T extends number>(n: fc.Arbitrary<T>) => fc.oneof(n as fc.Arbitrary<number | string>, n.map((v) => String(v)));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const HANDLES = ['NV_BASIC', 'SM_BASH', 'SM_PROVOKE', 'AL_HEAL', 'AL_TELEPORT', 'MG_FIREBOLT', 'TF_DOUBLE', 'AC_DOUBLE'];
const ITEMS: Array<[number, string, number]> = [
  [501, 'Red Potion', 0],
  [502, 'Orange Potion', 0],
  [507, 'Red Herb', 0],
  [545, 'Condensed Red Potion', 0],
  [505, 'Blue Potion', 0],
  [601, 'Fly Wing', 2],
  [602, 'Butterfly Wing', 2],
  [909, 'Jellopy', 3],
  [914, 'Fluff', 3],
  [985, 'Elunium', 3],
  [1201, 'Knife', 5],
  [2301, 'Cotton Shirt', 4],
];
const JOBS = ['Novice', 'Swordsman', 'Mage', 'Archer', 'Acolyte', 'Merchant', 'Thief', 'Knight', 'Priest', 'Lord Knight', 'Crusader'];

const character = fc
  .record({
    name: fc.constantFrom('Corvin', 'Maelis', 'Tamsin', 'Odo', 'Pell'),
    level: fc.integer({ min: 1, max: 99 }),
    job_level: fc.integer({ min: 0, max: 50 }),
    max_hp: fc.integer({ min: 1, max: 20_000 }),
    hp_share: fc.double({ min: 0, max: 1, noNaN: true }),
    max_sp: fc.integer({ min: 1, max: 2_000 }),
    sp_share: fc.double({ min: 0, max: 1, noNaN: true }),
    stat: fc.integer({ min: 1, max: 99 }),
    map: fc.constantFrom('prt_fild08', 'moc_fild02', 'gef_dun01', 'unknown'),
    x: fc.integer({ min: 0, max: 400 }),
    y: fc.integer({ min: 0, max: 400 }),
    max_weight: fc.integer({ min: 1, max: 8_000 }),
    weight_share: fc.double({ min: 0, max: 1, noNaN: true }),
    zeny: fc.nat(5_000_000),
    job_class: fc.constantFrom(...JOBS),
    equipment: maybe(fc.array(fc.record({ slot: fc.oneof(fc.constant('unknown'), asText(fc.integer({ min: 1, max: 2 ** 20 }))), name: fc.constantFrom('Knife', 'Guard', 'Cap'), id: fc.nat(30_000) }), { maxLength: 4 })),
    guild: maybe(fc.record({ name: fc.constantFrom('', 'Ember Pact'), id: fc.constantFrom('', '70021'), position: fc.constantFrom('', 'Member') })),
  })
  .map((c) => {
    const out: Record<string, unknown> = {
      name: c.name,
      level: c.level,
      job_level: c.job_level,
      base_exp: 100,
      base_exp_max: 1000,
      job_exp: 10,
      job_exp_max: 100,
      hp: Math.floor(c.max_hp * c.hp_share),
      max_hp: c.max_hp,
      sp: Math.floor(c.max_sp * c.sp_share),
      max_sp: c.max_sp,
      points_free: 0,
      points_skill: 0,
      str: c.stat,
      agi: 1,
      vit: 1,
      int: 1,
      dex: 1,
      luk: 1,
      points_str: 2,
      points_agi: 2,
      points_vit: 2,
      points_int: 2,
      points_dex: 2,
      points_luk: 2,
      position: { map: c.map, x: c.x, y: c.y },
      weight: Math.floor(c.max_weight * c.weight_share),
      max_weight: c.max_weight,
      zeny: c.zeny,
      job_class: c.job_class,
      status_effects: [],
      active_quests: 0,
    };
    if (c.equipment) out.equipment = c.equipment;
    if (c.guild) out.guild = c.guild;
    return out;
  });

const monster = fc.record({
  id: asText(fc.nat(40)),
  name: fc.constantFrom('Poring', 'Lunatic', 'Hornet', 'Unknown'),
  hp: fc.constant(0),
  max_hp: fc.constant(0),
  distance: fc.oneof(fc.nat(30), fc.constant(999)),
  is_aggressive: fc.boolean(),
});
const skill = fc.record({ name: fc.constantFrom(...HANDLES), level: asText(fc.integer({ min: 1, max: 10 })), sp_cost: fc.nat(40) });
const item = fc.record({ pick: fc.nat(ITEMS.length - 1), amount: asText(fc.integer({ min: 1, max: 40 })), equipped: fc.boolean(), textual: fc.boolean() });
const player = fc.record({ name: fc.constantFrom('Wren', 'Bors'), level: fc.integer({ min: 1, max: 99 }), guild: fc.constantFrom('', 'Nomads'), distance: fc.nat(14), is_party_member: fc.boolean(), job_class: fc.constantFrom(...JOBS) });

const body = fc
  .record({
    character,
    skills: maybe(fc.array(skill, { maxLength: 6 })),
    monsters: maybe(fc.array(monster, { maxLength: 8 })),
    inventory: maybe(fc.array(item, { maxLength: 8 })),
    nearby_players: maybe(fc.array(player, { maxLength: 4 })),
    party: fc.constantFrom('object', 'list', 'absent'),
    request_id: fc.nat(),
    compat: fc.boolean(),
  })
  .map((b) => {
    const gs: Record<string, unknown> = { character: b.character, timestamp_ms: Date.now() };
    if (b.skills) gs.skills = b.skills;
    if (b.monsters) gs.monsters = b.monsters;
    if (b.inventory) {
      // The plugin: `type => $item->{type} || 'misc'` (so a healing item's 0 is "misc"), invIndex a counter.
      gs.inventory = b.inventory.map((i, index) => {
        const [id, name, type] = ITEMS[i.pick];
        const raw = type || 'misc';
        return { id: i.textual ? String(id) : id, name, amount: i.amount, type: i.textual && typeof raw === 'number' ? String(raw) : raw, equipped: i.equipped, invIndex: i.textual ? String(index) : index };
      });
    }
    if (b.nearby_players) gs.nearby_players = b.nearby_players;
    if (b.party === 'object') gs.party_members = {};
    if (b.party === 'list') gs.party_members = [];
    return { payload: { game_state: gs, request_id: `req_${b.request_id}.5_${b.request_id % 97}`, timestamp_ms: Date.now() }, compat: b.compat };
  });

describe('the decide route, fed plugin-shaped bodies at random', () => {
  let e: RunningEngine;
  beforeAll(async () => {
    e = await startEngine({ COMPAT_PORT: 'auto' });
  });
  afterAll(() => e.stop());

  it('property: never refused, always an action the plugin executes about what the bot sees and holds', async () => {
    await fc.assert(
      fc.asyncProperty(body, async ({ payload, compat }) => {
        const res = await request(`${compat ? e.compatUrl : e.url}/api/v1/decide`, { body: payload });
        expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ status: 200, body: 'ok' });
        const answer = res.body as { action: string; params: Record<string, unknown> };
        expect(answer !== null && typeof answer === 'object' && !Array.isArray(answer)).toBe(true);
        expect(PLUGIN_ACTIONS).toContain(answer.action);
        expect(answer.params !== null && typeof answer.params === 'object').toBe(true);

        const gs = payload.game_state as { character: { hp: number; max_hp: number }; monsters?: Array<{ id: number | string }>; inventory?: Array<{ id: number | string; name: string; amount: number | string }> };
        const monsters = (gs.monsters ?? []).map((m) => Number(m.id));
        const held = (gs.inventory ?? []).filter((i) => Number(i.amount) > 0);
        if (gs.character.hp * 100 <= 15 * gs.character.max_hp) expect(OFFENSIVE_PLUGIN_ACTIONS.has(answer.action)).toBe(false);
        if (answer.action === 'attack_monster') expect(monsters).toContain(answer.params.target_id);
        if (answer.action === 'use_item') expect(held.map((i) => i.name)).toContain(answer.params.item);
        if (answer.action === 'emergency_heal') expect(held.some((i) => PLUGIN_HP_EMERGENCY_ITEMS.includes(Number(i.id)))).toBe(true);
        if (answer.action === 'teleport' && answer.params.method === 'fly_wing') expect(held.some((i) => Number(i.id) === 601)).toBe(true);
        if (answer.action === 'return_to_town') expect(held.some((i) => Number(i.id) === 602)).toBe(true);
        if (answer.action === 'move_to_position') expect([typeof answer.params.x, typeof answer.params.y]).toEqual(['number', 'number']);
      }),
      { numRuns: 300 },
    );
  });

  it('what is really wrong is still refused, with the error envelope (the plugin then decides locally)', async () => {
    const good = fieldDecideBody({ name: 'Refused' });
    const notANumber = structuredClone(good) as { game_state: { character: Record<string, unknown> } };
    notANumber.game_state.character.hp = 'full';
    const noCharacter = { ...good, game_state: { ...good.game_state, character: undefined } };
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { deep };
    const cases: Array<[string, { body?: unknown; rawBody?: string }, number]> = [
      ['hp not a number', { body: notANumber }, 400],
      ['no character', { body: noCharacter }, 400],
      ['nested too deep', { body: { ...good, extra: deep } }, 400],
      ['prototype poisoning', { rawBody: JSON.stringify(good).replace('{', '{"__proto__":{"polluted":true},') }, 400],
      ['larger than 1 MiB', { rawBody: JSON.stringify({ ...good, padding: 'x'.repeat(1024 * 1024) }) }, 413],
      ['an array', { body: [good] }, 400],
    ];
    for (const [name, init, status] of cases) {
      for (const base of [e.url, e.compatUrl!]) {
        const res = await request(`${base}/api/v1/decide`, { ...init, headers: { 'content-type': 'application/json' } });
        expect([name, res.status, res.body?.status, typeof res.body?.error?.code]).toEqual([name, status, 'error', 'string']);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
