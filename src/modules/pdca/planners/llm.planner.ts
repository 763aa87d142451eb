import type { HttpConnectionPool } from '../../../common/network';
import { UpstreamError } from '../../../common/network';
import { MACRO_TEMPLATE_IDS, type MacroTemplateId, renderMacroTemplate } from '../../macro';
import { type MacroPlan, PLAN_TYPES, type PdcaPlanner, type PlanningContext, type PlanType, type Strategy } from '../pdca.types';
import { DEFAULT_TARGETS, MAX_STRATEGY_MACROS, normalizeMacros } from '../strategy';

export interface LlmPlannerOptions {
  /** OpenAI-compatible base URL (`…/v1`) or the full `…/chat/completions` URL. */
  url: string;
  apiKey?: string;
  model: string;
}

/** The answer was not a usable strategy (bad JSON, unknown template, parameters that do not render...). */
export class LlmAnswerError extends UpstreamError {}

const SYSTEM_PROMPT = [
  'You plan the next strategy of Ragnarok Online bots run by OpenKore.',
  'Answer with ONE JSON object and nothing else:',
  '{"plan_type": "combat"|"farming"|"support"|"observe", "goal": string, "rationale": string,',
  ' "macros": [{"template": "combat_rotation"|"farming_rotation"|"party_support", "params": {...}}]}',
  `At most ${MAX_STRATEGY_MACROS} macros, each template at most once. Parameters:`,
  'combat_rotation: {skills: [{skill, level?, target?: "monster"|"self", pause_s?}] (1-8), monster?, min_sp_pct?, potion?: {item, hp_below_pct}, timeout_s?}',
  'farming_rotation: {map, route: [{x, y}] (1-32), laps?, pause_s?, weight_limit_pct?, storage?: {map, npc_x, npc_y, items}}',
  'party_support: {heal_skill?, heal_level?, heal_below_pct?, buffs?: [{skill, level?}], buff_targets?: [int], min_sp_pct?}',
  'Use only skill, item and map names present in the state. "observe" means deploy nothing.',
].join('\n');

/** A compact view of the context: what a model needs, bounded in size. */
function describeContext(context: PlanningContext): string {
  const states = context.states.slice(0, 3).map((s) => {
    const st = s.state;
    return {
      character: st.character,
      skills: (st.skills ?? []).slice(0, 20).map((k) => ({ name: k.name, level: k.level, sp_cost: k.sp_cost })),
      monsters: (st.monsters ?? []).slice(0, 10).map((m) => ({ name: m.name, level: m.level, distance: m.distance, aggressive: m.is_aggressive })),
      inventory: (st.inventory ?? []).slice(0, 20).map((i) => ({ name: i.name, amount: i.amount, type: i.type })),
      party_members: (st.party_members ?? []).length,
      nearby_players: (st.nearby_players ?? []).length,
    };
  });
  return JSON.stringify({
    goal: context.goal,
    bots: states,
    decision_stats: context.decision_stats,
    previous: context.previous ? { plan_type: context.previous.strategy.plan_type, decision: context.previous.decision } : null,
  });
}

/** The first JSON object in a chat answer (models wrap it in prose or ``` fences). */
export function extractJsonObject(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const body = fenced ? fenced[1] : text;
  const start = body.indexOf('{');
  const end = body.lastIndexOf('}');
  if (start < 0 || end <= start) throw new LlmAnswerError('The answer holds no JSON object');
  try {
    return JSON.parse(body.slice(start, end + 1));
  } catch {
    throw new LlmAnswerError('The answer holds malformed JSON');
  }
}

/** Checks a model's proposal into a Strategy; every macro must render (same checks as any template). */
export function parseLlmStrategy(raw: unknown, context: PlanningContext, planner: string): Strategy {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new LlmAnswerError('The answer is not a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o.plan_type !== 'string' || !PLAN_TYPES.includes(o.plan_type as PlanType)) throw new LlmAnswerError(`plan_type must be one of ${PLAN_TYPES.join(', ')}`);
  const list = o.macros === undefined ? [] : o.macros;
  if (!Array.isArray(list) || list.length > MAX_STRATEGY_MACROS) throw new LlmAnswerError(`macros must be a list of at most ${MAX_STRATEGY_MACROS}`);
  const proposed: MacroPlan[] = list.map((m: unknown, i) => {
    const entry = m as { template?: unknown; params?: unknown } | null;
    if (!entry || typeof entry.template !== 'string' || !MACRO_TEMPLATE_IDS.includes(entry.template as MacroTemplateId)) {
      throw new LlmAnswerError(`macros[${i}].template must be one of ${MACRO_TEMPLATE_IDS.join(', ')}`);
    }
    if (entry.params === null || typeof entry.params !== 'object' || Array.isArray(entry.params)) throw new LlmAnswerError(`macros[${i}].params must be an object`);
    return { template: entry.template as MacroTemplateId, params: entry.params as Record<string, unknown> };
  });
  const macros = normalizeMacros(proposed);
  if (o.plan_type === 'observe' && macros.length > 0) throw new LlmAnswerError('an observe plan deploys no macro');
  for (const plan of macros) {
    try {
      renderMacroTemplate(plan.template, plan.params);
    } catch (err) {
      throw new LlmAnswerError(`macro ${plan.template} does not render: ${(err as Error).message}`);
    }
  }
  const text = (v: unknown, fallback: string) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 500) : fallback);
  const primary = context.states[0];
  return {
    id: context.strategy_id,
    plan_type: o.plan_type as PlanType,
    goal: text(o.goal, context.goal),
    rationale: text(o.rationale, 'proposed by the language model'),
    planner,
    character: primary?.character ?? primary?.state.character?.name ?? null,
    macros,
    targets: { ...DEFAULT_TARGETS },
    created_at: new Date().toISOString(),
  };
}

/**
 * Optional PLAN provider: an OpenAI-compatible chat completion through the bounded pool
 * (connection wait and request both bounded). Any failure throws; FallbackPlanner then asks the
 * built-in planner.
 */
export class LlmPlanner implements PdcaPlanner {
  readonly name: string;
  private readonly endpoint: string;

  constructor(
    private readonly pool: Pick<HttpConnectionPool, 'request'>,
    private readonly options: LlmPlannerOptions,
  ) {
    this.name = `llm:${options.model}`.slice(0, 64);
    const base = options.url.replace(/\/+$/, '');
    this.endpoint = /\/chat\/completions$/.test(base) ? base : `${base}/chat/completions`;
  }

  async plan(context: PlanningContext, signal: AbortSignal): Promise<Strategy> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const body = JSON.stringify({
      model: this.options.model,
      temperature: 0.2,
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: describeContext(context) },
      ],
    });
    const res = await this.pool.request(this.endpoint, { method: 'POST', headers, body, signal });
    if (res.status < 200 || res.status >= 300) throw new UpstreamError(`The language model answered HTTP ${res.status}`, { status: res.status });
    const completion = res.json<{ choices?: Array<{ message?: { content?: unknown } }> }>();
    const content = completion?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new LlmAnswerError('The completion has no message content');
    return parseLlmStrategy(extractJsonObject(content), context, this.name);
  }
}
