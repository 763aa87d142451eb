import fc from 'fast-check';
import type { GameState } from '../state';
import { type Action, ActionType } from './action';
import { OFFENSIVE_PLUGIN_ACTIONS, PLUGIN_ACTIONS, PLUGIN_HP_EMERGENCY_ITEMS, type PluginKnowledge, toPluginAnswer } from './plugin-action';
import { BUILT_IN_HEALING } from './tiers/reflex.tier';

const JUNK = new Set([909, 914, 938]);
const k: PluginKnowledge = {
  healing: BUILT_IN_HEALING,
  holdsJunk: (s) => (s.inventory ?? []).some((i) => JUNK.has(i.id) && (i.amount ?? 1) > 0),
  skillHandle: (id) => ({ 5: 'SM_BASH', 26: 'AL_TELEPORT' })[id],
};

const state = (over: Partial<GameState['character']> = {}, rest: Partial<GameState> = {}): GameState => ({
  character: { name: 'Aster', level: 20, hp: 700, max_hp: 1000, sp: 40, max_sp: 80, position: { map: 'gef_fild10', x: 120, y: 66 }, ...over },
  monsters: [],
  inventory: [],
  ...rest,
});
const act = (type: ActionType, params: Record<string, unknown> = {}, reason = 'why'): Action => ({ type, params, reason });

describe('toPluginAnswer', () => {
  it('attacks only a monster the bot sees, naming a skill by handle', () => {
    const s = state({}, { monsters: [{ id: 3, name: 'Roda Frog', distance: 4 }, { id: 9, name: 'Smokie', distance: 2 }] });
    expect(toPluginAnswer(act(ActionType.ATTACK, { target_id: 3 }), s, k)).toMatchObject({ action: 'attack_monster', params: { target_id: 3, target_name: 'Roda Frog' } });
    expect(toPluginAnswer(act(ActionType.ATTACK, { target_id: 44 }), s, k)).toMatchObject({ action: 'attack_monster', params: { target_id: 9 } });
    expect(toPluginAnswer(act(ActionType.USE_SKILL, { target_id: 3, skill_id: 5 }), s, k)).toMatchObject({ action: 'attack_monster', params: { target_id: 3, skill: 'SM_BASH' } });
    expect(toPluginAnswer(act(ActionType.ATTACK, { target_id: 3 }), state(), k).action).toBe('continue');
    expect(toPluginAnswer(act(ActionType.USE_SKILL, { skill: 'AL_BLESSING' }), s, k).action).toBe('continue');
  });

  it('heals with the plugin’s emergency_heal when it holds one of its HP potions, else names the item held', () => {
    const potions = state({ hp: 200 }, { inventory: [{ id: 545, name: 'Condensed Red Potion', amount: 4 }, { id: 501, name: 'Red Potion', amount: 2, type: 'misc' }] });
    expect(toPluginAnswer(act(ActionType.USE_ITEM, { item_id: 545 }), potions, k).action).toBe('emergency_heal');
    const slim = state({ hp: 200 }, { inventory: [{ id: 545, name: 'Condensed Red Potion', amount: 4 }] });
    expect(toPluginAnswer(act(ActionType.USE_ITEM, { item_id: 545 }), slim, k)).toMatchObject({ action: 'use_item', params: { item: 'Condensed Red Potion' } });
    expect(toPluginAnswer(act(ActionType.USE_ITEM, { item_name: 'yellow potion' }), slim, k).action).toBe('continue');
    const gone = state({ hp: 900 }, { inventory: [{ id: 501, name: 'Red Potion', amount: 0 }] });
    expect(toPluginAnswer(act(ActionType.USE_ITEM, { item_id: 501 }), gone, k).action).toBe('continue');
  });

  it('teleports with what the bot has: Fly Wing, the teleport skill by handle, a Butterfly Wing, else flees', () => {
    const tp = act(ActionType.TELEPORT, { method: 'item' });
    expect(toPluginAnswer(tp, state({}, { inventory: [{ id: 601, name: 'Fly Wing', amount: 1 }] }), k)).toMatchObject({ action: 'teleport', params: { method: 'fly_wing' } });
    expect(toPluginAnswer(tp, state({}, { skills: [{ name: 'AL_TELEPORT', level: 1, sp_cost: 10 }] }), k)).toMatchObject({ action: 'teleport', params: { method: 'skill', skill: 'AL_TELEPORT' } });
    expect(toPluginAnswer(tp, state({}, { inventory: [{ id: 602, name: 'Butterfly Wing', amount: 1 }] }), k).action).toBe('return_to_town');
    expect(toPluginAnswer(tp, state(), k)).toMatchObject({ action: 'emergency_flee', params: { x: expect.any(Number), y: expect.any(Number) } });
  });

  it('moves by position or map, never blocks on idle, and sells only when junk is held', () => {
    expect(toPluginAnswer(act(ActionType.MOVE_TO, { map: 'gef_fild10', x: 130.4, y: 70 }), state(), k)).toMatchObject({ action: 'move_to_position', params: { x: 130, y: 70 } });
    expect(toPluginAnswer(act(ActionType.MOVE_TO, { map: 'pay_fild04', x: 1, y: 1 }), state(), k)).toMatchObject({ action: 'move_to_map', params: { target_map: 'pay_fild04' } });
    expect(toPluginAnswer(act(ActionType.NO_ACTION), state(), k).action).toBe('continue');
    expect(toPluginAnswer(act(ActionType.SIT), state(), k).action).toBe('rest');
    expect(toPluginAnswer(act(ActionType.STAND), state(), k)).toMatchObject({ action: 'idle_recover', params: { duration: 1 } });
    expect(toPluginAnswer(act(ActionType.STORAGE_PUT), state({}, { inventory: [{ id: 909, name: 'Jellopy', amount: 30 }] }), k).action).toBe('sell_items');
    expect(toPluginAnswer(act(ActionType.STORAGE_PUT), state(), k).action).toBe('continue');
    expect(toPluginAnswer(act(ActionType.EXECUTE_MACRO, { name: 'm' }), state(), k).action).toBe('continue');
  });

  it('property: always an action the plugin executes, about things the bot sees and holds; no fight at or below 15% HP', () => {
    const monster = fc.record({ id: fc.nat(40), name: fc.option(fc.constantFrom('Poporing', 'Hornet'), { nil: undefined }), distance: fc.option(fc.nat(30), { nil: undefined }) });
    const item = fc.record({
      id: fc.constantFrom(501, 502, 503, 507, 545, 601, 602, 909, 1201, 2301),
      name: fc.option(fc.constantFrom('Red Potion', 'Orange Potion', 'Fly Wing', 'Jellopy', 'Knife'), { nil: undefined }),
      amount: fc.option(fc.nat(3), { nil: undefined }),
    });
    const skill = fc.record({ name: fc.option(fc.constantFrom('AL_TELEPORT', 'SM_BASH', 'NV_BASIC'), { nil: undefined }), id: fc.option(fc.constantFrom(5, 26), { nil: undefined }), level: fc.option(fc.nat(3), { nil: undefined }), sp_cost: fc.option(fc.nat(30), { nil: undefined }) });
    const params = fc.record(
      {
        target_id: fc.oneof(fc.nat(40), fc.constant('$x')),
        item_id: fc.constantFrom(501, 545, 601, 909, 4242),
        item_name: fc.constantFrom('Red Potion', 'Jellopy', 'nothing'),
        skill: fc.constantFrom('SM_BASH', 'bash'),
        skill_id: fc.constantFrom(5, 26, 999),
        x: fc.oneof(fc.integer({ min: -5, max: 400 }), fc.double({ noNaN: false })),
        y: fc.integer({ min: -5, max: 400 }),
        map: fc.constantFrom('gef_fild10', 'pay_fild04'),
        flee: fc.boolean(),
        method: fc.constantFrom('item', 'skill', 'any'),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(ActionType)),
        params,
        fc.integer({ min: 0, max: 1000 }),
        fc.array(monster, { maxLength: 5 }),
        fc.array(item, { maxLength: 5 }),
        fc.array(skill, { maxLength: 3 }),
        (type, p, hp, monsters, inventory, skills) => {
          const s = state({ hp, max_hp: 1000 }, { monsters, inventory, skills });
          const a = toPluginAnswer(act(type, p as Record<string, unknown>), s, k);
          const held = inventory.filter((i) => i.amount === undefined || i.amount > 0);
          expect(PLUGIN_ACTIONS).toContain(a.action);
          expect(typeof a.reason).toBe('string');
          if (hp <= 150) expect(OFFENSIVE_PLUGIN_ACTIONS.has(a.action)).toBe(false);
          if (a.action === 'attack_monster') expect(monsters.map((m) => m.id)).toContain(a.params.target_id);
          if (a.action === 'use_item') expect(held.map((i) => i.name)).toContain(a.params.item);
          if (a.action === 'emergency_heal') expect(held.some((i) => PLUGIN_HP_EMERGENCY_ITEMS.includes(i.id))).toBe(true);
          if (a.action === 'teleport' && a.params.method === 'fly_wing') expect(held.some((i) => i.id === 601)).toBe(true);
          if (a.action === 'teleport' && a.params.method === 'skill') expect(skills.some((sk) => sk.name === 'AL_TELEPORT' || sk.id === 26)).toBe(true);
          if (a.action === 'return_to_town') expect(held.some((i) => i.id === 602)).toBe(true);
          if (a.action === 'sell_items') expect(held.some((i) => JUNK.has(i.id))).toBe(true);
          if (a.action === 'move_to_position' || a.action === 'emergency_flee') {
            expect(Number.isInteger(a.params.x) && (a.params.x as number) >= 0).toBe(true);
            expect(Number.isInteger(a.params.y) && (a.params.y as number) >= 0).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
