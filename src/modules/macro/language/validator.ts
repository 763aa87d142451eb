import type { AutomacroBlock, Block, Diagnostic, MacroBlock, MacroDocument } from './ast';
import { checkAutomacro } from './automacro-checker';
import { parseFile } from './file-parser';
import { checkMacro, type MacroReferences } from './macro-checker';

/**
 * Validates an eventMacro file the way eventMacro loads it (file parser, then macros, then
 * automacros), with the rest of the folder as context — eventMacro loads one file with its
 * includes, the engine loads a folder of them as that one file. The verdict is eventMacro's:
 * the file is refused (errors) or loads, some of its blocks possibly ignored and some lines
 * possibly stopping their macro (warnings).
 */

/** Names of macros, automacros and subs may be written with any non-blank characters; these are the ones the API can address. */
export const NAME_PATTERN = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]|\.(?!\.)){0,63}$/;
export const MAX_NAME_LENGTH = 64;
/** A macro file larger than this is refused unread. */
export const MAX_SOURCE_BYTES = 256 * 1024;

/** Where an `!include` points, as the registry found it. */
export type IncludeState = 'present' | 'missing' | 'self' | 'outside' | 'not-a-macro-file';

/** What the rest of the folder defines, for checks that cross files. */
export interface ValidationContext {
  /** Macros loaded from other files: name → file. */
  macros?: ReadonlyMap<string, string>;
  /** Automacros loaded from other files: name → file. */
  automacros?: ReadonlyMap<string, string>;
  /** Perl subs defined by other files: name → file. */
  subs?: ReadonlyMap<string, string>;
  /** The state of each `!include` target of this file (as written); unknown targets are not checked. */
  includes?: ReadonlyMap<string, IncludeState>;
}

export interface ValidationResult {
  document: MacroDocument;
  /** Why eventMacro refuses the file (empty when it loads). */
  errors: Diagnostic[];
  warnings: Diagnostic[];
  ok: boolean;
  /** Lower-cased names this verdict depends on that other files may define or remove. */
  crossRefs: string[];
}

export function validateMacroSource(source: string, context: ValidationContext = {}): ValidationResult {
  const parsed = parseFile(source);
  const out: Diagnostic[] = [...parsed.diagnostics];
  const crossRefs = new Set<string>();
  const lc = (s: string) => s.toLowerCase();

  for (const inc of parsed.includes) out.push(...includeDiagnostics(inc, context.includes?.get(inc.target)));

  // eventMacro stops at the file parser when a block is never closed: nothing else is checked.
  if (parsed.structureOk) {
    const macros = parsed.blocks.filter((b): b is MacroBlock => b.kind === 'macro');
    const automacros = parsed.blocks.filter((b): b is AutomacroBlock => b.kind === 'automacro');
    const subs = new Set([...parsed.subNames, ...(context.subs?.keys() ?? [])]);
    for (const s of parsed.subNames) crossRefs.add(lc(s));

    // Macros (Core.pm create_macro_list): a name with a blank is ignored; a name another file
    // already serves stays with that file (the engine's rule: eventMacro would drop both).
    for (const m of macros) {
      if (m.ignored) continue;
      if (/\s/.test(m.name)) m.ignored = ignored(m, 'INVALID_NAME', `eventMacro ignores macro "${m.name}": its name contains a space`);
      else if (context.macros?.has(m.name)) {
        crossRefs.add(lc(m.name));
        m.ignored = ignored(m, 'DUPLICATE_NAME', `macro "${m.name}" is already defined in ${context.macros.get(m.name)}, which keeps it (eventMacro would ignore both)`, context.macros.get(m.name));
      }
    }
    const localMacros = new Set(macros.filter((m) => !m.ignored).map((m) => lc(m.name)));
    const otherMacros = new Set([...(context.macros?.keys() ?? [])].map(lc));
    const macroExists = (name: string) => {
      if (!localMacros.has(lc(name))) crossRefs.add(lc(name));
      return localMacros.has(lc(name)) || otherMacros.has(lc(name));
    };

    // Automacros (Core.pm create_automacro_list).
    for (const a of automacros) {
      if (a.ignored) continue;
      if (context.automacros?.has(a.name)) {
        crossRefs.add(lc(a.name));
        a.ignored = ignored(a, 'DUPLICATE_NAME', `automacro "${a.name}" is already defined in ${context.automacros.get(a.name)}, which keeps it (eventMacro would ignore both)`, context.automacros.get(a.name));
        continue;
      }
      const verdict = checkAutomacro(a, macroExists);
      if (verdict.refusal) out.push(verdict.refusal);
      if (verdict.ignored) a.ignored = verdict.ignored;
      out.push(...verdict.advice);
    }

    // Macro lines: what eventMacro's runner stops on when it reaches them.
    const localAutos = new Set(automacros.filter((a) => !a.ignored).map((a) => lc(a.name)));
    const otherAutos = new Set([...(context.automacros?.keys() ?? [])].map(lc));
    for (const m of macros) {
      if (m.ignored) continue;
      const check = checkMacro(m, { isSub: (n) => { crossRefs.add(lc(n)); return subs.has(n); } });
      out.push(...check.diagnostics);
      out.push(...danglingReferences(m, check.references, macroExists, (n) => {
        if (!localAutos.has(lc(n))) crossRefs.add(lc(n));
        return localAutos.has(lc(n)) || otherAutos.has(lc(n));
      }));
      m.evaluatedByBot = [...new Set(check.references.botOnly.map((b) => `line ${b.line}: ${b.what} is evaluated by the bot`))];
      m.calls = check.references.calls;
    }

    out.push(...nameAdvice(parsed.blocks));
  }

  for (const b of parsed.blocks) if (b.ignored && !out.includes(b.ignored)) out.push(b.ignored);
  out.sort((a, b) => a.line - b.line || rank(a) - rank(b));
  const errors = out.filter((d) => d.severity === 'error');
  const warnings = out.filter((d) => d.severity === 'warning');
  const document: MacroDocument = {
    blocks: parsed.blocks,
    subs: parsed.subs,
    includes: parsed.includes,
    lineCount: parsed.lineCount,
    diagnostics: parsed.diagnostics,
    structureOk: parsed.structureOk,
  };
  return { document, errors, warnings, ok: errors.length === 0, crossRefs: [...crossRefs].sort() };
}

function rank(d: Diagnostic): number {
  return ['file_refused', 'block_ignored', 'line_ignored', 'stops_macro', 'advice'].indexOf(d.effect);
}

function ignored(block: Block, code: 'INVALID_NAME' | 'DUPLICATE_NAME', message: string, file?: string): Diagnostic {
  return { severity: 'warning', code, effect: 'block_ignored', line: block.line, message, block: block.name, ...(file ? { file } : {}) };
}

function includeDiagnostics(inc: MacroDocument['includes'][number], state: IncludeState | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const d = (severity: 'error' | 'warning', effect: Diagnostic['effect'], message: string) => out.push({ severity, code: 'INCLUDE', effect, line: inc.line, message });
  if (state === 'missing' && !inc.createIfMissing) d('error', 'file_refused', `!include ${inc.target}: no such file next to this one — eventMacro refuses the whole file`);
  else if (state === 'self') d('error', 'file_refused', `!include ${inc.target}: a file cannot include itself — eventMacro refuses the whole file`);
  else if (state === 'missing') d('warning', 'advice', `!include_create_if_missing ${inc.target}: no such file yet; eventMacro creates it empty`);
  else if (state === 'outside' || state === 'not-a-macro-file') {
    d('warning', 'advice', `!include ${inc.target}: the engine only loads *.txt files inside MACRO_DIR, so it does not load this one (the bot's eventMacro does)`);
  }
  if (inc.insideBlock !== null) {
    d('warning', 'advice', `!include inside block "${inc.insideBlock}": eventMacro reads the included lines into the block, the engine loads the included file on its own`);
  }
  return out;
}

function danglingReferences(m: MacroBlock, refs: MacroReferences, macroExists: (n: string) => boolean, automacroExists: (n: string) => boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const c of refs.calls) {
    if (!macroExists(c.target)) {
      out.push({ severity: 'warning', code: 'UNDEFINED_MACRO', effect: 'stops_macro', line: c.line, message: `call of macro "${c.target}", which no file defines (eventMacro stops here)`, block: m.name });
    }
  }
  for (const r of refs.automacros) {
    if (!automacroExists(r.target)) {
      out.push({ severity: 'warning', code: 'UNKNOWN_AUTOMACRO', effect: 'stops_macro', line: r.line, message: `no loaded automacro is named "${r.target}" (eventMacro stops here)`, block: m.name });
    }
  }
  return out;
}

/** Blocks the API cannot address by name, and names that differ only by case (eventMacro then picks either). */
function nameAdvice(blocks: readonly Block[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, Block>();
  for (const b of blocks) {
    if (b.ignored) continue;
    if (!NAME_PATTERN.test(b.name) && !(b.kind === 'macro' && b.callBlockOf)) {
      out.push({ severity: 'warning', code: 'NOT_ADDRESSABLE', effect: 'advice', line: b.line, message: `${b.kind} "${b.name}" loads, but the API addresses names of 1-64 letters, digits, "_", "-" and "." only`, block: b.name });
    }
    const key = `${b.kind}:${b.name.toLowerCase()}`;
    const other = seen.get(key);
    if (other && other.name !== b.name) {
      out.push({ severity: 'warning', code: 'CASE_VARIANT', effect: 'advice', line: b.line, message: `${b.kind} "${b.name}" and "${other.name}" (line ${other.line}) differ only by case: eventMacro finds either one by name`, block: b.name });
    }
    seen.set(key, b);
  }
  return out;
}

/** Loaded macros and automacros of a validated document. */
export function loadedBlocks(doc: MacroDocument): Block[] {
  return doc.blocks.filter((b) => b.ignored === null);
}
