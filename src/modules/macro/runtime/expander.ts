import { perlNumber } from '../language/condition-text';
import { BOT_ONLY_KEYWORDS } from '../language/macro-checker';
import { findKeywordCall, findSubCall, parseArgs, replaceKeywordCall, replaceSubCall } from '../language/macro-lines';
import { ARRAY_VARIABLE, findVariable, GENERAL_VARIABLE, HASH_VARIABLE, keyOrIndex, perlSplit, quoteMeta, SCALAR_VARIABLE, UNESCAPED, type VariableRef } from '../language/variables';
import type { VariableStore } from './variable-store';

/**
 * eventMacro's text expansion (eventMacro/Runner.pm parse_command, substitue_variables,
 * find_and_define_key_index, manage_array, manage_hash, parse_defined; Utilities.pm for the
 * keyword functions): `&keyword(…)` calls innermost first, then Perl sub calls, then variables.
 * What only OpenKore can compute (its item lists, its config, Perl) raises NeedsBotError — or,
 * for a `do` command, is left in the text as written and listed, for the bot to see.
 */

/** A macro line eventMacro would stop on; the execution fails with its message. */
export class MacroStopError extends Error {}

/** Something only the bot's eventMacro can evaluate. */
export class NeedsBotError extends Error {
  constructor(readonly what: string) {
    super(`only the bot's eventMacro can evaluate ${what}`);
  }
}

export const BOT_ONLY = Symbol('bot-only');

export interface InventoryLike {
  id: number;
  name?: string;
  amount?: number;
}

export interface ExpanderEnv {
  readonly vars: VariableStore;
  /** A read-only `$.name` variable: its value, BOT_ONLY when only the bot knows it, undefined when it is not one. */
  special(name: string): string | typeof BOT_ONLY | undefined;
  isSub(name: string): boolean;
  /** The session's inventory when its state has one. */
  inventory(): readonly InventoryLike[] | undefined;
  random(): number;
}

export interface Expansion {
  text: string;
  /** Parts left as written for the bot (verbatim mode only). */
  unevaluated: string[];
}


/** Keywords that read their argument before variables are expanded. */
const RAW_ARGUMENT = new Set(['nick', 'push', 'unshift', 'pop', 'shift', 'delete', 'exists', 'defined', 'split', 'keys', 'values']);
const ONCE = new Set(['random', 'rand', 'push', 'unshift', 'pop', 'shift', 'exists', 'delete', 'defined']);
const MAX_ROUNDS = 256;

export class Expander {
  constructor(private readonly env: ExpanderEnv) {}

  get vars(): VariableStore {
    return this.env.vars;
  }

  isSub(name: string): boolean {
    return this.env.isSub(name);
  }

  /** parse_command in strict mode: what only the bot can evaluate throws NeedsBotError. */
  expand(command: string): string {
    return this.run(command, false).text;
  }

  /** parse_command for a `do` command: what only the bot can evaluate stays as written. */
  expandVerbatim(command: string): Expansion {
    return this.run(command, true);
  }

  private run(input: string, verbatim: boolean): Expansion {
    let command = input;
    const kept: string[] = [];
    const keep = (text: string) => {
      kept.push(text);
      return `\u0000${kept.length - 1}\u0000`;
    };
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const call = findKeywordCall(command);
      if (!call) break;
      const original = `&${call.keyword}(${call.inside})`;
      let result: string;
      try {
        const value = this.keyword(call.keyword, call.inside);
        // A keyword eventMacro does not act on (`&listlength`, or a different spelling): the text is returned as it is.
        if (value === undefined) return { text: restore(command, kept), unevaluated: kept };
        result = value;
      } catch (err) {
        if (!(err instanceof NeedsBotError) || !verbatim) throw err;
        result = keep(original);
      }
      const next = replaceKeywordCall(command, call, result, !ONCE.has(call.keyword));
      if (next === command) break;
      command = next;
    }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const sub = findSubCall(command);
      if (!sub) break;
      if (!this.env.isSub(sub.name)) throw new MacroStopError(`Unrecognized --> ${sub.name} <-- Sub-Routine`);
      if (!verbatim) throw new NeedsBotError(`the Perl sub ${sub.name}(…)`);
      const next = replaceSubCall(command, sub, keep(`${sub.name}(${sub.inside})`));
      if (next === command) break;
      command = next;
    }
    return { text: restore(this.substitute(command, false, verbatim ? keep : undefined), kept), unevaluated: kept };
  }

  /** substitue_variables: `$x`, `@list` (its size), `%hash` (its size), `$a[i]`, `$h{k}`; `\$x` stays `$x`. */
  substitute(received: string, whole = false, keep?: (text: string) => string): string {
    let remaining = received;
    let substituted = '';
    const anyVar = new RegExp(`${UNESCAPED}${GENERAL_VARIABLE}`);
    const plainVar = new RegExp(`${UNESCAPED}(${SCALAR_VARIABLE}|${ARRAY_VARIABLE}|${HASH_VARIABLE})`);
    for (let round = 0; round < 4 * MAX_ROUNDS && anyVar.test(remaining); round++) {
      const accessed = this.accessedVariable(remaining);
      if (accessed) {
        const value = this.read(accessed.ref, keep, accessed.original);
        const cut = new RegExp(`^(.*?)${UNESCAPED}${quoteMeta(accessed.original)}(.*?)$`, 's').exec(remaining);
        if (!cut) throw new MacroStopError('Could not find detected variable in code');
        remaining = cut[1] + value + cut[2];
        continue;
      }
      const m = plainVar.exec(remaining);
      if (!m) break;
      const ref = findVariable(m[1])!;
      let value: string;
      if (ref.type === 'scalar') value = this.read(ref, keep, ref.display);
      else if (whole) value = ref.display;
      else value = String(ref.type === 'array' ? this.env.vars.arraySize(ref.name) : this.env.vars.hashSize(ref.name));
      substituted += remaining.slice(0, m.index) + value;
      remaining = remaining.slice(m.index + m[1].length);
    }
    substituted += remaining;
    return substituted.replace(new RegExp(String.raw`\\(${SCALAR_VARIABLE}|${ARRAY_VARIABLE}|${HASH_VARIABLE})`, 'g'), '$1');
  }

  /** find_and_define_key_index: the first `$name[…]` / `$name{…}` of `text`, its index or key expanded. */
  accessedVariable(text: string): { ref: VariableRef; original: string } | undefined {
    const m = new RegExp(String.raw`${UNESCAPED}\$(\.?[a-zA-Z][a-zA-Z\d_]*)(\[|\{)(.+)$`, 's').exec(text);
    if (!m) return undefined;
    const [, name, open, rest] = m;
    const close = open === '[' ? ']' : '}';
    const key = keyOrIndex(open, close, rest);
    if (key === undefined) throw new MacroStopError('Could not define key of hash or index of array');
    if (key === '') throw new MacroStopError('Empty key of hash or index of array');
    const parsed = this.expand(key);
    if (parsed === '') throw new MacroStopError('Empty key of hash or index of array after parsing');
    if (open === '{' && !/[a-zA-Z\d_]+/.test(parsed)) throw new MacroStopError('Invalid syntax in key of hash (only use letters and numbers)');
    if (open === '[' && !/\d+/.test(parsed)) throw new MacroStopError('Invalid syntax in index of array (only use numbers)');
    const ref = findVariable(`$${name}${open}${parsed}${close}`);
    if (!ref) throw new MacroStopError('Could not define variable type');
    return { ref, original: `$${name}${open}${key}${close}` };
  }

  /** The value of a scalar or an element ('' when unset). */
  read(ref: VariableRef, keep?: (text: string) => string, written = ref.display): string {
    if (ref.type === 'scalar' && ref.name.startsWith('.')) {
      const special = this.env.special(ref.name);
      if (special === BOT_ONLY) {
        if (keep) return keep(written);
        throw new NeedsBotError(written);
      }
      if (special !== undefined) return special;
    }
    return this.get(ref) ?? '';
  }

  get(ref: VariableRef): string | undefined {
    const vars = this.env.vars;
    switch (ref.type) {
      case 'scalar':
        return vars.getScalar(ref.name);
      case 'accessed_array':
        return vars.getElement(ref.name, Number(ref.complement));
      case 'accessed_hash':
        return vars.getKey(ref.name, ref.complement!);
      default:
        return undefined;
    }
  }

  set(ref: VariableRef, value: string | undefined): void {
    const vars = this.env.vars;
    if (ref.type === 'scalar') vars.setScalar(ref.name, value);
    else if (ref.type === 'accessed_array') vars.setElement(ref.name, Number(ref.complement), value);
    else if (ref.type === 'accessed_hash') vars.setKey(ref.name, ref.complement!, value);
  }

  defined(ref: VariableRef): boolean {
    return this.get(ref) !== undefined;
  }

  /** A keyword's value; undefined when eventMacro leaves the text as it is. */
  private keyword(keyword: string, inside: string): string | undefined {
    if (BOT_ONLY_KEYWORDS.has(keyword)) throw new NeedsBotError(`&${keyword}(${inside})`);
    const parsed = RAW_ARGUMENT.has(keyword) ? inside : this.substitute(inside);
    switch (keyword) {
      case 'arg':
        return argWord(parsed);
      case 'random':
        return this.randomOf(parsed);
      case 'rand': {
        const [low, high] = parsed.split(/,\s*/);
        if (low === undefined || high === undefined) throw new MacroStopError(`&rand(${inside}) needs "low, high"`);
        const lo = perlNumber(low);
        return String(Math.trunc(this.env.random() * (perlNumber(high) - lo + 1)) + lo);
      }
      case 'eval':
        return evalArithmetic(parsed);
      case 'strip':
        return parsed.replace(/[()]/g, '');
      case 'split': {
        const [pattern, text] = parseArgs(inside, ',');
        let re: RegExp;
        try {
          re = new RegExp(pattern ?? '');
        } catch {
          throw new NeedsBotError(`&split(${inside})`);
        }
        return perlSplit(this.substitute((text ?? '').trim()), re).join(',');
      }
      case 'keys':
      case 'values': {
        const ref = findVariable(inside);
        if (!ref || ref.type !== 'hash') return '';
        return keyword === 'keys' ? this.env.vars.keys(ref.name).join(',') : this.env.vars.values(ref.name).map((v) => v ?? '').join(',');
      }
      case 'nick':
        return this.substitute(inside).replace(/([/*+(){}[\]\\$^?"'. ])/g, '\\$1');
      case 'push':
      case 'unshift':
      case 'pop':
      case 'shift':
        return this.manageArray(keyword, inside);
      case 'exists':
      case 'delete':
        return this.manageHash(keyword, inside);
      case 'defined': {
        const ref = this.accessedVariable(inside)?.ref ?? findVariable(inside);
        if (!ref) throw new MacroStopError('Could not define variable type');
        if (ref.type !== 'scalar' && ref.type !== 'accessed_array' && ref.type !== 'accessed_hash') {
          throw new MacroStopError(`defined function can only be used on scalars, hashes with keys or arrays with indexes, you trie to use it in a ${ref.type}`);
        }
        return this.defined(ref) ? '1' : '0';
      }
      case 'invamount': {
        const items = this.env.inventory();
        if (!items) throw new NeedsBotError(`&invamount(${inside})`);
        const want = parsed.toLowerCase();
        return String(items.filter((i) => (i.name ?? '').toLowerCase() === want || String(i.id) === parsed.trim()).reduce((n, i) => n + (i.amount ?? 1), 0));
      }
      default:
        return undefined;
    }
  }

  private randomOf(parsed: string): string {
    const items: string[] = [];
    let rest = parsed;
    for (let m = /^[, ]*"(.*?)"/s.exec(rest); m; m = /^[, ]*"(.*?)"/s.exec(rest)) {
      items.push(m[1]);
      rest = rest.slice(m[0].length);
    }
    if (items.length === 0) throw new MacroStopError('wrong syntax in &random');
    return items[Math.min(items.length - 1, Math.floor(this.env.random() * items.length))];
  }

  private manageArray(keyword: string, inside: string): string {
    const comma = /\s*,\s*/.exec(inside);
    const args = comma ? [inside.slice(0, comma.index), inside.slice(comma.index + comma[0].length)] : [inside];
    if (args[1] === '') args.pop();
    const m = new RegExp(`^(${ARRAY_VARIABLE})`, 'i').exec(args[0]);
    if (!m) throw new MacroStopError(`'${args[0]}' is not a valid array name`);
    const ref = findVariable(m[1]);
    if (!ref) throw new MacroStopError('Could not define variable type in array manage');
    const member = this.expand(args[1] ?? '');
    if (keyword === 'push' || keyword === 'unshift') {
      if (args.length !== 2) throw new MacroStopError(`${keyword} sintax must be '${keyword}(@var_name, new_member)'`);
      return String(this.env.vars.push(ref.name, member, keyword === 'unshift'));
    }
    if (args.length !== 1) throw new MacroStopError(`${keyword} sintax must be '${keyword}(@var_name)'`);
    return this.env.vars.pop(ref.name, keyword === 'shift') ?? '';
  }

  private manageHash(keyword: string, inside: string): string {
    const accessed = this.accessedVariable(inside);
    if (!accessed) throw new MacroStopError(`Function '${keyword}' must have a hash and a hash key as argument`);
    if (accessed.ref.type !== 'accessed_hash') throw new MacroStopError('Bad exists syntax, variable not a hash name/key pair');
    if (keyword === 'exists') return this.env.vars.hasKey(accessed.ref.name, accessed.ref.complement!) ? '1' : '0';
    return this.env.vars.deleteKey(accessed.ref.name, accessed.ref.complement!) ?? '';
  }
}

function restore(text: string, kept: readonly string[]): string {
  return text.replace(/\u0000(\d+)\u0000/g, (_, i: string) => kept[Number(i)] ?? '');
}

/** Utilities.pm getWord: word number N of a quoted message (words split on blanks and punctuation). */
function argWord(parsed: string): string {
  const m = /^"(.*?)"\s*,\s?(\d+|\$[a-zA-Z][a-zA-Z\d]*)$/s.exec(parsed);
  if (!m) return '';
  const words = m[1].split(/[ ,.:;"'!?\r\n]/).filter((w) => w !== '');
  return words[Number(m[2]) - 1] ?? '';
}

/**
 * `&eval(…)`: eventMacro runs it as Perl. The engine evaluates arithmetic and comparisons of
 * numbers (what `&eval` is used for in practice); anything else is left to the bot.
 */
export function evalArithmetic(text: string): string {
  const tokens = text.match(/\d+(?:\.\d+)?|\*\*|==|!=|<=|>=|&&|\|\||[-+*/%()<>!]|\S/g) ?? [];
  let pos = 0;
  // `boolean`: the value is Perl's true/false (false prints as the empty string).
  type V = { v: number; boolean: boolean };
  const num = (v: number): V => ({ v, boolean: false });
  const bool = (t: boolean): V => ({ v: t ? 1 : 0, boolean: true });
  const bot = () => new NeedsBotError(`&eval(${text})`);
  const peek = () => tokens[pos];
  const or = (): V => {
    let v = and();
    while (peek() === '||') {
      pos++;
      const r = and();
      v = v.v !== 0 ? v : r;
    }
    return v;
  };
  const and = (): V => {
    let v = cmp();
    while (peek() === '&&') {
      pos++;
      const r = cmp();
      v = v.v !== 0 ? r : v;
    }
    return v;
  };
  const cmp = (): V => {
    const a = add();
    const op = peek();
    if (op === '==' || op === '!=' || op === '<' || op === '>' || op === '<=' || op === '>=') {
      pos++;
      const b = add().v;
      const x = a.v;
      return bool(op === '==' ? x === b : op === '!=' ? x !== b : op === '<' ? x < b : op === '>' ? x > b : op === '<=' ? x <= b : x >= b);
    }
    return a;
  };
  const add = (): V => {
    let v = mul();
    while (peek() === '+' || peek() === '-') v = num(tokens[pos++] === '+' ? v.v + mul().v : v.v - mul().v);
    return v;
  };
  const mul = (): V => {
    let v = pow();
    while (peek() === '*' || peek() === '/' || peek() === '%') {
      const op = tokens[pos++];
      const r = pow().v;
      if ((op === '/' || op === '%') && r === 0) throw new MacroStopError(`Illegal division by zero in &eval(${text})`);
      v = num(op === '*' ? v.v * r : op === '/' ? v.v / r : Math.trunc(v.v) % Math.trunc(r));
    }
    return v;
  };
  const pow = (): V => {
    const v = unary();
    if (peek() === '**') {
      pos++;
      return num(v.v ** pow().v);
    }
    return v;
  };
  const unary = (): V => {
    const t = tokens[pos++];
    if (t === '-') return num(-unary().v);
    if (t === '+') return unary();
    if (t === '!') return bool(unary().v === 0);
    if (t === '(') {
      const v = or();
      if (tokens[pos++] !== ')') throw bot();
      return v;
    }
    if (t !== undefined && /^\d+(?:\.\d+)?$/.test(t)) return num(Number(t));
    throw bot();
  };
  if (tokens.length === 0) return '';
  const result = or();
  if (pos !== tokens.length || !Number.isFinite(result.v)) throw bot();
  if (result.boolean && result.v === 0) return '';
  return perlNumberText(result.v);
}

/** How Perl prints a number: up to 15 significant digits, no trailing zeros. */
export function perlNumberText(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  return String(Number(n.toPrecision(15)));
}
