import type {
  AutomacroBlock,
  AutomacroCondition,
  Block,
  CallTarget,
  Diagnostic,
  DiagnosticCode,
  Expr,
  IfBranch,
  MacroBlock,
  MacroDocument,
  Statement,
} from './ast';
import { ConditionValueError, conditionSpec, isOption, parseCondition } from './conditions';
import { ExpressionSyntaxError, matchingParen, parseExpression } from './expression';

/**
 * Names of macros and automacros. Stricter than eventMacro: names become URL segments and
 * file names (`<name>.txt`), so no path separators, no `..`, no leading dot.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]|\.(?!\.)){0,63}$/;
export const MAX_NAME_LENGTH = 64;
/** A macro file larger than this is refused unread. */
export const MAX_SOURCE_BYTES = 256 * 1024;

const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER = /^(macro|automacro)(?:\s+(.*?))?\s*$/;
const VARIABLE = /^([$@%][A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\]|\{[^}]*\})?)\s*(\+\+|--|=)\s*(.*)$/;

interface SourceLine {
  n: number;
  text: string;
}

type End = 'close' | 'branch' | 'eof' | 'header';

/** Parses eventMacro source into blocks; syntax problems become diagnostics, never exceptions. */
export function parseMacroSource(source: string): MacroDocument {
  return new Parser(source).parse();
}

class Parser {
  private readonly raw: string[];
  private readonly lines: SourceLine[] = [];
  private i = 0;
  private readonly diagnostics: Diagnostic[] = [];
  private structureOk = true;

  constructor(source: string) {
    this.raw = source.replace(/^\uFEFF/, '').split(/\r?\n/);
    this.raw.forEach((line, idx) => {
      const text = line.trim();
      if (text !== '' && !text.startsWith('#')) this.lines.push({ n: idx + 1, text });
    });
  }

  parse(): MacroDocument {
    const blocks: Block[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      const header = HEADER.exec(line.text);
      if (header) {
        const block = this.parseBlock(line, header[1] as 'macro' | 'automacro', header[2] ?? '');
        if (block) blocks.push(block);
        continue;
      }
      if (line.text === '}') {
        this.error('UNBALANCED_BRACES', line.n, `'}' closes no block`);
        this.structureOk = false;
      } else {
        this.error('UNKNOWN_KEYWORD', line.n, `unknown keyword "${firstWord(line.text)}" outside a macro or automacro block`);
      }
      this.i++;
    }
    return { blocks, lineCount: this.raw.length, diagnostics: this.diagnostics, structureOk: this.structureOk };
  }

  // ---- blocks ----

  private parseBlock(line: SourceLine, kind: 'macro' | 'automacro', rest: string): Block | undefined {
    this.i++;
    let nameText = rest;
    if (nameText.endsWith('{')) nameText = nameText.slice(0, -1).trim();
    else {
      // eventMacro wants the brace on the header line; accept a lone `{` on the next line to recover.
      this.error('SYNTAX', line.n, `expected "{" at the end of "${kind} ${nameText}"`);
      if (this.peek()?.text === '{') this.i++;
    }
    const name = nameText;
    if (name === '') this.error('INVALID_NAME', line.n, `${kind} needs a name`);
    else if (/\s/.test(name)) this.error('INVALID_NAME', line.n, `${kind} name "${name}" contains white space`);
    else if (!NAME_PATTERN.test(name)) {
      this.error('INVALID_NAME', line.n, `${kind} name "${name}" is not allowed (letters, digits, "_", "-", "."; at most ${MAX_NAME_LENGTH})`);
    }
    const block = kind === 'macro' ? this.parseMacroBody(line, name) : this.parseAutomacroBody(line, name);
    block.text = this.raw.slice(line.n - 1, block.endLine).join('\n');
    return name === '' ? undefined : block;
  }

  private parseMacroBody(header: SourceLine, name: string): MacroBlock {
    const { body, end, endLine } = this.parseStatements(name, 0);
    this.closeBlock(header, `macro ${name}`, end);
    return { kind: 'macro', name, line: header.n, endLine, text: '', body };
  }

  private parseAutomacroBody(header: SourceLine, name: string): AutomacroBlock {
    const conditions: AutomacroCondition[] = [];
    const options: Record<string, string> = {};
    let call: CallTarget | null = null;
    let end: End = 'eof';
    let endLine = this.raw.length;
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line.text === '}') {
        this.i++;
        end = 'close';
        endLine = line.n;
        break;
      }
      if (HEADER.test(line.text)) {
        end = 'header';
        endLine = this.lines[this.i - 1]?.n ?? line.n;
        break;
      }
      this.i++;
      const m = /^([A-Za-z_][A-Za-z0-9_-]*)\s*(.*)$/.exec(line.text);
      if (!m) {
        this.error('UNKNOWN_KEYWORD', line.n, `unknown automacro keyword "${firstWord(line.text)}"`, name);
        continue;
      }
      const [, keyword, value] = m;
      if (keyword.toLowerCase() === 'call') {
        const target = this.parseAutomacroCall(line, value, name);
        if (!target) continue;
        if (call) this.error('SYNTAX', line.n, `automacro ${name} has more than one call (first at line ${call.line})`, name);
        else call = target;
        continue;
      }
      const spec = conditionSpec(keyword);
      if (!spec) {
        this.error('UNKNOWN_KEYWORD', line.n, `unknown automacro keyword "${keyword}"`, name);
        continue;
      }
      try {
        const condition = parseCondition(line.n, keyword, spec, value);
        if (isOption(spec)) {
          if (spec.canonical in options) this.error('SYNTAX', line.n, `option "${spec.canonical}" is set twice`, name);
          options[spec.canonical] = condition.value;
        } else {
          conditions.push(condition);
        }
      } catch (err) {
        if (!(err instanceof ConditionValueError)) throw err;
        this.error('INVALID_VALUE', line.n, err.message, name);
      }
    }
    this.closeBlock(header, `automacro ${name}`, end);
    return { kind: 'automacro', name, line: header.n, endLine, text: '', conditions, call, options };
  }

  private parseAutomacroCall(line: SourceLine, value: string, block: string): CallTarget | undefined {
    if (value === '{') {
      const { body, end } = this.parseStatements(block, 1);
      if (end !== 'close') {
        this.error('UNBALANCED_BRACES', line.n, `"call {" is never closed (missing "}")`, block);
        this.structureOk = false;
      }
      return { line: line.n, target: null, times: null, inline: body };
    }
    const m = /^(\S+)(?:\s+(\S+))?$/.exec(value);
    if (!m) {
      this.error('SYNTAX', line.n, `"call" needs a macro name`, block);
      return undefined;
    }
    if (!isCallTarget(m[1])) {
      this.error('INVALID_NAME', line.n, `"${m[1]}" is not a macro name`, block);
      return undefined;
    }
    if (m[2] !== undefined && !isCount(m[2])) {
      this.error('SYNTAX', line.n, `"call ${m[1]}" takes an optional repeat count, got "${m[2]}"`, block);
    }
    return { line: line.n, target: m[1], times: m[2] ?? null };
  }

  private closeBlock(header: SourceLine, what: string, end: End): void {
    if (end === 'close') return;
    this.structureOk = false;
    const where = end === 'header' ? 'before the next block starts' : 'before the end of the file';
    this.error('UNBALANCED_BRACES', header.n, `${what} is never closed: missing "}" ${where}`, what.split(' ')[1]);
  }

  // ---- statements ----

  private parseStatements(block: string, depth: number, inBranch = false): { body: Statement[]; end: End; endLine: number } {
    const body: Statement[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      if (line.text === '}') {
        this.i++;
        return { body, end: 'close', endLine: line.n };
      }
      if (/^}\s*(?:elsif|elseif|else)\b/.test(line.text)) {
        if (inBranch) return { body, end: 'branch', endLine: line.n };
        this.error('SYNTAX', line.n, `"${line.text}" without a matching "if"`, block);
        this.i++;
        continue;
      }
      if (HEADER.test(line.text) && /\{\s*$/.test(line.text)) {
        return { body, end: 'header', endLine: this.lines[this.i - 1]?.n ?? line.n };
      }
      this.i++;
      const result = this.parseStatement(line, block, depth);
      if (result.statement) body.push(result.statement);
      if (result.end) return { body, end: result.end, endLine: this.lines[this.i - 1]?.n ?? line.n };
    }
    return { body, end: 'eof', endLine: this.raw.length };
  }

  /** Parses one statement (consuming the lines of its nested blocks). `end` propagates an unclosed structure. */
  private parseStatement(line: SourceLine, block: string, depth: number): { statement?: Statement; end?: End } {
    const t = line.text;
    if (/^if\s*\(/.test(t)) return this.parseIf(line, block, depth);
    if (/^while\s*\(/.test(t)) return this.parseWhile(line, block, depth);
    if (t.startsWith(':')) {
      const name = t.slice(1).trim();
      if (!LABEL.test(name)) return this.fail('SYNTAX', line.n, `invalid label "${t}"`, block);
      if (depth > 0) return this.fail('SYNTAX', line.n, `label ":${name}" must be at the top level of the macro, not inside a block`, block);
      return { statement: { type: 'label', line: line.n, name } };
    }
    const statement = this.parseSimple(line.n, t, block);
    return statement ? { statement } : {};
  }

  private parseIf(line: SourceLine, block: string, depth: number): { statement?: Statement; end?: End } {
    const head = this.conditionAndRest(line.n, line.text, 'if', block);
    if (!head) return {};
    const branches: IfBranch[] = [];
    if (head.rest !== '{') {
      if (head.rest === '') return this.fail('SYNTAX', line.n, 'expected "{" or a command after the condition of "if"', block);
      if (/^(if|while)\b/.test(head.rest) || head.rest.startsWith(':')) {
        return this.fail('SYNTAX', line.n, 'a one-line "if" takes a single simple command', block);
      }
      const inner = this.parseSimple(line.n, head.rest, block);
      if (!inner) return {};
      branches.push({ line: line.n, condition: head.condition, conditionText: head.text, body: [inner], inline: true });
      return { statement: { type: 'if', line: line.n, branches, endLine: line.n } };
    }
    let current: IfBranch = { line: line.n, condition: head.condition, conditionText: head.text, body: [] };
    for (;;) {
      const { body, end, endLine } = this.parseStatements(block, depth + 1, true);
      current.body = body;
      branches.push(current);
      if (end === 'close') return { statement: { type: 'if', line: line.n, branches, endLine } };
      if (end !== 'branch') {
        this.error('UNBALANCED_BRACES', current.line, `the block of "${current.condition ? 'if' : 'else'}" is never closed (missing "}")`, block);
        this.structureOk = false;
        return { statement: { type: 'if', line: line.n, branches, endLine }, end };
      }
      const next = this.lines[this.i++];
      const elseMatch = /^}\s*else\s*(.*)$/.exec(next.text);
      if (elseMatch && !/^if\b/.test(elseMatch[1])) {
        if (elseMatch[1] !== '{') {
          this.error('SYNTAX', next.n, 'expected "} else {"', block);
        }
        if (branches.some((b) => b.condition === null)) this.error('SYNTAX', next.n, '"else" after "else"', block);
        current = { line: next.n, condition: null, conditionText: null, body: [] };
        continue;
      }
      const elsif = /^}\s*(elsif|elseif|else\s+if)\s*(\(.*)$/.exec(next.text);
      if (!elsif) {
        this.error('SYNTAX', next.n, `expected "} elsif (…) {" or "} else {", got "${next.text}"`, block);
        current = { line: next.n, condition: { kind: 'value', text: '0' }, conditionText: '0', body: [] };
        continue;
      }
      if (branches.some((b) => b.condition === null)) this.error('SYNTAX', next.n, '"elsif" after "else"', block);
      const cond = this.conditionAndRest(next.n, `if ${elsif[2]}`, 'elsif', block);
      if (cond && cond.rest !== '{') this.error('SYNTAX', next.n, 'expected "{" after the condition of "elsif"', block);
      current = { line: next.n, condition: cond?.condition ?? { kind: 'value', text: '0' }, conditionText: cond?.text ?? '0', body: [] };
    }
  }

  private parseWhile(line: SourceLine, block: string, depth: number): { statement?: Statement; end?: End } {
    const head = this.conditionAndRest(line.n, line.text, 'while', block);
    if (!head) return {};
    if (/^as\s+\w+$/.test(head.rest)) {
      return this.fail('SYNTAX', line.n, 'old "while (…) as label … end label" loops are not supported; use "while (…) { … }"', block);
    }
    if (head.rest !== '{') return this.fail('SYNTAX', line.n, 'expected "{" after the condition of "while"', block);
    const { body, end, endLine } = this.parseStatements(block, depth + 1);
    const statement: Statement = { type: 'while', line: line.n, condition: head.condition, conditionText: head.text, body, endLine };
    if (end !== 'close') {
      this.error('UNBALANCED_BRACES', line.n, 'the block of "while" is never closed (missing "}")', block);
      this.structureOk = false;
      return { statement, end };
    }
    return { statement };
  }

  /** `if (cond) rest` → condition and the text after the closing parenthesis. */
  private conditionAndRest(n: number, text: string, keyword: string, block: string): { condition: Expr; text: string; rest: string } | undefined {
    // When the condition is hopeless but the line opens a block, keep the block so that its
    // closing brace does not look unbalanced.
    const placeholder = (condText: string) =>
      /\{\s*$/.test(text) ? { condition: { kind: 'value', text: '0' } as Expr, text: condText, rest: '{' } : undefined;
    const open = text.indexOf('(');
    const close = matchingParen(text, open);
    if (close < 0) {
      this.error('SYNTAX', n, `unbalanced parentheses in the condition of "${keyword}"`, block);
      return placeholder(text.slice(open + 1));
    }
    const condText = text.slice(open + 1, close).trim();
    const rest = text.slice(close + 1).trim();
    if (condText === '') {
      this.error('SYNTAX', n, `"${keyword}" needs a condition`, block);
      return placeholder('');
    }
    try {
      return { condition: parseExpression(condText), text: condText, rest };
    } catch (err) {
      if (!(err instanceof ExpressionSyntaxError)) throw err;
      this.error('SYNTAX', n, `invalid condition of "${keyword}": ${err.message}`, block);
      // Keep the structure going so the rest of the file is still checked.
      return { condition: { kind: 'value', text: '0' }, text: condText, rest };
    }
  }

  /** One-line statements (also the body of a one-line `if`). */
  private parseSimple(n: number, t: string, block: string): Statement | undefined {
    const word = firstWord(t);
    const arg = t.slice(word.length).trim();
    switch (word) {
      case 'do':
        if (arg === '') return this.none('SYNTAX', n, '"do" needs a console command', block);
        return { type: 'do', line: n, command: arg };
      case 'pause':
        if (arg !== '' && !isNumberOrExpr(arg)) return this.none('INVALID_VALUE', n, `"pause" takes seconds, got "${arg}"`, block);
        return { type: 'pause', line: n, seconds: arg === '' ? null : arg };
      case 'log':
        return { type: 'log', line: n, message: arg };
      case 'call': {
        const m = /^(\S+)(?:\s+(\S+))?$/.exec(arg);
        if (!m) return this.none('SYNTAX', n, '"call" needs a macro name and an optional repeat count', block);
        if (!isCallTarget(m[1])) return this.none('INVALID_NAME', n, `"${m[1]}" is not a macro name`, block);
        if (m[2] !== undefined && !isCount(m[2])) return this.none('SYNTAX', n, `"call ${m[1]}" takes an optional repeat count, got "${m[2]}"`, block);
        return { type: 'call', line: n, target: m[1], times: m[2] ?? null };
      }
      case 'release':
      case 'lock':
        if (!/^\S+$/.test(arg)) return this.none('SYNTAX', n, `"${word}" needs an automacro name (or "all")`, block);
        return { type: word, line: n, target: arg };
      case 'stop':
        if (arg !== '') return this.none('SYNTAX', n, '"stop" takes no argument', block);
        return { type: 'stop', line: n };
      case 'goto':
        if (!LABEL.test(arg)) return this.none('SYNTAX', n, '"goto" needs a label name', block);
        return { type: 'goto', line: n, label: arg };
      case 'set': {
        const m = /^(\S+)\s+(.+)$/.exec(arg);
        if (!m) return this.none('SYNTAX', n, '"set" needs an option and a value', block);
        return { type: 'set', line: n, key: m[1], value: m[2] };
      }
      default: {
        const v = VARIABLE.exec(t);
        if (v) {
          const op = v[2] as '=' | '++' | '--';
          if (op !== '=' && v[3] !== '') return this.none('SYNTAX', n, `"${v[1]}${op}" takes nothing after it`, block);
          if (op !== '=' && !v[1].startsWith('$')) return this.none('SYNTAX', n, `"${op}" applies to scalar variables only`, block);
          return { type: 'assign', line: n, variable: v[1], op, value: op === '=' ? v[3] : null };
        }
        if (t.startsWith('$') || t.startsWith('@') || t.startsWith('%')) {
          return this.none('SYNTAX', n, `invalid variable statement "${t}"`, block);
        }
        return this.none('UNKNOWN_KEYWORD', n, `unknown command "${word}"`, block);
      }
    }
  }

  // ---- helpers ----

  private peek(): SourceLine | undefined {
    return this.lines[this.i];
  }

  private error(code: DiagnosticCode, line: number, message: string, block?: string): void {
    this.diagnostics.push({ severity: 'error', code, line, message, ...(block ? { block } : {}) });
  }

  private fail(code: DiagnosticCode, line: number, message: string, block: string): { statement?: Statement } {
    this.error(code, line, message, block);
    return {};
  }

  private none(code: DiagnosticCode, line: number, message: string, block: string): undefined {
    this.error(code, line, message, block);
    return undefined;
  }
}

function firstWord(text: string): string {
  return /^\S+/.exec(text)?.[0] ?? text;
}

/** A call target: a macro name, or a variable holding one. */
function isCallTarget(s: string): boolean {
  return NAME_PATTERN.test(s) || /^\$\.?[A-Za-z_][A-Za-z0-9_]*$/.test(s);
}

function isCount(s: string): boolean {
  return /^\d{1,6}$/.test(s) || /^\$\.?[A-Za-z_][A-Za-z0-9_]*$/.test(s);
}

function isNumberOrExpr(s: string): boolean {
  return /^\d+(?:\.\d+)?$/.test(s) || /^\$\.?[A-Za-z_][A-Za-z0-9_]*$/.test(s) || /^@\w+\(.*\)$/.test(s);
}
