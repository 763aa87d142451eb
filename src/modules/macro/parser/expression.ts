import type { CompareOp, Expr } from './ast';

/** A condition of `if (…)` / `while (…)` that does not parse. */
export class ExpressionSyntaxError extends Error {}

const MAX_EXPR_LENGTH = 1000;
const MAX_REGEX_LENGTH = 200;

/**
 * Parses an eventMacro condition: comparisons (`==`, `!=`, `>`, `<`, `>=`, `<=`, `=~ /re/`,
 * `!~ /re/`; a lone `=` means `==`), combined with `&&`, `||`, `!` and parentheses. Operands are
 * kept as text (variables are interpolated when the condition is evaluated).
 */
export function parseExpression(text: string): Expr {
  if (text.length > MAX_EXPR_LENGTH) throw new ExpressionSyntaxError(`condition longer than ${MAX_EXPR_LENGTH} characters`);
  checkBalanced(text);
  return parseOr(text);
}

interface Scan {
  /** Index of every top-level occurrence of the searched operator. */
  positions: number[];
}

/**
 * Walks `s` tracking parentheses, double quotes and regex literals (after `=~` / `!~`) and
 * calls `visit(i)` at every top-level position outside them.
 */
function walkTopLevel(s: string, visit: (i: number) => number | void): void {
  let depth = 0;
  let quote = false;
  let regex = false;
  let expectRegex = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (regex) {
      if (c === '\\') i++;
      else if (c === '/') regex = false;
      continue;
    }
    if (expectRegex) {
      if (c === ' ' || c === '\t') continue;
      expectRegex = false;
      if (c === '/') {
        regex = true;
        continue;
      }
    }
    if (c === '"') {
      quote = true;
      continue;
    }
    if ((c === '=' || c === '!') && s[i + 1] === '~') {
      if (depth === 0) {
        const skip = visit(i);
        if (typeof skip === 'number') i = skip;
      }
      expectRegex = true;
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0) {
      const skip = visit(i);
      if (typeof skip === 'number') i = skip;
    }
  }
}

function checkBalanced(s: string): void {
  let depth = 0;
  let quote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth < 0) throw new ExpressionSyntaxError(`unbalanced ')' in condition`);
  }
  if (quote) throw new ExpressionSyntaxError('unterminated string in condition');
  if (depth !== 0) throw new ExpressionSyntaxError(`unbalanced '(' in condition`);
}

function splitTopLevel(s: string, op: '||' | '&&'): string[] {
  const scan: Scan = { positions: [] };
  walkTopLevel(s, (i) => {
    if (s[i] === op[0] && s[i + 1] === op[1]) {
      scan.positions.push(i);
      return i + 1;
    }
  });
  if (scan.positions.length === 0) return [s];
  const parts: string[] = [];
  let start = 0;
  for (const p of scan.positions) {
    parts.push(s.slice(start, p));
    start = p + 2;
  }
  parts.push(s.slice(start));
  return parts;
}

function parseOr(s: string): Expr {
  const parts = splitTopLevel(s, '||').map(parseAnd);
  return parts.reduce((left, right) => ({ kind: 'or', left, right }));
}

function parseAnd(s: string): Expr {
  const parts = splitTopLevel(s, '&&').map(parseUnary);
  return parts.reduce((left, right) => ({ kind: 'and', left, right }));
}

function parseUnary(raw: string): Expr {
  const s = raw.trim();
  if (s === '') throw new ExpressionSyntaxError('empty operand in condition');
  if (s[0] === '!' && s[1] !== '=' && s[1] !== '~') return { kind: 'not', expr: parseUnary(s.slice(1)) };
  if (s[0] === '(' && matchingParen(s, 0) === s.length - 1) return parseOr(s.slice(1, -1));
  return parseComparison(s);
}

/** Index of the `)` closing the `(` at `open` (quotes respected), or -1. */
export function matchingParen(s: string, open: number): number {
  if (open < 0) return -1;
  let depth = 0;
  let quote = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

const TWO_CHAR_OPS: readonly CompareOp[] = ['==', '!=', '>=', '<=', '=~', '!~'];

function parseComparison(s: string): Expr {
  let found: { at: number; op: CompareOp; width: number } | undefined;
  walkTopLevel(s, (i) => {
    if (found) return s.length;
    const two = s.slice(i, i + 2) as CompareOp;
    if (TWO_CHAR_OPS.includes(two)) {
      found = { at: i, op: two, width: 2 };
      return s.length;
    }
    const c = s[i];
    if (c === '>' || c === '<') found = { at: i, op: c, width: 1 };
    else if (c === '=') found = { at: i, op: '==', width: 1 };
    if (found) return s.length;
  });
  if (!found) return { kind: 'value', text: s };
  const left = s.slice(0, found.at).trim();
  const right = s.slice(found.at + found.width).trim();
  if (left === '' || right === '') throw new ExpressionSyntaxError(`operator '${found.op}' needs an operand on both sides`);
  if (found.op === '=~' || found.op === '!~') {
    const m = /^\/(.*)\/([imsu]*)$/s.exec(right);
    if (!m) throw new ExpressionSyntaxError(`'${found.op}' needs a /regular expression/ on its right`);
    if (m[1].length > MAX_REGEX_LENGTH) throw new ExpressionSyntaxError(`regular expression longer than ${MAX_REGEX_LENGTH} characters`);
    try {
      new RegExp(m[1], m[2]);
    } catch (err) {
      throw new ExpressionSyntaxError(`invalid regular expression: ${(err as Error).message}`);
    }
    return { kind: 'cmp', op: found.op, left, right, regex: { source: m[1], flags: m[2] } };
  }
  if (/^[=<>!~]/.test(right)) throw new ExpressionSyntaxError(`unexpected operator after '${found.op}'`);
  return { kind: 'cmp', op: found.op, left, right };
}

/** Variables (`$name`, not `$.system`) an expression reads. */
export function expressionVariables(expr: Expr): string[] {
  const out = new Set<string>();
  const visitText = (t: string) => {
    for (const m of t.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) out.add(m[1]);
  };
  const visit = (e: Expr) => {
    switch (e.kind) {
      case 'or':
      case 'and':
        visit(e.left);
        visit(e.right);
        break;
      case 'not':
        visit(e.expr);
        break;
      case 'cmp':
        visitText(e.left);
        visitText(e.right);
        break;
      case 'value':
        visitText(e.text);
        break;
    }
  };
  visit(expr);
  return [...out];
}

/** Whether the expression reads something that changes on its own (system variables, functions). */
export function expressionHasExternalInput(expr: Expr): boolean {
  const texts: string[] = [];
  const visit = (e: Expr) => {
    if (e.kind === 'or' || e.kind === 'and') {
      visit(e.left);
      visit(e.right);
    } else if (e.kind === 'not') visit(e.expr);
    else if (e.kind === 'cmp') texts.push(e.left, e.right);
    else texts.push(e.text);
  };
  visit(expr);
  return texts.some((t) => /\$\.|@[A-Za-z]/.test(t));
}
