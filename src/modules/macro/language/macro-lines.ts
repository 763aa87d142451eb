import { KEYWORDS } from './condition-text';
import { GENERAL_VARIABLE, WIDER_VARIABLE } from './variables';

/**
 * A macro line as eventMacro's runner sees it: first the flow-control forms its line loop
 * handles (eventMacro/Runner.pm define_next_valid_command), then the commands (Runner.pm next),
 * tested in the runner's own order — a line is what the first matching test says it is.
 */
export type MacroLine =
  | { kind: 'while'; condition: string | undefined }
  | { kind: 'postfix-if'; condition: string; command: string }
  | { kind: 'if' }
  | { kind: 'switch'; head: string | undefined }
  | { kind: 'branch-end' }
  | { kind: 'case-end' }
  | { kind: 'macro-block'; open: boolean }
  | { kind: 'close' }
  | { kind: 'label'; name: string }
  | { kind: 'goto'; label: string | undefined }
  | { kind: 'assign'; variable: string | undefined; op: string | undefined }
  | { kind: 'array-op' }
  | { kind: 'hash-delete' }
  | { kind: 'do'; command: string }
  | { kind: 'log'; level: 'log' | 'warning' | 'error'; text: string }
  | { kind: 'pause'; value: string }
  | { kind: 'stop' }
  | { kind: 'release' | 'lock'; target: string }
  | { kind: 'call'; text: string }
  | { kind: 'set'; parameter: string | undefined; value: string | undefined }
  | { kind: 'include'; key: string | undefined; param: string | undefined }
  | { kind: 'sub-call' }
  | { kind: 'unknown' };

const ASSIGN_HEAD = new RegExp(`^${GENERAL_VARIABLE}`, 'i');
const ASSIGN = new RegExp(String.raw`^(${WIDER_VARIABLE})\s*([+-]{2}|=\s*.*)`);

export function classifyLine(text: string): MacroLine {
  if (/^while\s*\(/.test(text)) return { kind: 'while', condition: /^while\s*(\(.*\))\s+\{$/.exec(text)?.[1] };
  const postfix = /^.+\s+if\s*(\(.*\))$/.exec(text);
  if (postfix) return { kind: 'postfix-if', condition: postfix[1], command: text.replace(/\s+if\s*\(.*\)$/, '') };
  if (/^if\s*\(/.test(text)) return { kind: 'if' };
  if (/^switch.*\{$/.test(text)) return { kind: 'switch', head: /^switch\s*(\(.*)\)\s*\{$/.exec(text)?.[1] };
  if (/^}\s*else\s*\{/.test(text) || /^}\s*elsif.*\{$/.test(text)) return { kind: 'branch-end' };
  if (/^case/.test(text) || /^else/.test(text)) return { kind: 'case-end' };
  if (text === '[' || text === ']') return { kind: 'macro-block', open: text === '[' };
  if (text === '}') return { kind: 'close' };
  if (text.startsWith(':')) return { kind: 'label', name: text.slice(1) };
  if (/^goto\s/.test(text)) return { kind: 'goto', label: /^goto\s+([a-zA-Z][a-zA-Z\d_]*)/.exec(text)?.[1] };
  return classifyCommand(text);
}

/** The commands (Runner.pm next), after flow control. */
export function classifyCommand(text: string): MacroLine {
  if (ASSIGN_HEAD.test(text)) {
    const m = ASSIGN.exec(text);
    return { kind: 'assign', variable: m?.[1], op: m?.[2] };
  }
  if (/^&(push|unshift|pop|shift)/i.test(text)) return { kind: 'array-op' };
  if (/^&(delete)/i.test(text)) return { kind: 'hash-delete' };
  if (/^do\s/.test(text)) return { kind: 'do', command: /^do\s+(.*)/s.exec(text)?.[1] ?? '' };
  const log = /^(log|warning|error)\s+(.*)/s.exec(text);
  if (log) return { kind: 'log', level: log[1] as 'log' | 'warning' | 'error', text: log[2] };
  if (/^pause/.test(text)) return { kind: 'pause', value: /^pause\s*(.*)/s.exec(text)![1] };
  if (text === 'stop') return { kind: 'stop' };
  if (/^release\s+/.test(text)) return { kind: 'release', target: /^release\s+(.*)/s.exec(text)![1] };
  if (/^lock\s+/.test(text)) return { kind: 'lock', target: /^lock\s+(.*)/s.exec(text)![1] };
  if (/^call\s+/.test(text)) return { kind: 'call', text: /^call\s+(.*)/s.exec(text)![1] };
  if (/^set\s+/.test(text)) {
    const m = /^set\s+(\w+)\s+(.*)$/s.exec(text);
    return { kind: 'set', parameter: m?.[1], value: m?.[2] };
  }
  if (/^include\s+/.test(text)) {
    const m = /^include\s+(\w+)\s+(.*)$/s.exec(text);
    return { kind: 'include', key: m?.[1], param: m?.[2] };
  }
  if (/^\w+\s*\(.*?\)/.test(text)) return { kind: 'sub-call' };
  return { kind: 'unknown' };
}

/** The labels of a macro (Runner.pm scanLabels): every line starting with ":" names one. */
export function scanLabels(lines: readonly string[]): Map<string, number> {
  const labels = new Map<string, number>();
  lines.forEach((l, i) => {
    if (l.startsWith(':')) labels.set(l.slice(1), i);
  });
  return labels;
}

export interface BlockSpan {
  type: string;
  start: number;
  end?: number;
}

/** Where each block of a macro starts and ends (Runner.pm scanBlocks), used to loop `while` and skip it. */
export function scanBlocks(lines: readonly string[]): { startToEnd: Map<number, BlockSpan>; endToStart: Map<number, BlockSpan> } {
  const startToEnd = new Map<number, BlockSpan>();
  const endToStart = new Map<number, BlockSpan>();
  const open: BlockSpan[] = [];
  lines.forEach((l, i) => {
    const m = /^(if|switch|while|case)\s+\(.*\)\s+\{$|^(else)\s+.*\{/.exec(l);
    if (m) open.push({ type: m[1] ?? m[2], start: i });
    else if (l === '}') {
      const block = open.pop() ?? { type: '', start: -1 };
      block.end = i;
      endToStart.set(i, block);
      startToEnd.set(block.start, block);
    }
  });
  return { startToEnd, endToStart };
}

/**
 * The balanced `( … )` at the start of `text` (leading blanks skipped, backslash-escaped
 * parentheses ignored), like Text::Balanced's extract_bracketed; undefined when unbalanced.
 */
export function extractBracketed(text: string): string | undefined {
  const start = text.length - text.trimStart().length;
  if (text[start] !== '(') return undefined;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
}

export interface KeywordCall {
  /** The keyword as written (eventMacro matches keywords case-insensitively but acts only on their own spelling). */
  keyword: string;
  /** The text between its parentheses. */
  inside: string;
}

const KEYWORD_ALTERNATION = [...KEYWORDS].join('|');
const KEYWORD_CALL = new RegExp(String.raw`&(${KEYWORD_ALTERNATION})\s*(\(\s*(.*?)\s*\).*)$`, 'is');
const KEYWORD_OPEN = new RegExp(String.raw`&(${KEYWORD_ALTERNATION})\s*\(`, 'i');

/** The innermost keyword call of the first one in `command` (Runner.pm parse_keywords). */
export function findKeywordCall(command: string): KeywordCall | undefined {
  const full = KEYWORD_CALL.exec(command);
  if (!full) return undefined;
  const bracketed = extractBracketed(full[2]);
  if (!bracketed) return undefined;
  const keyword = full[1];
  const inside = bracketed.slice(1, -1);
  if (keyword === 'arg') {
    const m = /&(arg)\s*\(\s*(".*?",\s*(\d+|\$[a-zA-Z][a-zA-Z\d_]*))\s*\)/s.exec(command);
    return m ? { keyword: m[1], inside: m[2] } : undefined;
  }
  if (keyword === 'random') {
    const m = /&(random)\s*\(\s*(".*?")\s*\)/s.exec(command);
    return m ? { keyword: m[1], inside: m[2] } : undefined;
  }
  if (KEYWORD_OPEN.test(inside)) return findKeywordCall(inside);
  return { keyword, inside };
}

export interface SubCall {
  name: string;
  inside: string;
}

/** The first Perl sub call of `command` (a word followed by a balanced parenthesis), innermost first (Runner.pm parse_perl_subs). */
export function findSubCall(command: string): SubCall | undefined {
  const full = /(?:^|\s+)(\w+)\s*(\(\s*(.*?)\s*\).*)$/is.exec(command);
  if (!full) return undefined;
  const bracketed = extractBracketed(full[2]);
  if (!bracketed) return undefined;
  let call: SubCall = { name: full[1], inside: bracketed.slice(1, -1) };
  while (/(?:^|\s+)(\w+)\s*\(/.test(call.inside)) {
    // An inner call that is not balanced ends the search with nothing found, as in eventMacro.
    const inner = findSubCall(call.inside);
    if (!inner) return undefined;
    call = inner;
  }
  return call;
}

/** OpenKore's Utils::parseArgs: words separated by spaces, quotes group, a backslash escapes. */
export function parseArgs(command: string, delimiter = ' '): string[] {
  let text = command.replace(/^ */, '').replace(/ *$/, '');
  const args: string[] = [];
  let quote = '';
  let within = false;
  const isDelimiter = (c: string) => (delimiter === ' ' ? c === ' ' : delimiter.includes(c));
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      args[0] = (args[0] ?? '') + (text[i + 1] ?? '');
      i++;
    } else if ((c === '"' || c === "'") && (quote === '' || quote === c)) {
      within = !within;
      quote = within ? c : '';
    } else if (within) args[0] = (args[0] ?? '') + c;
    else if (isDelimiter(c)) {
      args.unshift('');
      text = text.slice(i + 1);
      i = -1;
    } else args[0] = (args[0] ?? '') + c;
  }
  return args.reverse();
}

/** eventMacro's q4rx: escapes `/*+(){}[]\$^?` — and leaves `.` and `|` as regex operators, as it does. */
export function q4rx(text: string): string {
  return text.replace(/([/*+(){}[\]\\$^?])/g, '\\$1');
}

/**
 * Replaces `&keyword( inside )` by `value` in `command`, the first one or every one, the way
 * eventMacro does it (a regex built with q4rx from the text inside the parentheses).
 */
export function replaceKeywordCall(command: string, call: KeywordCall, value: string, all: boolean): string {
  let re: RegExp;
  try {
    re = new RegExp(String.raw`&${call.keyword}\s*\(\s*${q4rx(call.inside)}\s*\)`, all ? 'g' : '');
  } catch {
    return command;
  }
  return command.replace(re, () => value);
}

/** Replaces `name( inside )` by `value` everywhere in `command` (Runner.pm parse_command, Perl subs). */
export function replaceSubCall(command: string, call: SubCall, value: string): string {
  let re: RegExp;
  try {
    re = new RegExp(String.raw`${call.name}\s*\(\s*${q4rx(call.inside)}\s*\)`, 'g');
  } catch {
    return command;
  }
  return command.replace(re, () => value);
}
