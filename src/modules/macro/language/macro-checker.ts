import type { Diagnostic, DiagnosticCode, Effect, MacroBlock, SourceLine } from './ast';
import { ConditionError, conditionProblem, KEYWORDS, scanCondition } from './condition-text';
import { clip, opensCommandBlock } from './file-parser';
import { classifyLine, findKeywordCall, findSubCall, type MacroLine, parseArgs, replaceKeywordCall, replaceSubCall, scanLabels } from './macro-lines';
import { findVariable } from './variables';

/**
 * What eventMacro would do with each line of a macro when it reaches it. eventMacro loads a macro
 * without reading its lines (eventMacro/Macro.pm); its runner parses each line when it gets there
 * and stops the macro with an error on one it cannot run (eventMacro/Runner.pm). The engine reads
 * every line at load time and reports those errors as `stops_macro` warnings: the file still
 * loads, as it does in eventMacro.
 */

/** Keyword functions whose value only OpenKore has (inventory lists, NPCs, config…). */
export const BOT_ONLY_KEYWORDS: ReadonlySet<string> = new Set([
  'cart', 'Cart', 'cartamount', 'config', 'inventory', 'Inventory', 'InventoryType', 'itemCard', 'itemCardAmount', 'itemOption', 'itemOptAmount',
  'monster', 'npc', 'player', 'questStatus', 'questInactiveCount', 'questIncompleteCount', 'questCompleteCount', 'shopamount', 'storamount',
  'storage', 'Storage', 'store', 'vender', 'venderitem', 'venderprice', 'venderamount',
]);

/** Function names of the older macro plugin, written `@name(…)`; eventMacro spells its keywords `&name(…)`. */
const OLD_FUNCTIONS = new Set([...KEYWORDS, 'eval', 'rand', 'random', 'invamount', 'cartamount', 'shopamount', 'storamount', 'config', 'arg', 'listitem', 'nick']);

export interface MacroReferences {
  /** Literal `call NAME` targets. */
  calls: Array<{ line: number; target: string }>;
  /** Literal `release NAME` / `lock NAME` targets (not "all"). */
  automacros: Array<{ line: number; target: string }>;
  /** What only the bot can evaluate (Perl subs, keywords reading OpenKore's lists), by line. */
  botOnly: Array<{ line: number; what: string }>;
}

export interface MacroCheck {
  diagnostics: Diagnostic[];
  references: MacroReferences;
}

export interface MacroCheckContext {
  /** Whether a `sub` block of the folder defines this Perl sub. */
  isSub(name: string): boolean;
}

export function checkMacro(block: MacroBlock, ctx: MacroCheckContext): MacroCheck {
  return new Checker(block, ctx).run();
}

interface Frame {
  kind: string;
  /** `switch (x` — the part of the condition the cases complete. */
  head?: string;
}

class Checker {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly references: MacroReferences = { calls: [], automacros: [], botOnly: [] };
  private readonly labels: Map<string, number>;
  private readonly stack: Frame[] = [];

  constructor(
    private readonly block: MacroBlock,
    private readonly ctx: MacroCheckContext,
  ) {
    this.labels = scanLabels(block.lines.map((l) => l.text));
  }

  run(): MacroCheck {
    for (const line of this.block.lines) {
      this.checkLine(line, line.text, true);
      this.track(line.text);
    }
    return { diagnostics: this.diagnostics, references: this.references };
  }

  /** Nesting, to know which `switch` a `case` belongs to (FileParser.pm counts blocks the same way). */
  private track(text: string): void {
    if (text === '}') this.stack.pop();
    else if (/^}\s*else\s*\{$/.test(text) || /^}\s*elsif.*\{$/.test(text)) {
      this.stack.pop();
      this.stack.push({ kind: 'if' });
    } else if (opensCommandBlock(text)) {
      const switchHead = /^switch/.test(text) ? (/^switch\s*(\(.*)\)\s*\{$/.exec(text)?.[1] ?? '') : undefined;
      this.stack.push({ kind: /^(\w+)/.exec(text)?.[1] ?? 'block', ...(switchHead !== undefined ? { head: switchHead } : {}) });
    }
  }

  private checkLine(line: SourceLine, text: string, topLevel: boolean): void {
    const inSwitch = topLevel ? this.stack[this.stack.length - 1] : undefined;
    if (inSwitch?.kind === 'switch') {
      if (/^case/.test(text)) return this.checkCase(line, text, inSwitch.head ?? '');
      if (/^else/.test(text)) {
        const after = /^else\s*(.*)/s.exec(text)?.[1] ?? '';
        if (after !== '{') this.checkLine(line, text.replace(/^else\s*/, ''), false);
        return;
      }
      if (text !== '}') this.stops(line, 'STATEMENT', `only "case" and "else" may stand directly inside a switch block: eventMacro stops here`);
      return;
    }
    const kind = classifyLine(text);
    switch (kind.kind) {
      case 'while':
        if (kind.condition === undefined) this.stops(line, 'STATEMENT', 'eventMacro reads a loop as "while (condition) {" with a space before "{": it stops here');
        else this.condition(line, kind.condition, 'while');
        return;
      case 'postfix-if':
        this.condition(line, kind.condition, 'if');
        this.checkLine(line, kind.command, false);
        return;
      case 'if':
        return this.checkIf(line, text);
      case 'switch':
        // A head eventMacro cannot read ("switch value {") makes every case condition unreadable:
        // the macro stops at the first case, which is where it is reported.
        return;
      case 'branch-end': {
        const elsif = /^}\s*elsif\s*(\(.*\)).*\{$/.exec(text);
        if (elsif) this.condition(line, elsif[1], 'elsif');
        return;
      }
      case 'goto':
        if (kind.label === undefined || !this.labels.has(kind.label)) {
          this.stops(line, 'UNDEFINED_LABEL', `goto "${kind.label ?? text.slice(5).trim()}": no label ":${kind.label ?? ''}" in macro "${this.block.name}" (eventMacro stops here)`);
        }
        return;
      case 'case-end':
      case 'macro-block':
      case 'close':
      case 'label':
        return;
      default:
        return this.checkCommand(line, text, kind);
    }
  }

  private checkIf(line: SourceLine, text: string): void {
    let after: string;
    try {
      after = scanCondition(text, (n) => this.ctx.isSub(n)).after;
    } catch (err) {
      if (!(err instanceof ConditionError)) throw err;
      return this.stops(line, 'STATEMENT', `the condition of "if" cannot be read: ${err.message} (eventMacro stops here)`);
    }
    this.condition(line, text, 'if');
    if (after === '{') return;
    if (after === '') {
      const why = /\)\{$/.test(text)
        ? 'eventMacro skips the character after ")": write ") {" with a space, or it takes the block for a command'
        : 'nothing follows the condition';
      return this.stops(line, 'STATEMENT', `${why} (eventMacro stops here when the condition is true)`);
    }
    this.checkLine(line, after, false);
  }

  private checkCase(line: SourceLine, text: string, head: string): void {
    const second = /^case\s*\(\s*(.*)/s.exec(text)?.[1];
    if (!second) return this.stops(line, 'STATEMENT', `every "case" needs a condition (eventMacro stops here)`);
    let after: string;
    try {
      after = scanCondition(head + second, (n) => this.ctx.isSub(n)).after;
    } catch (err) {
      if (!(err instanceof ConditionError)) throw err;
      return this.stops(line, 'STATEMENT', `the condition of "case" cannot be read: ${err.message} (eventMacro stops here)`);
    }
    this.condition(line, head + second, 'case');
    if (after === '' || after === '0') return this.stops(line, 'STATEMENT', `every "case" needs a command or a block after its condition (eventMacro stops here)`);
    if (after !== '{') this.checkLine(line, text.replace(/^case\s*\(.*\)\s*/, ''), false);
  }

  private condition(line: SourceLine, text: string, what: string): void {
    const problem = conditionProblem(text, (n) => this.ctx.isSub(n), (operand) => {
      this.commandText(line, operand);
      return '1';
    });
    if (problem) this.stops(line, 'STATEMENT', `the condition of "${what}" cannot be evaluated: ${problem} (eventMacro stops here)`);
  }

  private checkCommand(line: SourceLine, text: string, kind: MacroLine): void {
    switch (kind.kind) {
      case 'assign':
        return this.checkAssign(line, text, kind.variable, kind.op);
      case 'array-op':
      case 'hash-delete':
        return this.checkVariableFunction(line, text);
      case 'do':
        if (/^eventMacro\s+/.test(kind.command)) return this.stops(line, 'STATEMENT', `"do eventMacro …" is refused inside macros (eventMacro stops here)`);
        if (/^ai\s+clear$/.test(kind.command)) return this.stops(line, 'STATEMENT', `"do ai clear" is refused inside macros (eventMacro stops here)`);
        this.commandText(line, kind.command);
        return;
      case 'log':
        this.commandText(line, kind.text);
        return;
      case 'pause':
        this.commandText(line, kind.value);
        if (isLiteral(kind.value) && !/^\d+(?:\.\d+)?$/.test(kind.value)) {
          this.stops(line, 'STATEMENT', kind.value === '' ? `"pause" needs a number of seconds (eventMacro stops here)` : `pause value "${kind.value}" must be numeric (eventMacro stops here)`);
        }
        return;
      case 'release':
      case 'lock':
        this.commandText(line, kind.target);
        if (isLiteral(kind.target) && kind.target !== 'all') this.references.automacros.push({ line: line.line, target: kind.target });
        return;
      case 'call': {
        const name = parseArgs(kind.text)[0] ?? '';
        this.commandText(line, name);
        if (isLiteral(kind.text) && name !== '') this.references.calls.push({ line: line.line, target: name });
        return;
      }
      case 'set':
        return this.checkSet(line, kind.parameter, kind.value);
      case 'include':
        if (kind.key !== undefined && isLiteral(kind.key) && kind.key !== 'on' && kind.key !== 'off') {
          this.stops(line, 'STATEMENT', `"include" takes "on" or "off" and a file pattern (eventMacro stops here)`);
        } else if (kind.key === undefined) this.stops(line, 'STATEMENT', `"include" takes "on" or "off" and a file pattern (eventMacro stops here)`);
        return;
      case 'sub-call':
        this.commandText(line, text);
        return;
      case 'stop':
        return;
      default:
        if (/^}\s*else\s+if\b/.test(text)) return this.stops(line, 'STATEMENT', `eventMacro has no "else if": write "} elsif (…) {" (as written, it stops here)`);
        this.stops(line, 'STATEMENT', `"${clip(text)}" is not a macro command eventMacro knows (it stops here)`);
    }
  }

  private checkAssign(line: SourceLine, text: string, variable: string | undefined, op: string | undefined): void {
    if (variable === undefined || op === undefined) return this.stops(line, 'STATEMENT', `"${clip(text)}": eventMacro cannot tell the variable from the value (it stops here)`);
    if (/^[$@%]\./.test(variable)) return this.stops(line, 'STATEMENT', `${variable} is a read-only special variable (eventMacro stops here)`);
    const accessed = /^\$(\.?[a-zA-Z][a-zA-Z\d_]*)([[{])(.+)[\]}]$/.exec(variable);
    if (accessed && isLiteral(accessed[3])) {
      const ok = accessed[2] === '[' ? /^\d+$/.test(accessed[3]) : /^[a-zA-Z\d_]+$/.test(accessed[3]);
      if (!ok) return this.stops(line, 'STATEMENT', `${variable}: ${accessed[2] === '[' ? 'an array index is a number' : 'a hash key is letters, digits and _'} (eventMacro stops here)`);
    }
    const ref = findVariable(variable);
    const collection = variable.startsWith('@') || variable.startsWith('%');
    const value = /^=\s*(.*)/s.exec(op)?.[1];
    if (collection) {
      if (value === undefined) return this.stops(line, 'STATEMENT', `"${op}" does not apply to ${variable} (eventMacro stops here)`);
      if (/(?:undef|unset)/.test(value)) return;
      const list = /^\((.*)\)$/s.exec(value);
      if (list) {
        if (variable.startsWith('%')) {
          for (const member of list[1].split(/\s*,\s*/)) {
            if (!/(.*\S)\s*=>\s*(\S.*)/.test(member)) return this.stops(line, 'STATEMENT', `hash member "${member}" is not "key => value" (eventMacro stops here)`);
          }
        }
        return;
      }
      if (/\w+\s*\(.*\)$/s.test(value)) this.commandText(line, value);
      return;
    }
    if (!ref && !accessed) return this.stops(line, 'STATEMENT', `"${variable}" is not a variable eventMacro can resolve (it stops here)`);
    if (value !== undefined) this.commandText(line, value);
  }

  private checkVariableFunction(line: SourceLine, text: string): void {
    const call = findKeywordCall(text);
    if (!call) return;
    const kw = call.keyword;
    if (kw === 'push' || kw === 'unshift' || kw === 'pop' || kw === 'shift') {
      const args = splitLimit(call.inside, /\s*,\s*/, 2);
      if (!/^@\.?[a-zA-Z][a-zA-Z\d_]*/i.test(args[0] ?? '')) return this.stops(line, 'STATEMENT', `'${args[0] ?? ''}' is not a valid array name (eventMacro stops here)`);
      const wanted = kw === 'push' || kw === 'unshift' ? 2 : 1;
      if (args.length !== wanted) return this.stops(line, 'STATEMENT', `${kw} takes ${wanted === 2 ? `an array and a member: "${kw}(@list, member)"` : `one array: "${kw}(@list)"`} (eventMacro stops here)`);
      if (args[1] !== undefined) this.commandText(line, args[1]);
      return;
    }
    if (kw === 'delete' && !/^\$\.?[a-zA-Z][a-zA-Z\d_]*\{.+\}$/.test(call.inside.trim())) {
      this.stops(line, 'STATEMENT', `delete takes a hash element: "&delete($hash{key})" (eventMacro stops here)`);
    }
  }

  private checkSet(line: SourceLine, parameter: string | undefined, value: string | undefined): void {
    const known: Record<string, [RegExp, string]> = {
      macro_delay: [/^[\d.]*\d+$/, 'a number (decimals are accepted)'],
      repeat: [/^\d+$/, 'a number'],
      overrideAI: [/^[01]$/, "'0' or '1'"],
      exclusive: [/^[01]$/, "'0' or '1'"],
      self_interruptible: [/^[01]$/, "'0' or '1'"],
      orphan: [/^(terminate|terminate_last_call|reregister|reregister_safe)$/, "'terminate', 'terminate_last_call', 'reregister' or 'reregister_safe'"],
    };
    const rule = parameter === undefined ? undefined : known[parameter];
    if (!rule) {
      return this.stops(line, 'STATEMENT', `"set" knows macro_delay, repeat, overrideAI, exclusive, self_interruptible and orphan${parameter ? `, not "${parameter}"` : ''} (eventMacro stops here)`);
    }
    // eventMacro compares the value as written: a variable is never expanded here.
    if (!rule[0].test(value ?? '')) this.stops(line, 'STATEMENT', `${parameter} should be ${rule[1]}, got "${value ?? ''}" (eventMacro stops here; variables are not expanded by "set")`);
  }

  /**
   * Text eventMacro expands with parse_command: keyword functions, then Perl sub calls — any
   * word directly followed by a balanced "( … )" is taken for one and must be a defined sub.
   */
  private commandText(line: SourceLine, text: string): void {
    let rest = text;
    for (let i = 0; i < 64; i++) {
      const call = findKeywordCall(rest);
      if (!call) break;
      // An unknown spelling (&RAND) or a keyword eventMacro does not implement: the text is kept as is.
      if (!KEYWORDS.has(call.keyword) || call.keyword === 'listlength') return;
      if (BOT_ONLY_KEYWORDS.has(call.keyword)) this.references.botOnly.push({ line: line.line, what: `&${call.keyword}(…)` });
      const next = replaceKeywordCall(rest, call, '0', false);
      if (next === rest) break;
      rest = next;
    }
    for (let i = 0; i < 64; i++) {
      const sub = findSubCall(rest);
      if (!sub) break;
      if (!this.ctx.isSub(sub.name)) {
        return this.stops(line, 'STATEMENT', `eventMacro reads "${clip(`${sub.name}(${sub.inside})`, 40)}" as a call of a Perl sub "${sub.name}", which no sub block defines (it stops here)`);
      }
      this.references.botOnly.push({ line: line.line, what: `sub ${sub.name}` });
      const next = replaceSubCall(rest, sub, '0');
      if (next === rest) break;
      rest = next;
    }
    const old = /@(\w+)\(/.exec(text);
    if (old && OLD_FUNCTIONS.has(old[1])) {
      this.diag(line, 'NOT_A_FUNCTION', 'advice', `"@${old[1]}(" is the array @${old[1]} followed by text in eventMacro; its functions are written "&${old[1]}(…)"`);
    }
  }

  private stops(line: SourceLine, code: DiagnosticCode, message: string): void {
    this.diag(line, code, 'stops_macro', message);
  }

  private diag(line: SourceLine, code: DiagnosticCode, effect: Effect, message: string): void {
    if (this.diagnostics.some((d) => d.line === line.line && d.code === code && d.effect === effect)) return;
    this.diagnostics.push({ severity: 'warning', code, effect, line: line.line, message, block: this.block.name });
  }
}

/** Whether a text reads no variable and calls no keyword (its value is known before the macro runs). */
export function isLiteral(text: string): boolean {
  return !/[$@%&]/.test(text);
}

/** Perl's split with a limit. */
function splitLimit(text: string, re: RegExp, limit: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (out.length < limit - 1) {
    const m = re.exec(rest);
    if (!m || m[0] === '') break;
    out.push(rest.slice(0, m.index));
    rest = rest.slice(m.index + m[0].length);
  }
  out.push(rest);
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

