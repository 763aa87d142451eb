import type { AutomacroBlock, Block, Diagnostic, DiagnosticCode, MacroBlock, MacroDocument, Statement } from './ast';
import { constantCondition } from './evaluate';
import { expressionHasExternalInput, expressionVariables } from './expression';
import { parseMacroSource } from './parser';

/** This many `do` in a row with no `pause` between them earn a FEW_PAUSES warning. */
export const FEW_PAUSES_RUN = 5;

/** What the rest of the registry defines, for checks that cross files. */
export interface ValidationContext {
  /** Macros defined by other files: name → file. */
  macros?: ReadonlyMap<string, string>;
  /** Automacros defined by other files: name → file. */
  automacros?: ReadonlyMap<string, string>;
}

export interface ValidationResult {
  document: MacroDocument;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  ok: boolean;
}

/** Parses and validates eventMacro source. `ok` is true when there is no error (warnings allowed). */
export function validateMacroSource(source: string, context: ValidationContext = {}): ValidationResult {
  const document = parseMacroSource(source);
  return validateDocument(document, context);
}

export function validateDocument(document: MacroDocument, context: ValidationContext = {}): ValidationResult {
  const out: Diagnostic[] = [...document.diagnostics];
  const add = (severity: 'error' | 'warning', code: DiagnosticCode, line: number, message: string, block?: string) =>
    out.push({ severity, code, line, message, ...(block ? { block } : {}) });

  const macros = new Map<string, MacroBlock>();
  const automacros = new Map<string, AutomacroBlock>();
  for (const block of document.blocks) {
    const seen: Map<string, Block> = block.kind === 'macro' ? macros : automacros;
    const first = seen.get(block.name);
    if (first) {
      add('error', 'DUPLICATE_NAME', block.line, `${block.kind} "${block.name}" is already defined at line ${first.line}`, block.name);
      continue;
    }
    const elsewhere = (block.kind === 'macro' ? context.macros : context.automacros)?.get(block.name);
    if (elsewhere !== undefined) {
      out.push({
        severity: 'error',
        code: 'DUPLICATE_NAME',
        line: block.line,
        message: `${block.kind} "${block.name}" is already defined in ${elsewhere}`,
        block: block.name,
        file: elsewhere,
      });
    }
    if (block.kind === 'macro') macros.set(block.name, block);
    else automacros.set(block.name, block);
  }

  const macroDefined = (name: string) => macros.has(name) || (context.macros?.has(name) ?? false);
  const automacroDefined = (name: string) => name === 'all' || automacros.has(name) || (context.automacros?.has(name) ?? false);

  const checkCalls = (statements: Statement[], blockName: string) => {
    walk(statements, (s) => {
      if (s.type === 'call' && !s.target.startsWith('$') && !macroDefined(s.target)) {
        add('error', 'UNDEFINED_MACRO', s.line, `call of macro "${s.target}", which is defined nowhere`, blockName);
      }
      if ((s.type === 'release' || s.type === 'lock') && !s.target.startsWith('$') && !automacroDefined(s.target)) {
        add('warning', 'UNKNOWN_AUTOMACRO', s.line, `${s.type} of automacro "${s.target}", which is defined nowhere`, blockName);
      }
    });
  };

  for (const block of document.blocks) {
    if (block.kind === 'macro') {
      checkCalls(block.body, block.name);
      checkLabels(block, add);
      checkPauses(block.body, block.name, add);
      checkLoops(block, add);
    } else {
      if (!block.call) {
        add('error', 'MISSING_CALL', block.line, `automacro "${block.name}" has no "call": it would trigger and do nothing`, block.name);
      } else if (block.call.inline) {
        checkCalls(block.call.inline, block.name);
        checkPauses(block.call.inline, block.name, add);
      } else if (block.call.target && !block.call.target.startsWith('$') && !macroDefined(block.call.target)) {
        add('error', 'UNDEFINED_MACRO', block.call.line, `call of macro "${block.call.target}", which is defined nowhere`, block.name);
      }
      if (block.conditions.length === 0) {
        add('warning', 'NO_CONDITION', block.line, `automacro "${block.name}" has no trigger condition`, block.name);
      }
    }
  }

  out.sort((a, b) => a.line - b.line || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  const errors = out.filter((d) => d.severity === 'error');
  const warnings = out.filter((d) => d.severity === 'warning');
  return { document, errors, warnings, ok: errors.length === 0 };
}

type Add = (severity: 'error' | 'warning', code: DiagnosticCode, line: number, message: string, block?: string) => void;

/** Visits every statement, nested ones included (if branches, while bodies). */
export function walk(statements: readonly Statement[], visit: (s: Statement) => void): void {
  for (const s of statements) {
    visit(s);
    if (s.type === 'if') for (const b of s.branches) walk(b.body, visit);
    else if (s.type === 'while') walk(s.body, visit);
  }
}

function checkLabels(block: MacroBlock, add: Add): void {
  const labels = new Set<string>();
  for (const s of block.body) {
    if (s.type !== 'label') continue;
    if (labels.has(s.name)) add('error', 'DUPLICATE_NAME', s.line, `label ":${s.name}" is defined twice`, block.name);
    labels.add(s.name);
  }
  walk(block.body, (s) => {
    if (s.type === 'goto' && !labels.has(s.label)) add('error', 'UNDEFINED_LABEL', s.line, `goto "${s.label}": no such label in macro "${block.name}"`, block.name);
  });
}

/** Runs of `do` without a `pause`, and loops that send commands without ever pausing. */
function checkPauses(statements: readonly Statement[], blockName: string, add: Add): void {
  let runStart = 0;
  let run = 0;
  const flush = () => {
    if (run >= FEW_PAUSES_RUN) {
      add('warning', 'FEW_PAUSES', runStart, `${run} "do" commands in a row without a "pause": the bot may be flooded`, blockName);
    }
    run = 0;
  };
  for (const s of statements) {
    if (s.type === 'do') {
      if (run === 0) runStart = s.line;
      run++;
    } else if (s.type === 'pause' || s.type === 'if' || s.type === 'while' || s.type === 'label' || s.type === 'call') {
      flush();
    }
    if (s.type === 'if') for (const b of s.branches) checkPauses(b.body, blockName, add);
    if (s.type === 'while') {
      checkPauses(s.body, blockName, add);
      let hasDo = false;
      let hasPause = false;
      walk(s.body, (x) => {
        if (x.type === 'do') hasDo = true;
        if (x.type === 'pause' || x.type === 'call') hasPause = true;
      });
      if (hasDo && !hasPause) add('warning', 'FEW_PAUSES', s.line, 'loop sends commands without any "pause"', blockName);
    }
  }
  flush();
}

function exits(statements: readonly Statement[]): boolean {
  let found = false;
  walk(statements, (s) => {
    if (s.type === 'stop' || s.type === 'goto') found = true;
  });
  return found;
}

/** `while` loops whose condition can never turn false, and unconditional backward `goto`s. */
function checkLoops(block: MacroBlock, add: Add): void {
  walk(block.body, (s) => {
    if (s.type !== 'while' || exits(s.body)) return;
    const constant = constantCondition(s.condition);
    if (constant === true) {
      add('warning', 'ENDLESS_LOOP', s.line, 'loop condition is always true and the loop has no "stop" or "goto"', block.name);
      return;
    }
    if (constant === false || expressionHasExternalInput(s.condition)) return;
    const vars = expressionVariables(s.condition);
    const assigned = new Set<string>();
    walk(s.body, (x) => {
      if (x.type === 'assign') assigned.add(x.variable.replace(/^[$@%]/, '').replace(/[[{].*$/, ''));
    });
    if (!vars.some((v) => assigned.has(v))) {
      add('warning', 'ENDLESS_LOOP', s.line, `loop has no exit: nothing in it changes ${vars.map((v) => `$${v}`).join(', ') || 'its condition'}`, block.name);
    }
  });
  const labels = new Map<string, number>();
  block.body.forEach((s, idx) => {
    if (s.type === 'label') labels.set(s.name, idx);
    if (s.type !== 'goto') return;
    const target = labels.get(s.label);
    if (target === undefined) return;
    const between = block.body.slice(target, idx);
    if (!exits(between) && !between.some((x) => x.type === 'if' || x.type === 'while')) {
      add('warning', 'ENDLESS_LOOP', s.line, `"goto ${s.label}" loops back with no way out (no "stop", no condition)`, block.name);
    }
  });
}
