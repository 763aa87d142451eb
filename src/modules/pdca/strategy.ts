import type { StrategySummary } from '../../common/ports/metrics-sources.port';
import type { MacroTemplateId } from '../macro';
import { SERIES } from '../metrics';
import type { RenderedMacros } from './pdca.ports';
import type { ActResult, CheckOutcome, MacroPlan, Strategy, StrategyTargets } from './pdca.types';

/** The one file (relative to MACRO_DIR) holding the current PDCA strategy's macros; each cycle replaces it whole. */
export const PDCA_MACRO_FILE = 'pdca/strategy.txt';

export const DEFAULT_TARGETS: StrategyTargets = Object.freeze({ min_success_rate: 0.6, min_samples: 5 });
/** ACT: below the target but at or above this success rate the strategy is adjusted; below it, rolled back. */
export const ROLLBACK_BELOW = 0.4;

/** Macro base names per template: stable across cycles, so a new strategy replaces the previous one's macros. */
export const PDCA_MACRO_NAMES: Record<MacroTemplateId, string> = {
  combat_rotation: 'pdca_combat',
  farming_rotation: 'pdca_farming',
  party_support: 'pdca_support',
};

export const MAX_STRATEGY_MACROS = 3;

/** One macro per template at most, named by us (whatever a planner proposed as `name`). */
export function normalizeMacros(plans: readonly MacroPlan[]): MacroPlan[] {
  const seen = new Set<string>();
  const out: MacroPlan[] = [];
  for (const plan of plans) {
    if (seen.has(plan.template) || out.length >= MAX_STRATEGY_MACROS) continue;
    seen.add(plan.template);
    out.push({ template: plan.template, params: { ...plan.params, name: PDCA_MACRO_NAMES[plan.template] } });
  }
  return out;
}

/** A comment line: one line, printable, bounded. */
function commentText(text: string, max = 160): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, max);
}

/**
 * The macro file of a strategy: every template rendered (which validates its parameters), one
 * after the other, under a header naming the strategy. A strategy without macros renders to a
 * comment-only file, which leaves no PDCA macro serving.
 */
export function renderStrategyFile(strategy: Pick<Strategy, 'id' | 'plan_type' | 'planner' | 'goal' | 'macros'>, render: (t: string, p: Record<string, unknown>) => RenderedMacros): RenderedMacros {
  const header = [`# PDCA strategy ${strategy.id} (${strategy.plan_type}, planner ${commentText(strategy.planner, 64)})`, `# goal: ${commentText(strategy.goal)}`, ''];
  const macros: string[] = [];
  const automacros: string[] = [];
  const parts: string[] = [header.join('\n')];
  for (const plan of strategy.macros) {
    const rendered = render(plan.template, plan.params);
    parts.push(rendered.content);
    macros.push(...rendered.macros);
    automacros.push(...rendered.automacros);
  }
  return { content: parts.join('\n'), macros, automacros };
}

/** What serves when a rollback finds nothing deployed before the cycle: no PDCA macro at all. */
export function emptyStrategyFile(reason: string): string {
  return `# PDCA: no strategy deployed (${commentText(reason)})\n`;
}

/**
 * CHECK: the strategy's outcomes as the bots logged them (`POST /metrics/log` with its
 * `strategy_id`). The strategy id is unique to the cycle, so the series' lifetime is the
 * execution period.
 */
export function evaluateOutcome(strategy: Strategy, summary: StrategySummary | null, now = Date.now()): CheckOutcome {
  const metrics: CheckOutcome['metrics'] = {};
  for (const [name, s] of Object.entries(summary?.metrics ?? {})) metrics[name] = { count: s.lifetime.count, mean: round(s.lifetime.mean) };
  const success = summary?.metrics[SERIES.decisionSuccess];
  const timing = summary?.metrics[SERIES.decisionProcessingMs];
  const samples = success?.lifetime.count ?? 0;
  const rate = samples > 0 ? round(success!.lifetime.mean) : null;
  let verdict: CheckOutcome['verdict'];
  if (samples < strategy.targets.min_samples || rate === null) verdict = 'insufficient_data';
  else verdict = rate >= strategy.targets.min_success_rate ? 'success' : 'failure';
  return {
    verdict,
    success_rate: rate,
    samples,
    avg_processing_ms: round(timing?.lifetime.mean ?? null),
    metrics,
    evaluated_at: new Date(now).toISOString(),
  };
}

/** ACT (spec: "if !outcome.success, adjust"): keep what works or cannot be judged yet, adjust a near miss, roll back a clear failure. */
export function decideAct(strategy: Strategy, outcome: CheckOutcome): ActResult {
  if (strategy.macros.length === 0) return { decision: 'keep', detail: 'nothing was deployed' };
  if (outcome.verdict === 'insufficient_data') {
    return { decision: 'keep', detail: `${outcome.samples} outcome(s) logged with strategy_id ${strategy.id}; ${strategy.targets.min_samples} needed to judge it` };
  }
  const rate = outcome.success_rate!;
  if (outcome.verdict === 'success') return { decision: 'keep', detail: `success rate ${rate} ≥ target ${strategy.targets.min_success_rate}` };
  if (rate >= ROLLBACK_BELOW) return { decision: 'adjust', detail: `success rate ${rate} below target ${strategy.targets.min_success_rate}: adjusting` };
  return { decision: 'rollback', detail: `success rate ${rate} below ${ROLLBACK_BELOW}: restoring the macros that served before` };
}

/** A more cautious version of the strategy's macros (longer pauses, earlier potions/heals, shorter routes). */
export function adjustMacros(macros: readonly MacroPlan[]): { macros: MacroPlan[]; adjustments: string[] } {
  const adjustments: string[] = [];
  const out = macros.map((plan): MacroPlan => {
    const p = { ...plan.params } as Record<string, unknown>;
    switch (plan.template) {
      case 'combat_rotation': {
        const skills = Array.isArray(p.skills) ? (p.skills as Array<Record<string, unknown>>) : [];
        if (skills.length > 1) {
          p.skills = skills.slice(0, -1);
          adjustments.push(`combat: dropped skill ${String(skills[skills.length - 1]?.skill)}`);
        }
        p.skills = (p.skills as Array<Record<string, unknown>>).map((s) => ({ ...s, pause_s: Math.min(60, ((s.pause_s as number | undefined) ?? 1) + 0.5) }));
        adjustments.push('combat: +0.5 s pause after each skill');
        const potion = p.potion as { item: string; hp_below_pct: number } | undefined;
        if (potion) {
          p.potion = { ...potion, hp_below_pct: Math.min(90, potion.hp_below_pct + 15) };
          adjustments.push(`combat: potion below ${(p.potion as { hp_below_pct: number }).hp_below_pct}% HP`);
        }
        p.timeout_s = Math.min(3600, ((p.timeout_s as number | undefined) ?? 5) + 3);
        break;
      }
      case 'farming_rotation': {
        p.laps = Math.max(1, ((p.laps as number | undefined) ?? 1) - 1);
        p.weight_limit_pct = Math.max(10, ((p.weight_limit_pct as number | undefined) ?? 80) - 10);
        adjustments.push(`farming: ${p.laps as number} lap(s), storage at ${p.weight_limit_pct as number}% weight`);
        break;
      }
      case 'party_support': {
        p.heal_below_pct = Math.min(95, ((p.heal_below_pct as number | undefined) ?? 60) + 15);
        adjustments.push(`support: heal below ${p.heal_below_pct as number}% HP`);
        break;
      }
    }
    return { template: plan.template, params: p };
  });
  return { macros: out, adjustments };
}

function round(v: number | null | undefined): number | null {
  return v === null || v === undefined ? null : Math.round(v * 1000) / 1000;
}
