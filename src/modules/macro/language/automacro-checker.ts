import type { AutomacroBlock, ConditionInfo, Diagnostic, DiagnosticCode } from './ast';
import { compilesAsRegex, parseRegex } from './condition-validators';
import { CONDITION_TYPES, parseConditionValue } from './conditions';

/**
 * An automacro through eventMacro's loader (eventMacro/Core.pm create_automacro_list), check by
 * check in its order: the first failed check drops the automacro (the rest of the file loads);
 * a condition key that names no condition module stops the loader — the whole file is refused —
 * but only when the loader gets that far in this automacro.
 */

export interface AutomacroVerdict {
  /** Why eventMacro drops the automacro (null: it loads). */
  ignored: Diagnostic | null;
  /** The loader dies on this condition: the file is refused. */
  refusal: Diagnostic | null;
  /** Advice about values eventMacro accepts but that are likely mistakes. */
  advice: Diagnostic[];
  /** The macro its `call` names that no file defines (the automacro waits for it). */
  missingMacro: string | null;
}

const PARAMETER_RULES: Record<string, [RegExp, string]> = {
  delay: [/^[\d.]*\d+$/, 'delay parameter should be a number'],
  'run-once': [/^[01]$/, "run-once parameter should be '0' or '1'"],
  CheckOnAI: [/^(auto|off|manual)(\s*,\s*(auto|off|manual))*$/, "CheckOnAI parameter should be a list containing only the values 'auto', 'manual' and 'off'"],
  CheckOnCycleStage: [/^(AI_start|AI_pre|AI_middle|AI_post)$/, "CheckOnCycleStage parameter should be 'AI_start', 'AI_pre', 'AI_middle' or 'AI_post'"],
  disabled: [/^[01]$/, "disabled parameter should be '0' or '1'"],
  overrideAI: [/^[01]$/, "overrideAI parameter should be '0' or '1'"],
  overrideNotWhenInQueue: [/^[01]$/, "overrideNotWhenInQueue parameter should be '0' or '1'"],
  exclusive: [/^[01]$/, "exclusive parameter should be '0' or '1'"],
  self_interruptible: [/^[01]$/, "self_interruptible parameter should be '0' or '1'"],
  priority: [/^\d+$/, 'priority parameter should be a number'],
  macro_delay: [/^[\d.]*\d+$/, 'macro_delay parameter should be a number (decimals are accepted)'],
  orphan: [/^(terminate|terminate_last_call|reregister|reregister_safe)$/, "orphan parameter should be 'terminate', 'terminate_last_call', 'reregister' or 'reregister_safe'"],
  repeat: [/^\d+$/, 'repeat parameter should be a number'],
};

/**
 * Checks `auto` and fills its call, options and conditions when it loads. `macroExists` answers
 * for the folder as a whole (eventMacro looks macros up by name, case-insensitively).
 */
export function checkAutomacro(auto: AutomacroBlock, macroExists: (name: string) => boolean): AutomacroVerdict {
  const verdict: AutomacroVerdict = { ignored: null, refusal: null, advice: [], missingMacro: null };
  const ignore = (code: DiagnosticCode, line: number, message: string): AutomacroVerdict => {
    verdict.ignored = { severity: 'warning', code, effect: 'block_ignored', line, message: `eventMacro ignores automacro "${auto.name}": ${message}`, block: auto.name };
    return verdict;
  };
  if (/\s/.test(auto.name)) return ignore('INVALID_NAME', auto.line, 'its name contains a space');
  const conditions = auto.entries.filter((e) => e.role === 'condition');
  const parameters = auto.entries.filter((e) => e.role === 'parameter');
  if (conditions.length === 0) return ignore('NO_CONDITION', auto.line, 'it has no condition');
  if (parameters.length === 0) return ignore('NO_PARAMETER', auto.line, 'it has no parameter (not even "call")');

  const options: Record<string, string> = {};
  for (const p of parameters) {
    if (p.key in options) return ignore('DUPLICATE_PARAMETER', p.line, `parameter "${p.key}" is set twice`);
    if (p.key === 'call') {
      // Only a `call NAME …` line (value "NAME " plus arguments) is checked against the macros.
      const m = /(\S+)\s+(.*)?/.exec(p.value);
      if (m && !macroExists(m[1])) {
        verdict.missingMacro = m[1];
        return ignore('UNDEFINED_MACRO', p.line, `it calls macro "${m[1]}", which no file defines`);
      }
      options.call = p.value;
      continue;
    }
    const rule = PARAMETER_RULES[p.key];
    if (rule && !rule[0].test(p.value)) return ignore('INVALID_VALUE', p.line, `${rule[1]} (given "${p.value}")`);
    options[p.key] = p.value;
  }
  if (!('call' in options)) return ignore('MISSING_CALL', auto.line, 'it has no "call" (every automacro must call a macro)');

  const infos: ConditionInfo[] = [];
  let event: string | null = null;
  for (const c of conditions) {
    const type = CONDITION_TYPES.get(c.key);
    if (!type) {
      const similar = [...CONDITION_TYPES.keys()].find((k) => k.toLowerCase() === c.key.toLowerCase());
      verdict.refusal = {
        severity: 'error',
        code: 'UNKNOWN_CONDITION',
        effect: 'file_refused',
        line: c.line,
        message:
          `"${c.key}" is not an eventMacro condition (no module eventMacro/Condition/${c.key}.pm): eventMacro's loader dies and the whole file is refused` +
          (similar ? `; did you mean "${similar}"?` : ''),
        block: auto.name,
      };
      return verdict;
    }
    const parsed = parseConditionValue(type, c.value);
    if (parsed.error !== undefined) return ignore('INVALID_CONDITION', c.line, `${c.key}: ${parsed.error} (it wants ${type.doc})`);
    if (type.event) {
      if (event !== null) return ignore('EVENT_CONDITIONS', c.line, `"${c.key}" and "${event}" are both event conditions; an automacro takes at most one`);
      event = c.key;
    }
    for (const re of regexesOf(c.value)) {
      if (!compilesAsRegex(re)) {
        verdict.advice.push({ severity: 'warning', code: 'REGEX', effect: 'advice', line: c.line, message: `/${re}/ does not compile here; eventMacro compiles it (in Perl) only when it checks the condition`, block: auto.name });
      }
    }
    infos.push({ line: c.line, key: c.key, value: c.value, event: type.event, botOnly: type.botOnly === true });
  }

  const call = options.call;
  const head = /^(\S+)\s*(.*)$/s.exec(call);
  auto.call = {
    line: parameters.find((p) => p.key === 'call')!.line,
    target: head ? head[1] : call,
    args: head && head[2] !== '' ? head[2] : null,
    inline: auto.entries.some((e) => e.key === 'call' && e.value === `automacro_${auto.name}_call_block`),
  };
  auto.options = options;
  auto.conditions = infos;
  auto.evaluatedByBot = infos.filter((i) => i.botOnly).map((i) => `line ${i.line}: ${i.key} is Perl code only the bot can evaluate`);
  return verdict;
}

/** The literal regexes (no variables) of a condition value, for a compile check. */
function regexesOf(value: string): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(/\/(.*?)\/\w?(?=\s|$)/g)) {
    const r = parseRegex(m[0]);
    if (r.regex && r.variables.length === 0) out.push(r.regex.source);
  }
  return out;
}
