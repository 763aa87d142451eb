import type { Expr } from './ast';

/** Looks a variable up: `x` for `$x`, `.map` for `$.map`; undefined when unset. */
export type VarLookup = (name: string) => string | undefined;

export class EvaluationError extends Error {}

const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const MAX_RESULT_LENGTH = 4096;

export function isNumeric(s: string): boolean {
  return NUMERIC.test(s);
}

/** eventMacro truthiness: empty and "0" are false. */
export function truthy(s: string): boolean {
  return s !== '' && s !== '0';
}

/**
 * Expands `$var`, `${var}`, `$.system`, `@eval(…)`, `@rand(a, b)`, `@random("a", "b")` in `text`;
 * `\$` is a literal dollar. Unset variables expand to the empty string, as in eventMacro.
 */
export function interpolate(text: string, lookup: VarLookup, random: () => number = Math.random): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '\\' && (text[i + 1] === '$' || text[i + 1] === '@')) {
      out += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '$') {
      const m = /^\$(?:\{(\.?[A-Za-z_][A-Za-z0-9_]*)\}|(\.?[A-Za-z_][A-Za-z0-9_]*))/.exec(text.slice(i));
      if (m) {
        out += lookup(m[1] ?? m[2]) ?? '';
        i += m[0].length;
        continue;
      }
    }
    if (c === '@') {
      const m = /^@(eval|rand|random)\(/.exec(text.slice(i));
      if (m) {
        const open = i + m[0].length - 1;
        const close = closingParen(text, open);
        if (close < 0) throw new EvaluationError(`unbalanced parentheses in @${m[1]}(`);
        const inner = interpolate(text.slice(open + 1, close), lookup, random);
        out += callFunction(m[1], inner, random);
        i = close + 1;
        continue;
      }
    }
    out += c;
    i++;
    if (out.length > MAX_RESULT_LENGTH) throw new EvaluationError(`expanded text longer than ${MAX_RESULT_LENGTH} characters`);
  }
  return out;
}

function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

function callFunction(name: string, args: string, random: () => number): string {
  switch (name) {
    case 'eval':
      return formatNumber(evalArithmetic(args));
    case 'rand': {
      const parts = args.split(',').map((s) => s.trim());
      if (parts.length !== 2 || !parts.every(isNumeric)) throw new EvaluationError(`@rand needs two numbers, got "${args}"`);
      const [lo, hi] = parts.map(Number).sort((a, b) => a - b);
      return String(Math.floor(lo + random() * (Math.floor(hi) - Math.ceil(lo) + 1)));
    }
    default: {
      const choices = args.split(',').map((s) => unquote(s.trim()));
      return choices[Math.min(choices.length - 1, Math.floor(random() * choices.length))] ?? '';
    }
  }
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new EvaluationError('arithmetic result is not a finite number');
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1e6) / 1e6);
}

/** `+ - * / %` and parentheses over numbers; nothing else (no code is ever evaluated). */
export function evalArithmetic(text: string): number {
  const tokens = text.match(/\d+(?:\.\d+)?|[-+*/%()]|\S/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const expr = (): number => {
    let v = term();
    while (peek() === '+' || peek() === '-') v = tokens[pos++] === '+' ? v + term() : v - term();
    return v;
  };
  const term = (): number => {
    let v = factor();
    while (peek() === '*' || peek() === '/' || peek() === '%') {
      const op = tokens[pos++];
      const r = factor();
      if ((op === '/' || op === '%') && r === 0) throw new EvaluationError('division by zero');
      v = op === '*' ? v * r : op === '/' ? v / r : v % r;
    }
    return v;
  };
  const factor = (): number => {
    const t = tokens[pos++];
    if (t === '-') return -factor();
    if (t === '+') return factor();
    if (t === '(') {
      const v = expr();
      if (tokens[pos++] !== ')') throw new EvaluationError(`missing ")" in "${text}"`);
      return v;
    }
    if (t !== undefined && NUMERIC.test(t)) return Number(t);
    throw new EvaluationError(`cannot evaluate "${text}"`);
  };
  if (tokens.length === 0) throw new EvaluationError('@eval of nothing');
  const v = expr();
  if (pos !== tokens.length) throw new EvaluationError(`cannot evaluate "${text}"`);
  return v;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** Evaluates a parsed condition with the current variables. */
export function evaluateCondition(expr: Expr, lookup: VarLookup, random?: () => number): boolean {
  switch (expr.kind) {
    case 'or':
      return evaluateCondition(expr.left, lookup, random) || evaluateCondition(expr.right, lookup, random);
    case 'and':
      return evaluateCondition(expr.left, lookup, random) && evaluateCondition(expr.right, lookup, random);
    case 'not':
      return !evaluateCondition(expr.expr, lookup, random);
    case 'value':
      return truthy(unquote(interpolate(expr.text, lookup, random).trim()));
    case 'cmp': {
      const left = unquote(interpolate(expr.left, lookup, random).trim());
      if (expr.regex) {
        const matched = new RegExp(expr.regex.source, expr.regex.flags).test(left);
        return expr.op === '=~' ? matched : !matched;
      }
      const right = unquote(interpolate(expr.right, lookup, random).trim());
      if (isNumeric(left) && isNumeric(right)) return compare(Number(left), Number(right), expr.op);
      return compare(left, right, expr.op);
    }
  }
}

function compare<T extends number | string>(a: T, b: T, op: string): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

/**
 * Value of a condition that reads no variable and calls no function (e.g. `1`, `1 == 1`), or
 * undefined when it depends on something.
 */
export function constantCondition(expr: Expr): boolean | undefined {
  const texts: string[] = [];
  const collect = (e: Expr) => {
    if (e.kind === 'or' || e.kind === 'and') {
      collect(e.left);
      collect(e.right);
    } else if (e.kind === 'not') collect(e.expr);
    else if (e.kind === 'cmp') texts.push(e.left, e.right);
    else texts.push(e.text);
  };
  collect(expr);
  if (texts.some((t) => /[$@]/.test(t))) return undefined;
  try {
    return evaluateCondition(expr, () => undefined);
  } catch {
    return undefined;
  }
}
