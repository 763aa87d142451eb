import { InvalidRequestError } from '../../../common/errors/app.error';
import { NAME_PATTERN } from '../language/validator';

/**
 * Macro templates the PDCA cycle renders with parameters and deploys (MacroService.deployTemplate).
 * Every rendered file is one eventMacro loads whole — no block or line ignored, no line it would
 * stop on (the unit tests run it through the validator):
 * parameters are checked first, so no value can break out of its line or its block.
 */
export type MacroTemplateId = 'combat_rotation' | 'farming_rotation' | 'party_support';

export const MACRO_TEMPLATE_IDS: readonly MacroTemplateId[] = ['combat_rotation', 'farming_rotation', 'party_support'];

export interface SkillStep {
  /** Skill name as OpenKore knows it (e.g. "Bash", "Magnum Break"). */
  skill: string;
  level?: number;
  /** `monster` (sm on the nearest monster) or `self` (ss). Default monster. */
  target?: 'monster' | 'self';
  /** Pause after the skill, seconds (default 1). */
  pause_s?: number;
}

export interface CombatRotationParams {
  /** Base name: macro `<name>`, automacro `<name>_trigger` (and `<name>_potion`). */
  name: string;
  skills: SkillStep[];
  /** Trigger only near this monster; default: when aggressive monsters are around. */
  monster?: string;
  /** Trigger only with SP above this percentage. */
  min_sp_pct?: number;
  /** Finish each rotation with a normal attack on the nearest monster. Default true. */
  finish_with_attack?: boolean;
  /** Drink `item` when HP falls below `hp_below_pct`. */
  potion?: { item: string; hp_below_pct: number };
  /** Seconds between two triggers of the rotation (default 5). */
  timeout_s?: number;
  priority?: number;
}

export interface Waypoint {
  x: number;
  y: number;
}

export interface FarmingRotationParams {
  name: string;
  /** The map farmed: the trigger fires there. */
  map: string;
  route: Waypoint[];
  /** Route laps per trigger (default 1). */
  laps?: number;
  /** Seconds to wait at each waypoint (default 3). */
  pause_s?: number;
  /** Go to storage at or above this weight percentage (default 80). */
  weight_limit_pct?: number;
  /** Storage trip: NPC position and the items to store. */
  storage?: { map: string; npc_x: number; npc_y: number; items: string[] };
  /** Only between these base levels. */
  min_level?: number;
  max_level?: number;
  timeout_s?: number;
}

export interface BuffStep {
  skill: string;
  level?: number;
}

export interface PartySupportParams {
  name: string;
  heal_skill?: string;
  heal_level?: number;
  /** Heal at or below this HP percentage (default 60). */
  heal_below_pct?: number;
  buffs?: BuffStep[];
  /** Players (index in OpenKore's player list) to buff too, besides self. */
  buff_targets?: number[];
  /** Seconds between two buff rounds (default 120). */
  buff_interval_s?: number;
  /** Only with SP above this percentage (default 15). */
  min_sp_pct?: number;
}

export interface TemplateParamsById {
  combat_rotation: CombatRotationParams;
  farming_rotation: FarmingRotationParams;
  party_support: PartySupportParams;
}

export interface RenderedTemplate {
  template: MacroTemplateId;
  name: string;
  /** Suggested file, relative to MACRO_DIR. */
  file: string;
  content: string;
  macros: string[];
  automacros: string[];
}

export class TemplateParameterError extends InvalidRequestError {}

export const TEMPLATE_DESCRIPTIONS: Record<MacroTemplateId, string> = {
  combat_rotation: 'Skill rotation on nearby monsters (sm/ss per step, pauses between), optional potion automacro',
  farming_rotation: 'Walk a route on a map for some laps; storage trip when heavy',
  party_support: 'Heal below an HP threshold; periodic buffs on self and listed party players',
};

/** Renders a template; throws TemplateParameterError (400) for parameters it cannot render safely. */
export function renderMacroTemplate<T extends MacroTemplateId>(template: T, params: TemplateParamsById[T]): RenderedTemplate;
export function renderMacroTemplate(template: string, params: unknown): RenderedTemplate;
export function renderMacroTemplate(template: string, params: unknown): RenderedTemplate {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new TemplateParameterError('Template parameters must be an object');
  switch (template) {
    case 'combat_rotation':
      return renderCombat(params as CombatRotationParams);
    case 'farming_rotation':
      return renderFarming(params as FarmingRotationParams);
    case 'party_support':
      return renderParty(params as PartySupportParams);
    default:
      throw new TemplateParameterError(`Unknown macro template "${template}"`, { templates: MACRO_TEMPLATE_IDS });
  }
}

// ---------------------------------------------------------------- parameter checks

const LABEL = /^[A-Za-z0-9][A-Za-z0-9 '_.:+-]{0,39}$/;
const MAP = /^[A-Za-z0-9_@.-]{1,40}$/;

function baseName(v: unknown): string {
  if (typeof v !== 'string' || !NAME_PATTERN.test(v) || v.length > 48) {
    throw new TemplateParameterError('name: 1-48 letters, digits, "_", "-" or "." (it becomes macro names and a file name)');
  }
  return v;
}

function label(v: unknown, field: string): string {
  if (typeof v !== 'string' || !LABEL.test(v) || v.trim() !== v) throw new TemplateParameterError(`${field}: 1-40 letters, digits, spaces and ' _ . : + -`);
  return v;
}

/**
 * A label written on an automacro line. eventMacro takes any automacro line containing "call "
 * followed by something other than "{" for a call line (FileParser.pm, unanchored, quotes or not)
 * and skips it when it is not `call MACRO`: such a label cannot be written there at all.
 */
function automacroLabel(v: unknown, field: string): string {
  const text = label(v, field);
  if (/call [^{]/.test(text)) throw new TemplateParameterError(`${field}: must not contain "call " (eventMacro reads an automacro line containing it as a call)`);
  return text;
}

function mapName(v: unknown, field: string): string {
  if (typeof v !== 'string' || !MAP.test(v)) throw new TemplateParameterError(`${field}: a map name like prt_fild08`);
  return v;
}

function int(v: unknown, field: string, min: number, max: number, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TemplateParameterError(`${field}: a whole number from ${min} to ${max}`);
  return v;
}

function seconds(v: unknown, field: string, fallback: number, max = 3600): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new TemplateParameterError(`${field}: seconds from 0 to ${max}`);
  return Math.round(v * 1000) / 1000;
}

function list<T>(v: unknown, field: string, min: number, max: number): T[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) throw new TemplateParameterError(`${field}: a list of ${min} to ${max} entries`);
  return v as T[];
}

/** A label inside an eventMacro condition regex: its `.` and `+` taken literally. */
function regexLiteral(text: string): string {
  return text.replace(/[.+]/g, '\\$&');
}

function header(template: MacroTemplateId, name: string): string[] {
  return [`# Generated by openkore-ai-engine from template "${template}" (${name}). Edits are overwritten on redeploy.`, ''];
}

function rendered(template: MacroTemplateId, name: string, lines: string[], macros: string[], automacros: string[]): RenderedTemplate {
  return { template, name, file: `generated/${name}.txt`, content: `${lines.join('\n')}\n`, macros, automacros };
}

// ---------------------------------------------------------------- templates

function renderCombat(p: CombatRotationParams): RenderedTemplate {
  const name = baseName(p.name);
  const skills = list<SkillStep>(p.skills, 'skills', 1, 8);
  const lines = header('combat_rotation', name);
  const macros = [name];
  const automacros = [`${name}_trigger`];
  lines.push(`automacro ${name}_trigger {`);
  if (p.monster !== undefined) lines.push(`    MobNear /^${regexLiteral(automacroLabel(p.monster, 'monster'))}$/`);
  else lines.push('    MobNearCount > 0');
  if (p.min_sp_pct !== undefined) lines.push(`    CurrentSP > ${int(p.min_sp_pct, 'min_sp_pct', 0, 99)}%`);
  lines.push(`    timeout ${seconds(p.timeout_s, 'timeout_s', 5)}`);
  if (p.priority !== undefined) lines.push(`    priority ${int(p.priority, 'priority', 0, 100)}`);
  lines.push('    exclusive 1', `    call ${name}`, '}', '');
  lines.push(`macro ${name} {`);
  skills.forEach((step, i) => {
    if (typeof step !== 'object' || step === null) throw new TemplateParameterError(`skills[${i}]: an object`);
    const skill = label(step.skill, `skills[${i}].skill`);
    const level = int(step.level, `skills[${i}].level`, 1, 20, 1);
    const target = step.target ?? 'monster';
    if (target !== 'monster' && target !== 'self') throw new TemplateParameterError(`skills[${i}].target: monster or self`);
    lines.push(target === 'self' ? `    do ss "${skill}" ${level}` : `    do sm "${skill}" 0 ${level}`);
    lines.push(`    pause ${seconds(step.pause_s, `skills[${i}].pause_s`, 1, 60)}`);
  });
  if (p.finish_with_attack !== false) lines.push('    do attack 0', '    pause 1');
  lines.push('}');
  if (p.potion !== undefined) {
    const item = automacroLabel(p.potion?.item, 'potion.item');
    const below = int(p.potion?.hp_below_pct, 'potion.hp_below_pct', 1, 99);
    lines.push('', `automacro ${name}_potion {`, `    CurrentHP < ${below}%`, `    InInventory "${item}" > 0`, '    timeout 2', '    priority 0', `    call ${name}_potion`, '}', '');
    lines.push(`macro ${name}_potion {`, `    do is ${item}`, '    pause 0.5', '}');
    macros.push(`${name}_potion`);
    automacros.push(`${name}_potion`);
  }
  return rendered('combat_rotation', name, lines, macros, automacros);
}

function renderFarming(p: FarmingRotationParams): RenderedTemplate {
  const name = baseName(p.name);
  const map = mapName(p.map, 'map');
  const route = list<Waypoint>(p.route, 'route', 1, 32);
  const laps = int(p.laps, 'laps', 1, 100, 1);
  const pause = seconds(p.pause_s, 'pause_s', 3, 600);
  const weight = int(p.weight_limit_pct, 'weight_limit_pct', 10, 99, 80);
  const lines = header('farming_rotation', name);
  const macros = [name];
  const automacros = [`${name}_trigger`];
  lines.push(`automacro ${name}_trigger {`, `    InMap ${map}`, `    CharCurrentWeight < ${weight}%`);
  if (p.min_level !== undefined) lines.push(`    BaseLevel >= ${int(p.min_level, 'min_level', 1, 999)}`);
  if (p.max_level !== undefined) lines.push(`    BaseLevel <= ${int(p.max_level, 'max_level', 1, 999)}`);
  lines.push(`    timeout ${seconds(p.timeout_s, 'timeout_s', 30)}`, `    call ${name}`, '}', '');
  lines.push(`macro ${name} {`, '    $lap = 0', `    while ($lap < ${laps}) {`);
  route.forEach((wp, i) => {
    if (typeof wp !== 'object' || wp === null) throw new TemplateParameterError(`route[${i}]: {x, y}`);
    lines.push(`        do move ${int(wp.x, `route[${i}].x`, 0, 1000)} ${int(wp.y, `route[${i}].y`, 0, 1000)}`, `        pause ${pause}`);
  });
  lines.push('        $lap++', '    }', `    log farming lap $lap done on ${map}`, '}');
  if (p.storage !== undefined) {
    const s = p.storage;
    const smap = mapName(s?.map, 'storage.map');
    const x = int(s?.npc_x, 'storage.npc_x', 0, 1000);
    const y = int(s?.npc_y, 'storage.npc_y', 0, 1000);
    const items = list<string>(s?.items, 'storage.items', 0, 20).map((it, i) => label(it, `storage.items[${i}]`));
    lines.push('', `automacro ${name}_storage_trigger {`, `    CharCurrentWeight >= ${weight}%`, '    exclusive 1', '    timeout 60', `    call ${name}_storage`, '}', '');
    lines.push(`macro ${name}_storage {`, `    do move ${smap} ${x} ${y}`, '    pause 5', `    do talknpc ${x} ${y}`, '    pause 2');
    for (const item of items) lines.push(`    do storage add ${item}`, '    pause 1');
    lines.push(`    do move ${map}`, '    pause 5', '}');
    macros.push(`${name}_storage`);
    automacros.push(`${name}_storage_trigger`);
  }
  return rendered('farming_rotation', name, lines, macros, automacros);
}

function renderParty(p: PartySupportParams): RenderedTemplate {
  const name = baseName(p.name);
  const healSkill = label(p.heal_skill ?? 'Heal', 'heal_skill');
  const healLevel = int(p.heal_level, 'heal_level', 1, 20, 10);
  const below = int(p.heal_below_pct, 'heal_below_pct', 1, 99, 60);
  const minSp = int(p.min_sp_pct, 'min_sp_pct', 0, 99, 15);
  const buffs = p.buffs === undefined ? [] : list<BuffStep>(p.buffs, 'buffs', 0, 8);
  const targets = p.buff_targets === undefined ? [] : list<number>(p.buff_targets, 'buff_targets', 0, 11).map((t, i) => int(t, `buff_targets[${i}]`, 0, 999));
  const lines = header('party_support', name);
  const macros = [`${name}_heal`];
  const automacros = [`${name}_heal`];
  lines.push(`automacro ${name}_heal {`, `    CurrentHP < ${below}%`, `    CurrentSP > ${minSp}%`, '    timeout 3', '    priority 1', `    call ${name}_heal`, '}', '');
  lines.push(`macro ${name}_heal {`, `    do ss "${healSkill}" ${healLevel}`, '    pause 1', '}');
  if (buffs.length > 0) {
    const interval = seconds(p.buff_interval_s, 'buff_interval_s', 120);
    lines.push('', `automacro ${name}_buffs {`, `    CurrentSP > ${Math.max(minSp, 30)}%`, `    timeout ${interval}`, `    call ${name}_buffs`, '}', '');
    lines.push(`macro ${name}_buffs {`);
    buffs.forEach((b, i) => {
      if (typeof b !== 'object' || b === null) throw new TemplateParameterError(`buffs[${i}]: {skill, level?}`);
      const skill = label(b.skill, `buffs[${i}].skill`);
      const level = int(b.level, `buffs[${i}].level`, 1, 20, 10);
      lines.push(`    do ss "${skill}" ${level}`, '    pause 1');
      for (const t of targets) lines.push(`    do sp "${skill}" ${t} ${level}`, '    pause 1');
    });
    lines.push('}');
    macros.push(`${name}_buffs`);
    automacros.push(`${name}_buffs`);
  }
  return rendered('party_support', name, lines, macros, automacros);
}
