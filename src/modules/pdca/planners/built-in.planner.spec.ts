import fc from 'fast-check';
import { validateMacroSource } from '../../macro';
import type { PartialGameState } from '../../state';
import { knightState } from '../pdca.test-kit';
import type { PlanningContext, Strategy } from '../pdca.types';
import { renderStrategyFile } from '../strategy';
import { FakeMacros } from '../pdca.test-kit';
import { BuiltInPlanner } from './built-in.planner';

const planner = new BuiltInPlanner();
const ctx = (state?: PartialGameState, over: Partial<PlanningContext> = {}): PlanningContext => ({
  strategy_id: 'pdca-1',
  goal: 'g',
  states: state ? [{ session_id: 's', character: state.character?.name ?? null, updated_at: 1, state }] : [],
  decision_stats: null,
  previous: null,
  ...over,
});

/** The file DO would deploy must validate as eventMacro. */
function deployable(strategy: Strategy): boolean {
  const file = renderStrategyFile(strategy, (t, p) => new FakeMacros().render(t, p));
  return validateMacroSource(file.content).ok;
}

describe('BuiltInPlanner', () => {
  it('observes (deploys nothing) while no bot has reported a state', () => {
    const s = planner.planNow(ctx());
    expect(s).toMatchObject({ plan_type: 'observe', macros: [], planner: 'built-in', id: 'pdca-1' });
  });

  it('fights with a skill rotation and a potion automacro when skills and monsters are around', () => {
    const s = planner.planNow(ctx(knightState()));
    expect(s.plan_type).toBe('combat');
    expect(s.macros).toHaveLength(1);
    expect(s.macros[0]).toMatchObject({ template: 'combat_rotation', params: { name: 'pdca_combat', potion: { item: 'Red Potion' } } });
    expect((s.macros[0].params.skills as unknown[]).length).toBe(2);
    expect(deployable(s)).toBe(true);
  });

  it('supports the party when it has one and a heal skill; farms when no monster is around', () => {
    expect(planner.planNow(ctx(knightState({ party: true, skills: ['Heal', 'Blessing'] }))).plan_type).toBe('support');
    const farming = planner.planNow(ctx(knightState({ monsters: 0 })));
    expect(farming).toMatchObject({ plan_type: 'farming', macros: [{ template: 'farming_rotation', params: { map: 'prt_fild08' } }] });
    expect(deployable(farming)).toBe(true);
  });

  it('plays safe when many decisions were reflexes, and avoids a plan type the previous cycle rolled back', () => {
    const stats = { total_decisions: 10, reflex_decisions: 5, rule_decisions: 5, ml_decisions: 0, llm_decisions: 0 };
    const cautious = planner.planNow(ctx(knightState({ skills: ['Bash', 'Magnum Break', 'Bowling Bash'] }), { decision_stats: stats }));
    expect(cautious.rationale).toMatch(/cautious/);
    expect((cautious.macros[0].params.skills as unknown[]).length).toBe(2);
    expect(cautious.macros[0].params.potion).toMatchObject({ hp_below_pct: 50 });
    const previous = { strategy: cautious, decision: 'rollback' as const };
    expect(planner.planNow(ctx(knightState(), { previous })).plan_type).toBe('farming');
    expect(planner.planNow(ctx(knightState(), { previous: { ...previous, decision: 'keep' } })).plan_type).toBe('combat');
  });

  it('skips game names a template cannot render safely instead of failing', () => {
    const s = planner.planNow(ctx({ ...knightState({ skills: ['Bash"\n}\nmacro x {', 'Bash'] }), inventory: [{ id: 1, name: 'Potion}\n' }] }));
    expect(s.macros[0].params.skills).toEqual([expect.objectContaining({ skill: 'Bash' })]);
    expect(s.macros[0].params.potion).toBeUndefined();
    expect(deployable(s)).toBe(true);
  });

  it('whatever partial state it gets, every strategy it returns deploys as valid eventMacro (property)', () => {
    const name = fc.oneof(fc.constantFrom('Bash', 'Heal', 'Red Potion', 'Magnum Break', 'prt_fild08'), fc.string({ maxLength: 24 }));
    const state = fc.record(
      {
        character: fc.record(
          {
            name: fc.string({ minLength: 1, maxLength: 12 }),
            hp: fc.nat(2000),
            max_hp: fc.integer({ min: 1, max: 2000 }),
            sp: fc.nat(500),
            max_sp: fc.nat(500),
            weight: fc.nat(3000),
            max_weight: fc.nat(3000),
            position: fc.record({ map: name, x: fc.nat(2000), y: fc.nat(2000) }),
          },
          { requiredKeys: [] },
        ),
        skills: fc.array(fc.record({ id: fc.nat(), name, level: fc.integer({ min: 0, max: 30 }) }, { requiredKeys: ['id'] }), { maxLength: 6 }),
        monsters: fc.array(fc.record({ id: fc.nat(), is_aggressive: fc.boolean() }, { requiredKeys: ['id'] }), { maxLength: 4 }),
        inventory: fc.array(fc.record({ id: fc.nat(), name, amount: fc.nat(10) }, { requiredKeys: ['id'] }), { maxLength: 4 }),
        party_members: fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }) }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(state, fc.boolean(), (st, cautious) => {
        const stats = { total_decisions: 10, reflex_decisions: cautious ? 9 : 0, rule_decisions: 1, ml_decisions: 0, llm_decisions: 0 };
        const s = planner.planNow(ctx(st as PartialGameState, { decision_stats: stats }));
        expect(['combat', 'farming', 'support', 'observe']).toContain(s.plan_type);
        expect(s.plan_type === 'observe').toBe(s.macros.length === 0);
        expect(deployable(s)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
