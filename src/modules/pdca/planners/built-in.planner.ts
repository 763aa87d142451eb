import { renderMacroTemplate } from '../../macro';
import type { PartialGameState } from '../../state';
import type { MacroPlan, PdcaPlanner, PlanningContext, PlanType, Strategy } from '../pdca.types';
import { DEFAULT_TARGETS, normalizeMacros, PDCA_MACRO_NAMES } from '../strategy';

/** A value the templates accept where it is used (skill, item and map names come from the game, unchecked). */
function renders(template: 'combat_rotation' | 'farming_rotation' | 'party_support', params: Record<string, unknown>): boolean {
  try {
    renderMacroTemplate(template, { name: 'probe', ...params } as never);
    return true;
  } catch {
    return false;
  }
}

const POTION = /potion|herb|jelly|juice/i;
const HEAL = /heal/i;
/** Share of reflex decisions (emergencies) above which the planner plays safe. */
const CAUTIOUS_REFLEX_SHARE = 0.3;

const ratio = (v: number | undefined, max: number | undefined): number | null => (v !== undefined && max !== undefined && max > 0 ? v / max : null);
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));

/**
 * The default planner: deterministic rules over the freshest bot state and the decision counts.
 * With a party and a heal skill it supports; with skills and monsters around it fights with a
 * skill rotation (and a potion automacro when there are potions); otherwise it farms a small
 * loop around the bot's position. Many reflex decisions (emergencies) make it cautious. A plan
 * type the previous cycle rolled back is not proposed again while another one fits.
 */
export class BuiltInPlanner implements PdcaPlanner {
  readonly name = 'built-in';

  plan(context: PlanningContext): Promise<Strategy> {
    return Promise.resolve(this.planNow(context));
  }

  planNow(context: PlanningContext): Strategy {
    const primary = context.states[0];
    const base = {
      id: context.strategy_id,
      goal: context.goal,
      planner: this.name,
      character: primary?.character ?? primary?.state.character?.name ?? null,
      targets: { ...DEFAULT_TARGETS },
      created_at: new Date().toISOString(),
    };
    if (!primary) {
      return { ...base, plan_type: 'observe', rationale: 'no bot has reported a game state yet: nothing to plan from', macros: [] };
    }
    const stats = context.decision_stats;
    const reflexShare = stats && stats.total_decisions > 0 ? stats.reflex_decisions / stats.total_decisions : 0;
    const cautious = reflexShare > CAUTIOUS_REFLEX_SHARE;
    const candidates = this.candidates(primary.state, cautious);
    const avoid = context.previous?.decision === 'rollback' ? context.previous.strategy.plan_type : null;
    const chosen = candidates.find((c) => c.type !== avoid) ?? candidates[0];
    if (!chosen) {
      return { ...base, plan_type: 'observe', rationale: 'the reported state has nothing a template can use (no position, skills or party)', macros: [] };
    }
    const notes = [chosen.why];
    if (cautious) notes.push(`cautious: ${Math.round(reflexShare * 100)}% of decisions were reflexes (emergencies)`);
    if (avoid && chosen.type !== avoid) notes.push(`not ${avoid}: the previous cycle rolled it back`);
    return { ...base, plan_type: chosen.type, rationale: notes.join('; '), macros: normalizeMacros(chosen.macros) };
  }

  private candidates(state: Readonly<PartialGameState>, cautious: boolean): Array<{ type: PlanType; why: string; macros: MacroPlan[] }> {
    const c = state.character ?? {};
    const skills = (state.skills ?? []).filter((s) => typeof s.name === 'string' && renders('combat_rotation', { skills: [{ skill: s.name }] }));
    const monsters = state.monsters ?? [];
    const party = (state.party_members ?? []).length;
    const potion = (state.inventory ?? []).find(
      (i) => typeof i.name === 'string' && POTION.test(i.name) && (i.amount ?? 1) > 0 && renders('combat_rotation', { skills: [{ skill: 'x' }], potion: { item: i.name, hp_below_pct: 50 } }),
    );
    const hp = ratio(c.hp, c.max_hp);
    const sp = ratio(c.sp, c.max_sp);
    const out: Array<{ type: PlanType; why: string; macros: MacroPlan[] }> = [];

    const heal = skills.find((s) => HEAL.test(s.name!));
    if (party > 0 && heal) {
      out.push({
        type: 'support',
        why: `${party} party member(s) and ${heal.name} available: support the party`,
        macros: [
          {
            template: 'party_support',
            params: {
              name: PDCA_MACRO_NAMES.party_support,
              heal_skill: heal.name,
              heal_level: clamp(heal.level ?? 10, 1, 20),
              heal_below_pct: cautious ? 75 : 60,
              min_sp_pct: 15,
            },
          },
        ],
      });
    }

    const offensive = skills.filter((s) => !HEAL.test(s.name!)).sort((a, b) => (b.level ?? 0) - (a.level ?? 0));
    if (offensive.length > 0 && monsters.length > 0) {
      const aggressive = monsters.filter((m) => m.is_aggressive || m.is_attacking_me).length;
      const params: Record<string, unknown> = {
        name: PDCA_MACRO_NAMES.combat_rotation,
        skills: offensive.slice(0, cautious ? 2 : 3).map((s) => ({ skill: s.name, level: clamp(s.level ?? 1, 1, 20), target: 'monster', pause_s: cautious ? 1.5 : 1 })),
        min_sp_pct: sp !== null && sp < 0.3 ? 30 : 15,
        timeout_s: cautious ? 8 : 5,
      };
      if (potion?.name) params.potion = { item: potion.name, hp_below_pct: cautious || (hp !== null && hp < 0.5) ? 50 : 35 };
      out.push({
        type: 'combat',
        why: `${monsters.length} monster(s) around (${aggressive} aggressive) and ${offensive.length} skill(s): skill rotation${potion ? ` with ${potion.name}` : ''}`,
        macros: [{ template: 'combat_rotation', params }],
      });
    }

    const pos = c.position;
    if (pos && renders('farming_rotation', { map: pos.map, route: [{ x: 0, y: 0 }] })) {
      const r = cautious ? 6 : 10;
      const x = clamp(pos.x, 0, 1000);
      const y = clamp(pos.y, 0, 1000);
      const route = [
        { x: clamp(x + r, 0, 1000), y },
        { x, y: clamp(y + r, 0, 1000) },
        { x: clamp(x - r, 0, 1000), y },
        { x, y: clamp(y - r, 0, 1000) },
      ];
      const weight = ratio(c.weight, c.max_weight);
      out.push({
        type: 'farming',
        why: `farm a ${r}-cell loop around ${pos.map} (${x},${y})${weight !== null ? `, weight ${Math.round(weight * 100)}%` : ''}`,
        macros: [{ template: 'farming_rotation', params: { name: PDCA_MACRO_NAMES.farming_rotation, map: pos.map, route, laps: cautious ? 1 : 2, pause_s: 3, weight_limit_pct: 80 } }],
      });
    }
    return out;
  }
}
