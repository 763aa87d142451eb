import fc from 'fast-check';
import { sameHiddenClass } from '../../../common/testing/hidden-class.test-kit';
import type { GameState } from '../../state';
import { ActionType } from '../action';
import { reflexTier } from './reflex.tier';
import { DEFAULT_RULES, RuleValidationError, ruleTier, validateRules } from './rules';

const state = (over: Partial<GameState['character']> = {}, rest: Partial<GameState> = {}): GameState => ({
  character: { name: 'K', level: 50, hp: 800, max_hp: 1000, sp: 100, max_sp: 200, position: { map: 'prt', x: 50, y: 50 }, ...over },
  monsters: [],
  inventory: [],
  ...rest,
});

describe('reflex tier', () => {
  it('heals with a potion at low HP', () => {
    const r = reflexTier(state({ hp: 200 }, { inventory: [{ id: 501, name: 'Red Potion', amount: 3 }] }));
    expect(r?.action).toMatchObject({ type: ActionType.USE_ITEM, params: { item_id: 501 } });
  });

  it('teleports with a wing or flees at very low HP without a potion', () => {
    expect(reflexTier(state({ hp: 60 }, { inventory: [{ id: 601, name: 'Fly Wing', amount: 1 }] }))?.action.type).toBe(ActionType.TELEPORT);
    const flee = reflexTier(state({ hp: 60 }, { monsters: [{ id: 1, is_attacking_me: true, position: { map: 'prt', x: 55, y: 50 } }] }));
    expect(flee?.action).toMatchObject({ type: ActionType.MOVE_TO, params: { flee: true } });
    expect(flee!.action.params.x as number).toBeLessThan(50);
  });

  it('fights back at the weakest attacker when healthy', () => {
    const r = reflexTier(state({}, { monsters: [{ id: 1, hp: 90, is_attacking_me: true }, { id: 2, hp: 10, is_attacking_me: true }, { id: 3, hp: 1 }] }));
    expect(r?.action).toMatchObject({ type: ActionType.ATTACK, params: { target_id: 2 } });
  });

  it('property: below 15% HP the reflex never attacks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 149 }),
        fc.array(fc.record({ id: fc.nat(), hp: fc.nat(1000), distance: fc.nat(30), is_attacking_me: fc.boolean(), is_aggressive: fc.boolean() }), { maxLength: 8 }),
        fc.array(fc.record({ id: fc.integer({ min: 500, max: 620 }), amount: fc.nat(5) }), { maxLength: 4 }),
        (hp, monsters, inventory) => {
          const r = reflexTier(state({ hp }, { monsters, inventory }));
          expect(r).toBeDefined();
          expect([ActionType.ATTACK, ActionType.USE_SKILL]).not.toContain(r!.action.type);
        },
      ),
    );
  });
});

describe('rule tier', () => {
  const rules = validateRules(DEFAULT_RULES);

  it('farms the nearest monster when healthy', () => {
    const r = ruleTier(rules, state({}, { monsters: [{ id: 7, distance: 9 }, { id: 8, distance: 2, name: 'Poring' }] }));
    expect(r).toMatchObject({ rule: 'farm_nearest', action: { type: ActionType.ATTACK, params: { target_id: 8, target_name: 'Poring' } } });
  });

  it('builds the params of every decision with one hidden class, whichever monster it targets', () => {
    // As many as a farm's first seconds: V8 has optimized the function by then.
    const params = Array.from({ length: 20_000 }, (_, i) => ruleTier(rules, state({}, { monsters: [{ id: 100 + i, distance: 1, name: `M${i % 7}` }] }))!.action.params!);
    expect(params[19_999]).toEqual({ target_id: 20_099, target_name: 'M0' });
    expect(params.filter((p) => !sameHiddenClass(params[19_999], p))).toEqual([]);
  });

  it('rests when low and safe; stands up when recovered', () => {
    expect(ruleTier(rules, state({ hp: 400 }))?.rule).toBe('rest_when_low');
    expect(ruleTier(rules, state({ hp: 950, sp: 190, is_sitting: true }))?.rule).toBe('stand_when_recovered');
  });

  it('matches nothing for a healthy character alone (the planner takes over)', () => {
    expect(ruleTier(rules, state())).toBeUndefined();
  });

  it('validation names every problem', () => {
    try {
      validateRules({ rules: [{ name: 'a', priority: 1, reason: 'r', action: { type: 'DANCE' }, when: { hp_below_pct: 500, foo: 1 } }, { name: 'a' }] });
      throw new Error('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(RuleValidationError);
      const problems = (err as RuleValidationError).problems.join('\n');
      expect(problems).toContain('rules[0].action.type');
      expect(problems).toContain('rules[0].when.hp_below_pct');
      expect(problems).toContain('rules[0].when.foo');
      expect(problems).toContain('duplicate "a"');
    }
  });
});
