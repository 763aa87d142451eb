/**
 * The conditions of `if`, `elsif`, `while`, `case` and postfix `if`, read exactly as eventMacro's
 * runner reads them (eventMacro/Runner.pm parse_and_check_condition_text, parse_single_group,
 * resolve_statement, resolve_multi_and_remove_parenthesis; Utilities.pm cmpr). Its parser has
 * quirks that decide what a condition means — `(a) && (b)` works, `a && b || c` is an error,
 * `if (x){` without a space takes `{` for a command — so they are kept, not fixed.
 */

/** eventMacro's keyword functions (`&name(…)`, eventMacro/Data.pm $macroKeywords). */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'arg', 'listlength', 'cartamount', 'cart', 'Cart', 'itemCard', 'itemCardAmount', 'itemOption', 'itemOptAmount', 'config', 'defined', 'eval',
  'exists', 'delete', 'invamount', 'inventory', 'Inventory', 'InventoryType', 'keys', 'monster', 'nick', 'npc', 'player', 'push', 'pop',
  'unshift', 'shift', 'random', 'rand', 'shopamount', 'split', 'store', 'storamount', 'storage', 'Storage', 'strip', 'questStatus',
  'questInactiveCount', 'questIncompleteCount', 'questCompleteCount', 'values', 'vender', 'venderitem', 'venderprice', 'venderamount',
]);

export interface ConditionGroup {
  start: number;
  end: number;
  script: string;
}

export class ConditionError extends Error {}

/** Perl's `\w` on text: letters, digits, marks and connectors of any script. */
const PERL_WORD = /[\p{L}\p{N}\p{M}\p{Pc}]/u;

/** Splits a condition into its parenthesized groups (innermost first) and the text after it. */
export function scanCondition(line: string, isSub: (name: string) => boolean): { groups: ConditionGroup[]; after: string } {
  const chars = [...line];
  let depth = 0;
  let inRegex = false;
  let inQuote = false;
  const starts: number[] = [];
  let token: string | undefined;
  let ignoreClosing = 0;
  let keyword = false;
  const groups: ConditionGroup[] = [];
  let variable = false;
  const word = (c: string | undefined) => c !== undefined && PERL_WORD.test(c);
  for (let i = 0; i < chars.length; i++) {
    // Perl's $characters[-1] is the last character.
    const prev = i === 0 ? chars[chars.length - 1] : chars[i - 1];
    const c = chars[i];
    const next = chars[i + 1];
    if (inRegex) {
      if (c === '/' && prev !== '\\') inRegex = false;
    } else if (inQuote) {
      if (c === '"' && prev !== '\\') inQuote = false;
    } else if (c === '"') {
      if (prev !== '\\') inQuote = true;
    } else if (c === '/') {
      if (prev !== '\\') inRegex = true;
    } else if (word(c)) {
      if (!variable) {
        if (next !== undefined && !PERL_WORD.test(next) && (token ?? '').length < 2) token = undefined;
        else token = (token ?? '') + c;
      }
    } else if (/\s/.test(c)) {
      if (!(token !== undefined && token.length >= 3 && next === '(')) {
        keyword = false;
        token = undefined;
        variable = false;
      }
    } else if (c === '$' || c === '@' || c === '%') {
      if (prev !== '\\') variable = true;
    } else if (c === '&') {
      if (prev === '&' || next === '&') {
        token = undefined;
        keyword = false;
      } else if (word(next)) {
        token = undefined;
        keyword = true;
      } else throw new ConditionError("unsupported '&' in statment (maybe you put just only one '&' instead of two?)");
    } else if (c === '|') {
      if (prev === '|' || next === '|') {
        token = undefined;
        keyword = false;
      } else throw new ConditionError("unsupported '|' in statment (maybe you put only one '|' instead of two?)");
    } else if (c === ')') {
      keyword = false;
      token = undefined;
      if (ignoreClosing > 0) {
        ignoreClosing--;
        continue;
      }
      if (--depth < 0) throw new ConditionError('missing at least one opening parenthesis or too many closing parenthesis');
      const start = starts.pop()!;
      groups.push({ start, end: i + 1, script: chars.slice(start, i + 1).join('') });
      if (depth === 0) break;
    } else if (c === '(') {
      if (token && token.length >= 3) {
        if (keyword) {
          if (!KEYWORDS.has(token)) throw new ConditionError(`unknown macro_keyword '&${token}' (maybe you typed wrong?)`);
        } else if (!isSub(token)) throw new ConditionError(`unknown sub '${token}' (maybe you typed wrong?)`);
        ignoreClosing++;
        token = undefined;
        keyword = false;
        continue;
      }
      token = undefined;
      keyword = false;
      starts.push(i);
      depth++;
    }
  }
  if (inRegex) throw new ConditionError('unclosed regex found, please check your code');
  if (inQuote) throw new ConditionError('unclosed quote found, please check your code');
  if (keyword) throw new ConditionError('unclosed macro_keyword found, please check your code');
  if (depth > 0) throw new ConditionError('unclosed parenthesis found, please check your code');
  // substr($line, end + 1): one character after the closing parenthesis is skipped.
  const last = groups[groups.length - 1];
  const after = chars.slice((last ? last.end : 0) + 1).join('').trim();
  return { groups, after };
}

/** Expands a condition operand (eventMacro's parse_command); throws ConditionError to stop the macro. */
export type OperandParser = (text: string) => string;
/** `=~` matched: the capture groups become `$.lastMatch1`, … */
export type MatchRecorder = (captures: string[]) => void;

/** The value (true/false) of the scanned condition (parse_condition_text_groups). */
export function evaluateGroups(groups: readonly ConditionGroup[], parse: OperandParser, onMatch?: MatchRecorder): boolean {
  if (groups.length === 0) throw new ConditionError('unknown error found while parsing at sub parse_single_group, please create an issue on github about this');
  if (groups.length === 1) return singleGroup(groups[0].script, parse, onMatch) === '1';
  let entire = groups[groups.length - 1].script;
  for (const g of groups.slice(0, -1)) {
    const value = singleGroup(g.script, parse, onMatch);
    const at = entire.indexOf(g.script);
    if (at >= 0) entire = entire.slice(0, at) + value + entire.slice(at + g.script.length);
  }
  return singleGroup(entire, parse, onMatch) === '1';
}

/** One parenthesized group: its comparisons joined by `&&` or `||` (parse_single_group). */
function singleGroup(script: string, parse: OperandParser, onMatch?: MatchRecorder): string {
  const chars = [...script];
  let negate: string | undefined;
  let first: string | undefined;
  let condition: string | undefined;
  let second: string | undefined;
  let inQuote = false;
  let inRegex = false;
  let text = script;
  const resolve = () => {
    const result = resolveStatement(negate, first, condition, second, parse, onMatch);
    const original = (negate ?? '') + (first ?? '') + (condition ?? '') + (second ?? '');
    const at = text.indexOf(original);
    if (at < 0) throw new ConditionError(`NOT POSSIBLE TO MAKE SUBSTITUTION of '${original}' in '${text}', report to creators of eventMacro`);
    text = text.slice(0, at) + result + text.slice(at + original.length);
    negate = first = condition = second = undefined;
  };
  for (let i = 0; i < chars.length; i++) {
    const prev = i === 0 ? chars[chars.length - 1] : chars[i - 1];
    const c = chars[i];
    const next = chars[i + 1];
    if (inRegex) {
      if (c === '/' && prev !== '\\') inRegex = false;
    } else if (inQuote) {
      if (c === '"' && prev !== '\\') inQuote = false;
    } else if (c === '"') {
      if (prev !== '\\') inQuote = true;
    } else if (c === '/') {
      if (prev !== '\\') inRegex = true;
    } else if (c === ')' && next === undefined) {
      resolve();
      return resolveMulti(text);
    } else if (c === '(' && i === 0) {
      continue;
    } else if ((c === '&' && next === '&') || (c === '|' && next === '|')) {
      resolve();
      i++;
      continue;
    } else if (/[=!~><]/.test(c)) {
      if (first === undefined || /^\s+$/.test(first)) {
        if (c === '!') {
          negate = `${first ?? ''}!`;
          first = undefined;
          continue;
        }
        throw new ConditionError(`Error in statement '${script}': not expected '${c}' here (use quotes if condition have special characters)`);
      }
      if (condition === undefined) {
        condition = c;
        if (next !== undefined && /[=!~><]/.test(next)) {
          condition += next;
          i++;
        }
        continue;
      }
      // A third operator: eventMacro sets a misspelt error field and gives up on the group without
      // an error, so the group reads as nothing (false).
      return '';
    }
    if (condition === undefined) first = (first ?? '') + c;
    else second = (second ?? '') + c;
  }
  throw new ConditionError('unknown error found while parsing at sub parse_single_group, please create an issue on github about this');
}

function resolveStatement(
  negate: string | undefined,
  rawFirst: string | undefined,
  rawCond: string | undefined,
  rawLast: string | undefined,
  parse: OperandParser,
  onMatch?: MatchRecorder,
): '0' | '1' {
  const clean = (s: string | undefined) =>
    s === undefined
      ? ''
      : s
          .trim()
          .replace(/^"(.+)"$/, '$1')
          .replace(/\\([/"'])/, '$1');
  const first = clean(rawFirst);
  const cond = (rawCond ?? '').trim();
  const last = clean(rawLast);
  let parsedFirst: string | undefined;
  let parsedLast: string | undefined;
  if (first === '' && cond === '' && last === '') throw new ConditionError('syntax error in if statement (is empty?)');
  if (first !== '' && cond !== '' && last === '') throw new ConditionError(`Last argument doesn't exist (1st: '${first}', cond: '${cond}', last: '${last}')`);
  if (first === '' && cond !== '' && last !== '') throw new ConditionError(`First argument doesn't exist (1st: '${first}', cond: '${cond}', last: '${last}')`);
  if (first !== '' && cond === '' && last === '') parsedFirst = parse(first);
  else if (first !== '' && cond !== '' && last !== '') {
    parsedFirst = parse(first);
    parsedLast = parse(last);
  }
  const result = compare(parsedFirst, rawCond === undefined ? undefined : cond, parsedLast, onMatch);
  if (result === undefined) throw new ConditionError('error shown above while comparing values on sub resolve_statement');
  if (negate !== undefined) return result ? '0' : '1';
  return result ? '1' : '0';
}

/** Removes the parentheses and combines the results with `&&` or `||` — never both (resolve_multi_and_remove_parenthesis). */
function resolveMulti(withParens: string): string {
  const text = withParens.replace(/[()]/g, '');
  const ops = [...text.matchAll(/\|{2}|&{2}/g)].map((m) => m[0]);
  for (let i = 1; i < ops.length; i++) if (ops[i] !== ops[i - 1]) throw new ConditionError(`Wrong Conditions: (${ops[i - 1]} vs ${ops[i]})`);
  if (ops.length === 0) {
    if (/^[01]$/.test(text)) return text;
    // eventMacro returns nothing: the statement counts as false.
    return '';
  }
  if (ops[0] === '||') {
    for (const e of text.split(/\s*\|{2}\s*/)) if (e === '1') return '1';
    return '0';
  }
  for (const e of text.split(/\s*&{2}\s*/)) if (e !== '1') return '0';
  return '1';
}

const RANGE = /^\s*(-?[\d.]+)\s*\.{2}\s*(-?[\d.]+)\s*$/;
const NUMERIC_TEXT = /^-?[\d.]+$/;

/** Perl's numeric value of a string: its leading number, else 0. */
export function perlNumber(s: string | undefined): number {
  const m = /^\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))/.exec(s ?? '');
  return m ? Number(m[1]) : 0;
}

/** Utilities.pm cmpr: true, false, or undefined when eventMacro reports an error. */
export function compare(first: string | undefined, cond: string | undefined, second: string | undefined, onMatch?: MatchRecorder): boolean | undefined {
  const a = first ?? '';
  const b = second ?? '';
  if (first !== undefined && cond === undefined && second === undefined) return !(a === '' || perlNumber(a) === 0);
  const between = (lo: string, v: string, hi: string) => perlNumber(lo) <= perlNumber(v) && perlNumber(v) <= perlNumber(hi);
  let m = RANGE.exec(a);
  if (m) {
    if (!NUMERIC_TEXT.test(b)) return undefined;
    if (cond === '!=') return !between(m[1], b, m[2]);
    if (cond === '=' || cond === '==' || cond === '=~' || cond === '~') return between(m[1], b, m[2]);
    return undefined;
  }
  m = RANGE.exec(b);
  if (m) {
    if (!NUMERIC_TEXT.test(a)) return undefined;
    if (cond === '!=') return !between(m[1], a, m[2]);
    if (cond === '=' || cond === '==' || cond === '=~' || cond === '~') return between(m[1], a, m[2]);
    return undefined;
  }
  if (NUMERIC_TEXT.test(a) && NUMERIC_TEXT.test(b)) {
    const x = perlNumber(a);
    const y = perlNumber(b);
    switch (cond) {
      case '=':
      case '==':
        return x === y;
      case '>=':
        return x >= y;
      case '<=':
        return x <= y;
      case '>':
        return x > y;
      case '<':
        return x < y;
      case '!=':
        return x !== y;
      default:
        return false;
    }
  }
  if (cond === '=' || cond === '==') return a === b;
  if (cond === '!=') return a !== b;
  if (cond === '~') return b.split(/\s*,\s*/).some((member) => member.toLowerCase() === a.toLowerCase());
  if (cond === '=~' && /^\/.*?\/\w?\s*$/.test(b)) {
    const r = /^\/(.*?)\/(\w?)$/.exec(b);
    if (!r) return undefined;
    let found: RegExpExecArray | null;
    try {
      found = new RegExp(r[1]).exec(a) ?? (r[2] === 'i' ? new RegExp(r[1], 'i').exec(a) : null);
    } catch {
      throw new ConditionError(`invalid regex ${b}`);
    }
    if (!found) return false;
    onMatch?.(found.slice(1).map((x) => x ?? ''));
    return true;
  }
  return false;
}

/**
 * The structural errors of a condition, whatever the variables hold (the operands all read as
 * "1"); undefined when eventMacro can evaluate it.
 */
export function conditionProblem(line: string, isSub: (name: string) => boolean, parse: OperandParser = () => '1'): string | undefined {
  try {
    const { groups } = scanCondition(line, isSub);
    evaluateGroups(groups, parse);
    return undefined;
  } catch (err) {
    if (err instanceof ConditionError) return err.message;
    throw err;
  }
}
