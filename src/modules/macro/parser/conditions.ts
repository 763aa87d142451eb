import type { AutomacroCondition, Comparison, ConditionKind } from './ast';

/**
 * Keywords an automacro understands (matched case-insensitively), with the shape of their value.
 * Options (timeout, run-once, priority, exclusive, …) are listed too: they sit in the same
 * `key value` lines. Anything else in an automacro is an unknown keyword.
 */
interface KeywordSpec {
  canonical: string;
  kind: ConditionKind;
  /** Options configure the automacro; they do not trigger it and may appear once. */
  option?: boolean;
  /** Whether a % value is meaningful (hp, sp, weight). */
  percent?: boolean;
}

const SPECS: readonly KeywordSpec[] = [
  { canonical: 'hp', kind: 'stat', percent: true },
  { canonical: 'sp', kind: 'stat', percent: true },
  { canonical: 'CurrentHP', kind: 'stat', percent: true },
  { canonical: 'CurrentSP', kind: 'stat', percent: true },
  { canonical: 'weight', kind: 'stat', percent: true },
  { canonical: 'CharCurrentWeight', kind: 'stat', percent: true },
  { canonical: 'cartweight', kind: 'stat', percent: true },
  { canonical: 'zeny', kind: 'stat' },
  { canonical: 'BaseLevel', kind: 'stat' },
  { canonical: 'JobLevel', kind: 'stat' },
  { canonical: 'base', kind: 'stat' },
  { canonical: 'job', kind: 'stat' },
  { canonical: 'aggressives', kind: 'count' },
  { canonical: 'AggressiveCount', kind: 'count' },
  { canonical: 'location', kind: 'location' },
  { canonical: 'InMap', kind: 'maps' },
  { canonical: 'InLockMap', kind: 'flag' },
  { canonical: 'InSaveMap', kind: 'flag' },
  { canonical: 'monster', kind: 'mobs' },
  { canonical: 'MobNear', kind: 'mobs' },
  { canonical: 'MobNearCount', kind: 'mobs' },
  { canonical: 'InInventory', kind: 'item' },
  { canonical: 'InStorage', kind: 'item' },
  { canonical: 'InCart', kind: 'item' },
  { canonical: 'status', kind: 'text' },
  { canonical: 'StatusActiveHandle', kind: 'text' },
  { canonical: 'console', kind: 'text' },
  { canonical: 'pm', kind: 'text' },
  { canonical: 'pubm', kind: 'text' },
  { canonical: 'partym', kind: 'text' },
  { canonical: 'guildm', kind: 'text' },
  { canonical: 'PlayerNear', kind: 'text' },
  { canonical: 'NpcNear', kind: 'text' },
  { canonical: 'ConfigKey', kind: 'text' },
  // options
  { canonical: 'timeout', kind: 'number', option: true },
  { canonical: 'run-once', kind: 'flag', option: true },
  { canonical: 'priority', kind: 'number', option: true },
  { canonical: 'exclusive', kind: 'flag', option: true },
  { canonical: 'overrideAI', kind: 'flag', option: true },
  { canonical: 'disabled', kind: 'flag', option: true },
  { canonical: 'delay', kind: 'number', option: true },
  { canonical: 'macro_delay', kind: 'number', option: true },
  { canonical: 'repeat', kind: 'number', option: true },
  { canonical: 'self_interruptible', kind: 'flag', option: true },
  { canonical: 'orphan', kind: 'orphan', option: true },
];

const BY_KEY = new Map<string, KeywordSpec>(SPECS.map((s) => [s.canonical.toLowerCase(), s]));
BY_KEY.set('runonce', BY_KEY.get('run-once')!);
BY_KEY.set('run_once', BY_KEY.get('run-once')!);

export function conditionSpec(keyword: string): KeywordSpec | undefined {
  return BY_KEY.get(keyword.toLowerCase());
}

export class ConditionValueError extends Error {}

const NUMBER = /^-?\d+(?:\.\d+)?$/;
const MAP_NAME = /^[A-Za-z0-9_@.-]{1,40}$/;

/** `< 50%`, `>= 1000`, `20..80%`, `50` (equality). */
export function parseComparison(text: string, allowPercent: boolean): Comparison {
  const t = text.trim();
  const range = /^(-?\d+(?:\.\d+)?)(%?)\s*\.\.\s*(-?\d+(?:\.\d+)?)(%?)$/.exec(t);
  if (range) {
    const percent = range[2] === '%' || range[4] === '%';
    const from = Number(range[1]);
    const to = Number(range[3]);
    if (from > to) throw new ConditionValueError(`range ${from}..${to} is empty`);
    return checkPercent({ op: 'range', value: from, to, percent }, allowPercent);
  }
  const m = /^(<=|>=|==|!=|<|>|=)?\s*(-?\d+(?:\.\d+)?)\s*(%?)$/.exec(t);
  if (!m) throw new ConditionValueError(`expected a comparison like "< 50${allowPercent ? '%' : ''}", got "${t}"`);
  const op = (m[1] === '=' || m[1] === undefined ? '==' : m[1]) as Comparison['op'];
  return checkPercent({ op, value: Number(m[2]), percent: m[3] === '%' }, allowPercent);
}

function checkPercent(c: Comparison, allowPercent: boolean): Comparison {
  if (!c.percent) return c;
  if (!allowPercent) throw new ConditionValueError('a percentage is not meaningful here');
  const hi = c.to ?? c.value;
  if (c.value < 0 || hi > 100) throw new ConditionValueError('a percentage must be between 0 and 100');
  return c;
}

/** Parses the value of an automacro line into a condition; throws ConditionValueError. */
export function parseCondition(line: number, keyword: string, spec: KeywordSpec, rawValue: string): AutomacroCondition {
  const value = rawValue.trim();
  const base: AutomacroCondition = { line, keyword, canonical: spec.canonical, kind: spec.kind, value };
  if (value === '') throw new ConditionValueError(`"${keyword}" needs a value`);
  switch (spec.kind) {
    case 'stat':
    case 'count':
      return { ...base, comparison: parseComparison(value, spec.percent === true) };
    case 'number':
      if (!NUMBER.test(value) || Number(value) < 0) throw new ConditionValueError(`"${keyword}" needs a non-negative number, got "${value}"`);
      return base;
    case 'flag':
      if (value !== '0' && value !== '1') throw new ConditionValueError(`"${keyword}" is 0 or 1, got "${value}"`);
      return base;
    case 'orphan':
      if (!['terminate', 'terminate_last_call', 'reregister', 'reregister_safe'].includes(value)) {
        throw new ConditionValueError(`"orphan" is terminate, terminate_last_call, reregister or reregister_safe, got "${value}"`);
      }
      return base;
    case 'maps': {
      const { negated, rest } = stripNot(value);
      const names = rest.split(',').map((s) => s.trim());
      if (names.some((n) => !MAP_NAME.test(n))) throw new ConditionValueError(`"${keyword}" needs map names separated by commas, got "${value}"`);
      return { ...base, names, negated };
    }
    case 'location': {
      // location [not] map [x1 y1 [x2 y2]] [, map …]
      const { negated, rest } = stripNot(value);
      const names: string[] = [];
      for (const part of rest.split(',')) {
        const words = part.trim().split(/\s+/);
        if (!MAP_NAME.test(words[0] ?? '') || ![1, 3, 5].includes(words.length) || !words.slice(1).every((w) => /^\d+$/.test(w))) {
          throw new ConditionValueError(`"location" needs "map [x1 y1 [x2 y2]]", got "${part.trim()}"`);
        }
        names.push(words[0]);
      }
      return { ...base, names, negated };
    }
    case 'mobs': {
      // MobNear Poring[, Drops] [op count]
      const { negated, rest } = stripNot(value);
      const cmp = /\s*(<=|>=|==|!=|<|>|=)\s*(\d+)\s*$/.exec(rest);
      const namesPart = cmp ? rest.slice(0, cmp.index) : rest;
      const names = namesPart.split(',').map((s) => unquote(s.trim()));
      if (names.some((n) => n === '' || n.length > 40)) throw new ConditionValueError(`"${keyword}" needs monster names, got "${value}"`);
      return { ...base, names, negated, comparison: cmp ? parseComparison(`${cmp[1]} ${cmp[2]}`, false) : undefined };
    }
    case 'item': {
      // InInventory "Red Potion" < 5
      const m = /^(?:"([^"]{1,60})"|([^\s"<>=!]{1,60}))\s*(.*)$/.exec(value);
      if (!m || m[3].trim() === '') throw new ConditionValueError(`"${keyword}" needs "item name" and a comparison, got "${value}"`);
      return { ...base, names: [m[1] ?? m[2]], comparison: parseComparison(m[3], false) };
    }
    case 'text':
      return base;
  }
}

function stripNot(value: string): { negated: boolean; rest: string } {
  const m = /^not\s+(.*)$/i.exec(value);
  return m ? { negated: true, rest: m[1] } : { negated: false, rest: value };
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

export function isOption(spec: KeywordSpec): boolean {
  return spec.option === true;
}
